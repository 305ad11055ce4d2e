"""All-or-nothing report files: check every path first, write to temporary files in
the target folder, rename them into place only when every one was written.

A report run writes a PDF and optionally a CSV and an XLSX. A bad ``--csv`` path must
not leave a PDF behind (nor log an export): :func:`check_paths` refuses before
anything is written, and :func:`write_all` removes its temporary files on any failure.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

from odekake.errors import OdekakeError

Writer = Callable[[Path], object]


def check_paths(paths: Sequence[Path]) -> None:
    """Refuse (one Japanese line) any output path that cannot be written.

    Raises:
        OdekakeError: A missing or unwritable folder, a path that is a folder, or the
            same file named twice.
    """
    seen: set[Path] = set()
    for p in paths:
        full = p.expanduser().resolve()
        if full in seen:
            raise OdekakeError(f"同じファイルが2回指定されています: {p}")
        seen.add(full)
        if full.is_dir():
            raise OdekakeError(f"出力先がフォルダです(ファイル名を指定してください): {p}")
        folder = full.parent
        if not folder.is_dir():
            raise OdekakeError(f"出力先のフォルダがありません: {folder}")
        if not os.access(folder, os.W_OK | os.X_OK):
            raise OdekakeError(f"出力先のフォルダに書き込めません: {folder}")
        if full.exists() and not os.access(full, os.W_OK):
            raise OdekakeError(f"出力先のファイルに書き込めません: {p}")


def write_all(jobs: Sequence[tuple[Path, Writer]]) -> list[Path]:
    """Write every file or none: each writer writes a temporary file next to its target.

    Raises:
        OdekakeError: A path is refused by :func:`check_paths`, or writing failed (no
            target file is created or changed then).
    """
    check_paths([p for p, _w in jobs])
    temps: list[tuple[Path, Path]] = []
    try:
        for target, writer in jobs:
            full = target.expanduser().resolve()
            fd, name = tempfile.mkstemp(
                prefix=f".{full.stem}.", suffix=f".tmp{full.suffix}", dir=full.parent
            )
            os.close(fd)
            tmp = Path(name)
            temps.append((tmp, full))
            try:
                writer(tmp)
            except OSError as exc:
                raise OdekakeError(
                    f"{target} を書き出せませんでした({exc.strerror or type(exc).__name__})"
                ) from None
        for tmp, _target in temps:
            os.chmod(tmp, 0o644)
        for tmp, full in temps:
            os.replace(tmp, full)
    finally:
        for tmp, _full in temps:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
    return [full for _tmp, full in temps]
