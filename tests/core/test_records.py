"""The append-only record log: chain, sequence, corrections, tamper detection."""

from __future__ import annotations

import sqlite3
import threading
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from odekake.errors import NotFound
from odekake.storage import records as rec
from odekake.storage.canonical import canonical_json, sha256_hex
from odekake.storage.db import connect, write


def test_append_builds_a_gapless_chain(fresh_db) -> None:
    a = rec.append(fresh_db, "stop.open", {"stop_id": "s1"})
    b = rec.append(fresh_db, "consultation.hold", {"stop_id": "s1", "people": 1})
    assert (a.seq, b.seq) == (1, 2)
    assert a.prev_hash == rec.GENESIS
    assert b.prev_hash == a.hash
    assert a.device_id == "van-test"
    assert rec.get(fresh_db, b.id) == b
    report = rec.verify(fresh_db)
    assert report.ok and report.devices == {"van-test": 2}


def test_uuid7_layout_and_time_order() -> None:
    first = uuid.UUID(rec.uuid7(1_700_000_000_000))
    later = uuid.UUID(rec.uuid7(1_700_000_000_001))
    assert first.version == 7 and first.variant == uuid.RFC_4122
    assert first.int >> 80 == 1_700_000_000_000
    assert str(first) < str(later)


def test_hlc_never_goes_backwards_when_the_wall_clock_does(fresh_db) -> None:
    t = datetime(2026, 5, 1, 1, 0, tzinfo=UTC)
    a = rec.append(fresh_db, "x", {}, now=t)
    b = rec.append(fresh_db, "x", {}, now=t - timedelta(minutes=5))
    c = rec.append(fresh_db, "x", {}, now=t - timedelta(minutes=5))
    assert a.hlc < b.hlc < c.hlc
    assert rec.parse_hlc(b.hlc) == (rec.parse_hlc(a.hlc)[0], 1)


def test_correction_and_void_supersede_without_updating(fresh_db) -> None:
    a = rec.append(fresh_db, "consultation.hold", {"stop_id": "s", "people": 1, "topic": "税"})
    fixed = rec.append(
        fresh_db,
        "consultation.hold",
        {"stop_id": "s", "people": 1, "topic": "年金"},
        supersedes=a.id,
    )
    b = rec.append(fresh_db, "garbage.sell", {"stop_id": "s", "people": 1})
    rec.void(fresh_db, b.id, "書損")
    live = rec.effective(rec.iter_records(fresh_db))
    assert [r.id for r in live] == [fixed.id]
    assert rec.get(fresh_db, a.id).payload == {"stop_id": "s", "people": 1, "topic": "税"}
    with pytest.raises(NotFound):
        rec.append(fresh_db, "x", {}, supersedes="no-such-id")


def test_schema_refuses_delete_and_update(fresh_db) -> None:
    a = rec.append(fresh_db, "x", {"a": 1})
    with pytest.raises(sqlite3.IntegrityError, match="append-only"), write(fresh_db):
        fresh_db.execute("DELETE FROM records WHERE id = ?", [a.id])
    with pytest.raises(sqlite3.IntegrityError, match="append-only"), write(fresh_db):
        fresh_db.execute("UPDATE records SET payload = '{\"a\":2}' WHERE id = ?", [a.id])
    with write(fresh_db):  # the retention purge is the one allowed update
        fresh_db.execute("UPDATE records SET payload = NULL WHERE id = ?", [a.id])
    report = rec.verify(fresh_db)
    assert report.ok and report.purged == 1


def _tamper(db, sql: str, params: list) -> None:
    """Bypass the triggers, as an attacker editing the file would."""
    with write(db):
        db.execute("DROP TRIGGER records_no_update")
        db.execute("DROP TRIGGER records_no_delete")
        db.execute(sql, params)


def _three(db):
    return [
        rec.append(db, "certificate.issue", {"stop_id": "s", "people": 1, "n": i}) for i in range(3)
    ]


def test_one_changed_payload_byte_is_named(fresh_db) -> None:
    recs = _three(fresh_db)
    _tamper(
        fresh_db,
        "UPDATE records SET payload = replace(payload, '\"n\":1', '\"n\":7') WHERE id = ?",
        [recs[1].id],
    )
    report = rec.verify(fresh_db)
    assert not report.ok
    assert len(report.problems) == 1
    assert recs[1].id in report.problems[0] and "2 番目" in report.problems[0]
    assert "payload" in report.problems[0]


def test_rehashed_payload_still_breaks_the_chain(fresh_db) -> None:
    recs = _three(fresh_db)
    text = canonical_json({"stop_id": "s", "people": 5, "n": 0})
    _tamper(
        fresh_db,
        "UPDATE records SET payload = ?, payload_hash = ? WHERE id = ?",
        [text, sha256_hex(text), recs[0].id],
    )
    report = rec.verify(fresh_db)
    assert not report.ok and recs[0].id in report.problems[0]
    assert "見出し" in report.problems[0]


def test_removed_record_is_reported_as_a_gap(fresh_db) -> None:
    recs = _three(fresh_db)
    _tamper(fresh_db, "DELETE FROM records WHERE id = ?", [recs[1].id])
    report = rec.verify(fresh_db)
    assert not report.ok
    assert recs[2].id in report.problems[0] and "連番" in report.problems[0]


def test_changed_time_is_detected(fresh_db) -> None:
    recs = _three(fresh_db)
    _tamper(
        fresh_db,
        "UPDATE records SET wall_time = '2020-01-01T00:00:00.000+00:00' WHERE id = ?",
        [recs[2].id],
    )
    report = rec.verify(fresh_db)
    assert not report.ok and recs[2].id in report.problems[0]


def test_concurrent_appends_from_two_threads_are_gapless(tmp_path: Path) -> None:
    path = tmp_path / "van.db"
    connect(path, role="van", create=True, device_id="van-c").close()
    per_thread = 150
    errors: list[BaseException] = []

    def worker(name: str) -> None:
        db = connect(path)  # own connection, like a second process
        try:
            for i in range(per_thread):
                rec.append(db, "x", {"writer": name, "i": i})
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            db.close()

    threads = [threading.Thread(target=worker, args=(n,)) for n in ("a", "b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    db = connect(path)
    seqs = [r[0] for r in db.execute("SELECT seq FROM records ORDER BY seq")]
    assert seqs == list(range(1, 2 * per_thread + 1))
    assert rec.verify(db).ok


def test_shared_connection_threads_are_serialised(fresh_db) -> None:
    def worker() -> None:
        for _ in range(100):
            rec.append(fresh_db, "x", {})

    threads = [threading.Thread(target=worker) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    seqs = [r[0] for r in fresh_db.execute("SELECT seq FROM records ORDER BY seq")]
    assert seqs == list(range(1, 301))
    assert rec.verify(fresh_db).ok


def test_append_inside_outer_write_commits_together(fresh_db) -> None:
    with pytest.raises(RuntimeError), write(fresh_db):
        rec.append(fresh_db, "x", {})
        raise RuntimeError("form failed later")
    assert fresh_db.execute("SELECT count(*) FROM records").fetchone()[0] == 0
