"""Files that hold personal data or keys: 0600 from their first byte, in 0700 folders.

Receipt PDFs (they print the 宛名), the day-close sheet, ``kiosk.log``, exported
bundles, the demo roll, hub backups and their manifests are made through these
helpers, so no one else on the machine can read them even for a moment (a file
``chmod``-ed after it was written was readable while it was being written).
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

FILE_MODE = 0o600
DIR_MODE = 0o700


def private_dir(path: Path) -> Path:
    """Make ``path`` (and parents) if missing; the folder itself is set to 0700."""
    path.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    with contextlib.suppress(OSError):  # a folder we do not own stays as it is
        os.chmod(path, DIR_MODE)
    return path


def touch_private(path: Path) -> Path:
    """Make sure ``path`` exists and is 0600 before another library writes into it.

    Writers that open the file by name (reportlab, Pillow, ``logging``) keep the mode
    of an existing file, so they write into a file that was never readable to others.
    """
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, FILE_MODE)
    try:
        os.fchmod(fd, FILE_MODE)
    finally:
        os.close(fd)
    return path


def open_private(path: Path) -> int:
    """A new or truncated file ``path`` opened for writing, 0600 (a file descriptor)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    os.fchmod(fd, FILE_MODE)
    return fd


def write_private(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` (0600 from its first byte), replacing it atomically."""
    tmp = path.with_name(path.name + ".partial")
    with contextlib.suppress(FileNotFoundError):
        tmp.unlink()
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
