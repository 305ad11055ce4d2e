"""The data stamp moves with every change a computed view reads and never with a
sign-in, a view or a download; the build-once cache is bounded and builds a key once."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from odekake.access import audit
from odekake.storage import records as rec
from odekake.storage.data_cache import READ_ONLY_ACTIONS, BuildOnce, data_stamp
from odekake.storage.db import connect, set_meta, write


def test_read_only_actions_are_audit_actions() -> None:
    assert set(audit.ACTIONS) >= READ_ONLY_ACTIONS


def test_stamp_moves_with_changes_not_with_sign_ins_views_or_downloads(tmp_path: Path) -> None:
    db = connect(tmp_path / "hub.db", role="hub", create=True)
    first = data_stamp(db)
    for action in sorted(READ_ONLY_ACTIONS):
        audit.log(db, "staff:mgr", action, "console")
    assert data_stamp(db) == first
    seen = {first}
    rec.append(db, "stop.open", {"stop_id": "s1", "date": "2026-11-20"})
    seen.add(data_stamp(db))
    audit.log(db, "staff:coord", "plan.publish", "plan-1")
    seen.add(data_stamp(db))
    audit.log(db, "staff:mgr", "login", "console")  # read-only again: no move
    seen.add(data_stamp(db))
    with write(db):
        db.execute("INSERT INTO settings(key, value) VALUES ('report_department', '市民課')")
    seen.add(data_stamp(db))
    with write(db):  # a value changed in place, unaudited
        db.execute("UPDATE settings SET value = '総務課' WHERE key = 'report_department'")
    seen.add(data_stamp(db))
    assert len(seen) == 5
    other = connect(tmp_path / "other.db", role="hub", create=True)
    with write(other):
        set_meta(other, "x", "y")
    assert data_stamp(other) != data_stamp(db)  # another database never shares a key


def test_build_once_is_bounded_and_least_recently_used_goes_first() -> None:
    cache: BuildOnce[str] = BuildOnce(2)
    assert cache.get("a", lambda: "A") == "A"
    assert cache.get("b", lambda: "B") == "B"
    assert cache.get("a", lambda: "never") == "A"  # a used last: b goes first
    assert cache.get("c", lambda: "C") == "C"
    assert len(cache) == 2 and cache.builds == 3
    assert cache.get("b", lambda: "B2") == "B2"
    with pytest.raises(ValueError):
        BuildOnce(0)


def test_build_once_builds_a_key_once_for_callers_at_once_and_retries_a_failure() -> None:
    cache: BuildOnce[int] = BuildOnce(4)
    calls = []
    start = threading.Barrier(8)
    got: list[int] = []

    def build() -> int:
        calls.append(1)
        time.sleep(0.1)
        return 42

    def ask() -> None:
        start.wait()
        got.append(cache.get("k", build))

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert got == [42] * 8 and len(calls) == 1

    def broken() -> int:
        raise RuntimeError("no")

    with pytest.raises(RuntimeError):
        cache.get("x", broken)
    assert cache.get("x", lambda: 7) == 7
