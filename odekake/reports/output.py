"""All-or-nothing report files: check every path first, write to temporary files in
the target folder, rename them into place only when every one was written.

A report run writes a PDF and optionally a CSV and an XLSX. A bad ``--csv`` path must
not leave a PDF behind (nor log an export): :func:`check_paths` refuses before
anything is written, and :func:`write_all` removes its temporary files on any failure.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

from odekake.errors import OdekakeError, os_reason

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

    The renames into place are made all-or-nothing too: an existing target is first
    hard-linked to a backup name, and when a later rename fails every target already
    renamed gets its old file back (or is removed if there was none).

    Raises:
        OdekakeError: A path is refused by :func:`check_paths`, or writing failed (no
            target file is created or changed then).
    """
    check_paths([p for p, _w in jobs])
    temps: list[tuple[Path, Path]] = []
    backups: dict[Path, Path] = {}
    placed: list[Path] = []
    current = jobs[0][0] if jobs else Path()
    try:
        for target, writer in jobs:
            current = target
            full = target.expanduser().resolve()
            fd, name = tempfile.mkstemp(
                prefix=f".{full.stem}.", suffix=f".tmp{full.suffix}", dir=full.parent
            )
            os.close(fd)
            tmp = Path(name)
            temps.append((tmp, full))
            writer(tmp)
            os.chmod(tmp, 0o644)
        for _tmp, full in temps:
            current = full
            if full.exists():
                backups[full] = _backup(full)
        for tmp, full in temps:
            current = full
            os.replace(tmp, full)
            placed.append(full)
    except OSError as exc:
        _roll_back(placed, backups)
        raise OdekakeError(
            f"{current} を書き出せませんでした({os_reason(exc)})。ほかのファイルも作成・変更していません"
        ) from None
    except BaseException:
        _roll_back(placed, backups)
        raise
    finally:
        for tmp, _full in temps:
            with contextlib.suppress(OSError):
                tmp.unlink()
        for backup in backups.values():
            with contextlib.suppress(OSError):
                backup.unlink()
    return [full for _tmp, full in temps]


def _backup(full: Path) -> Path:
    """A second name for ``full``'s current file (a hard link; a copy where links fail)."""
    fd, name = tempfile.mkstemp(
        prefix=f".{full.stem}.", suffix=f".old{full.suffix}", dir=full.parent
    )
    os.close(fd)
    backup = Path(name)
    try:
        backup.unlink()
        os.link(full, backup)
    except OSError:
        shutil.copy2(full, backup)
    return backup


def _roll_back(placed: list[Path], backups: dict[Path, Path]) -> None:
    """Put back what the renames already changed (best effort: each step on its own)."""
    for full in reversed(placed):
        with contextlib.suppress(OSError):
            if full in backups:
                os.replace(backups.pop(full), full)
            else:
                full.unlink()
