"""A writer killed with SIGKILL mid-stream loses nothing whose append returned."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from odekake.storage import records as rec
from odekake.storage.db import connect

WRITER = textwrap.dedent(
    """
    import sys
    from odekake.storage.db import connect
    from odekake.storage import records as rec
    db = connect(sys.argv[1])
    i = 0
    while True:
        r = rec.append(db, "consultation.hold", {"stop_id": "s", "people": 1, "i": i, "pad": "x" * (i % 200)})
        sys.stdout.write(f"{r.seq} {r.id}\\n")
        sys.stdout.flush()
        i += 1
    """
)


def test_sigkill_mid_stream_keeps_every_acknowledged_record(tmp_path: Path) -> None:
    path = tmp_path / "van.db"
    connect(path, role="van", create=True, device_id="van-k").close()
    for round_no in range(3):
        proc = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(path)],
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        assert proc.stdout is not None
        acknowledged: list[tuple[int, str]] = []
        deadline = time.monotonic() + 30
        target = 40 + 25 * round_no
        while len(acknowledged) < target and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            seq, rid = line.split()
            acknowledged.append((int(seq), rid))
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        proc.stdout.close()
        assert len(acknowledged) == target, "writer did not start"
        db = connect(path)
        stored = {r[0]: r[1] for r in db.execute("SELECT seq, id FROM records")}
        for seq, rid in acknowledged:
            assert stored.get(seq) == rid, f"acknowledged record {seq} lost"
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        report = rec.verify(db)
        assert report.ok, report.problems
        db.close()
