"""Power loss: SIGKILL at random points, hundreds of times, never loses an
acknowledged record nor corrupts the database.

A forked child writes and reports each commit on a pipe; the parent kills it at a
random moment, then checks integrity, the chain, and that every acknowledged
record is there. Forking (not a new interpreter) keeps each round to milliseconds.
"""

from __future__ import annotations

import os
import random
import signal
import time
from collections.abc import Callable
from pathlib import Path

import sqlite_utils

from odekake.storage import records as rec
from odekake.storage.db import connect


def _kill_loop(
    path: Path, work: Callable[[sqlite_utils.Database, int], str], rounds: int, seed: int
) -> set[str]:
    rng = random.Random(seed)
    acknowledged: set[str] = set()
    for round_no in range(rounds):
        read_fd, write_fd = os.pipe()
        pid = os.fork()
        if pid == 0:  # child: write until killed
            os.close(read_fd)
            try:
                db = connect(path)
                i = 0
                while True:
                    key = work(db, round_no * 10_000 + i)
                    os.write(write_fd, (key + "\n").encode())
                    i += 1
            finally:
                os._exit(0)
        os.close(write_fd)
        # Wait for the child's first commit, so every round kills a writer mid-stream
        # (however slow the machine is to start it), then pick a random moment.
        chunks = [os.read(read_fd, 65536)]
        time.sleep(rng.uniform(0.0, 0.02))
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        while chunk := os.read(read_fd, 65536):
            chunks.append(chunk)
        os.close(read_fd)
        lines = b"".join(chunks).decode().split("\n")
        acknowledged.update(x for x in lines[:-1] if x)  # the last piece may be cut
    return acknowledged


def test_sigkill_during_intake_hundreds_of_times(tmp_path: Path) -> None:
    path = tmp_path / "van.db"
    connect(path, role="van", create=True, device_id="van-p").close()

    def intake(db: sqlite_utils.Database, i: int) -> str:
        r = rec.append(
            db, "consultation.hold", {"stop_id": "s", "people": 1, "i": i, "pad": "x" * (i % 500)}
        )
        return r.id

    acknowledged = _kill_loop(path, intake, rounds=200, seed=1)
    db = connect(path)
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    stored = {r[0] for r in db.execute("SELECT id FROM records")}
    assert acknowledged <= stored
    assert len(acknowledged) >= 200  # at least one commit acknowledged per round
    report = rec.verify(db)
    assert report.ok, report.problems
