"""Report files: hidden temporary files left by a killed write are cleaned up later."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

from odekake.reports.output import STALE_AFTER_S, write_all


def _killed_write(target: Path) -> None:
    """A report write killed (SIGKILL) while its temporary file is half written."""
    pid = os.fork()
    if pid == 0:
        try:

            def writer(tmp: Path) -> None:
                tmp.write_bytes(b"%PDF-half")
                os.kill(os.getpid(), signal.SIGKILL)

            write_all([(target, writer)])
        finally:
            os._exit(0)
    _, status = os.waitpid(pid, 0)
    assert os.WIFSIGNALED(status)


def test_a_killed_write_s_temporary_file_is_removed_by_the_next_write(tmp_path: Path) -> None:
    target = tmp_path / "usage.pdf"
    _killed_write(target)
    left = list(tmp_path.glob(".usage.*.tmp.pdf"))
    assert len(left) == 1 and not target.exists()
    old = time.time() - STALE_AFTER_S - 60
    os.utime(left[0], (old, old))
    in_progress = tmp_path / ".usage.other.tmp.pdf"  # another run writing right now
    in_progress.write_bytes(b"")
    unrelated = tmp_path / ".notes.abc.tmp.pdf"
    unrelated.write_bytes(b"")
    os.utime(unrelated, (old, old))
    write_all([(target, lambda p: p.write_bytes(b"%PDF-1.4 whole"))])
    assert target.read_bytes() == b"%PDF-1.4 whole"
    assert not left[0].exists()
    assert in_progress.exists() and unrelated.exists()
