"""All-or-nothing report files: check every path first, write to temporary files in
the target folder, rename them into place only when every one was written.

A report run writes a PDF and optionally a CSV and an XLSX. A bad ``--csv`` path must
not leave a PDF behind (nor log an export): :func:`check_paths` refuses before
anything is written, and :func:`write_all` removes its temporary files on any failure
(and, before writing, those an earlier run left when it was killed mid-write).
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from odekake.errors import OdekakeError, os_reason

Writer = Callable[[Path], object]
# A report is written in seconds; a temporary file older than this was left by a run
# that was killed or lost power before its clean-up, not by one still writing.
STALE_AFTER_S = 15 * 60


def remove_stale_temps(full: Path, *, now: float | None = None) -> list[Path]:
    """Delete temporary files of ``full`` left behind by an interrupted earlier write."""
    limit = (time.time() if now is None else now) - STALE_AFTER_S
    removed = []
    for tmp in full.parent.glob(f".{glob.escape(full.stem)}.*.tmp{glob.escape(full.suffix)}"):
        with contextlib.suppress(OSError):
            if tmp.is_file() and tmp.stat().st_mtime < limit:
                tmp.unlink()
                removed.append(tmp)
    return removed


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
            remove_stale_temps(full)
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
