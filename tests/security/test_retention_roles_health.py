"""Retention purge, roles enforced in the core, and the start-up health check."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from odekake.access import audit, authz
from odekake.access.auth import TEST_ONLY_CHEAP_KDF
from odekake.cli import main
from odekake.masterdata import master
from odekake.operations import retention
from odekake.operations.health import check
from odekake.receipts import next_receipt_no
from odekake.storage import records as rec
from odekake.storage.db import connect, device_id_of, write
from odekake.sync.keys import generate_key, public_key_text
from odekake.sync.wire import local_ack, pin_hub_key
from tests.conftest import give_van_sealing_key

T0 = datetime(2026, 6, 1, 1, 0, tzinfo=UTC)


def _hub_acked(db, seq: int, when: datetime, *, backed_up: int | None = None) -> None:
    """The hub signs an acknowledgement of ``seq`` (its key pinned on this van), and
    says that a verified backup holds the van's records up to ``backed_up``."""
    hub_key = generate_key()
    pin_hub_key(db, public_key_text(hub_key), accept_new=True)
    answer = local_ack(hub_key, device_id_of(db), seq, backup_seq=backed_up)
    retention.record_ack(db, answer, when)
    if backed_up is not None:
        retention.record_backup_mark(db, answer)


def _fill(db) -> list[rec.Record]:
    return [
        rec.append(db, "stop.open", {"stop_id": "s", "activity": "regular"}, now=T0),
        rec.append(
            db,
            "certificate.issue",
            {
                "stop_id": "s",
                "people": 1,
                "receipt_no": next_receipt_no(db, date(2026, 6, 1)),
                "requester": {"name": "消去 対象"},
            },
            now=T0,
        ),
        rec.append(db, "frailty.check", {"stop_id": "s", "people": 7}, now=T0),
        rec.append(
            db, "consultation.hold", {"stop_id": "s", "people": 1, "name": "未同期 さん"}, now=T0
        ),
    ]


def test_purge_waits_for_ack_and_retention_then_keeps_counts(fresh_db) -> None:
    recs = _fill(fresh_db)
    assert retention.plan_purge(fresh_db, now=T0 + timedelta(days=90)).count == 0  # no ack yet
    _hub_acked(fresh_db, 3, T0 + timedelta(days=1))
    # acknowledged and past retention, but no verified hub backup holds it yet
    assert retention.plan_purge(fresh_db, now=T0 + timedelta(days=40)).count == 0
    _hub_acked(fresh_db, 3, T0 + timedelta(days=1), backed_up=3)
    # a backup mark nobody signed counts for nothing
    with write(fresh_db):
        fresh_db.execute("UPDATE sync_state SET backup_seq = 99, backup_evidence = '{}'")
    assert retention.plan_purge(fresh_db, now=T0 + timedelta(days=40)).count == 0
    _hub_acked(fresh_db, 3, T0 + timedelta(days=1), backed_up=3)
    assert retention.plan_purge(fresh_db, now=T0 + timedelta(days=20)).count == 0  # within 30 days
    dry = retention.purge(fresh_db, now=T0 + timedelta(days=40), dry_run=True)
    assert dry.record_ids == [recs[1].id]
    assert rec.get(fresh_db, recs[1].id).payload is not None
    done = retention.purge(fresh_db, now=T0 + timedelta(days=40), actor="sv001")
    assert done.record_ids == [recs[1].id]
    assert rec.get(fresh_db, recs[1].id).payload is None
    assert rec.get(fresh_db, recs[2].id).payload == {"stop_id": "s", "people": 7}
    assert rec.get(fresh_db, recs[3].id).payload is not None  # not acknowledged yet
    report = rec.verify(fresh_db)
    assert report.ok and report.purged == 1
    assert audit.entries(fresh_db)[-1].action == "purge"
    # the purged receipt's number is never handed out again
    assert next_receipt_no(fresh_db, date(2026, 6, 2)).endswith("-000002")


def test_purge_cli_dry_run(tmp_path: Path) -> None:
    path = tmp_path / "van.db"
    db = connect(path, role="van", create=True, device_id="v")
    give_van_sealing_key(db)
    _fill(db)
    _hub_acked(db, 4, datetime.now(UTC) - timedelta(days=60), backed_up=4)
    db.close()
    res = CliRunner().invoke(main, ["purge", "--db", str(path), "--dry-run"])
    assert res.exit_code == 0 and "消去対象: 2 件" in res.output
    res = CliRunner().invoke(main, ["purge", "--db", str(path)])
    assert "消去しました: 2 件" in res.output
    db = connect(path)
    assert db.execute("SELECT count(*) FROM records WHERE payload IS NULL").fetchone()[0] == 2


def test_purge_says_the_backup_mark_is_the_limit_when_it_is(tmp_path: Path) -> None:
    path = tmp_path / "van.db"
    db = connect(path, role="van", create=True, device_id="v")
    give_van_sealing_key(db)
    _fill(db)
    _hub_acked(db, 4, datetime.now(UTC) - timedelta(days=60), backed_up=0)
    db.close()
    res = CliRunner().invoke(main, ["purge", "--db", str(path), "--dry-run"])
    assert res.exit_code == 0
    assert "消去対象: 0 件(0 番まで" in res.output
    assert "上限はバックアップの記録 0 番です" in res.output
    assert "受領確認は 4 番まで" in res.output and "受領確認済み 0 番" not in res.output


def test_roles_are_enforced_in_the_core_and_audited(city_db) -> None:
    master.add_operator(city_db, "op1", "窓口", ["operator"], "111111", kdf=TEST_ONLY_CHEAP_KDF)
    master.add_operator(city_db, "sv1", "監督", ["supervisor"], "222222", kdf=TEST_ONLY_CHEAP_KDF)
    master.add_operator(city_db, "cl1", "投票", ["clerk"], "333333", kdf=TEST_ONLY_CHEAP_KDF)
    authz.require(city_db, "sv1", "void")
    authz.require(city_db, "cl1", "roll")
    with pytest.raises(authz.PermissionDenied, match="監督者"):
        authz.require(city_db, "op1", "void")
    with pytest.raises(authz.PermissionDenied, match="投票事務従事者"):
        authz.require(city_db, "op1", "roll")
    denied = [e for e in audit.entries(city_db) if e.action == "role.denied"]
    assert [(e.actor, e.target) for e in denied] == [("op1", "void"), ("op1", "roll")]
    with write(city_db):
        city_db.execute("UPDATE operators SET active = 0 WHERE id = 'sv1'")
    with pytest.raises(authz.PermissionDenied):
        authz.require(city_db, "sv1", "void")


def test_health_check_detects_a_corrupted_file(tmp_path: Path) -> None:
    path = tmp_path / "van.db"
    db = connect(path, role="van", create=True, device_id="v")
    master.seed_city(db)
    for i in range(200):
        rec.append(db, "x", {"i": i, "pad": "p" * 200})
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    assert check(path).intact
    data = bytearray(path.read_bytes())
    page = 4096
    for off in range(page * 3, min(len(data), page * 12)):
        data[off] = 0x5A
    path.write_bytes(bytes(data))
    result = check(path)
    assert not result.ok
    assert "復旧方法" in result.message()
    res = CliRunner().invoke(main, ["doctor", "--db", str(path)])
    assert res.exit_code == 1 and "復旧方法" in res.output


def test_the_kiosk_refuses_to_start_on_a_corrupted_database(tmp_path: Path) -> None:
    path = tmp_path / "van.db"
    db = connect(path, role="van", create=True, device_id="v")
    for i in range(3):
        rec.append(db, "x", {"i": i})
    with write(db):  # an edited file: the chain no longer holds
        db.execute("DROP TRIGGER records_no_update")
        db.execute("UPDATE records SET payload = ? WHERE seq = 2", ['{"i":7}'])
    db.close()
    res = CliRunner().invoke(main, ["kiosk", "--db", str(path)])
    assert res.exit_code == 1
    assert "異常があります" in res.output and "復旧方法" in res.output
    assert "Traceback" not in res.output


def test_doctor_on_a_damaged_hub_file_gives_the_hub_s_recovery_steps(tmp_path: Path) -> None:
    path = tmp_path / "hub.db"
    db = connect(path, role="hub", create=True)
    for i in range(3):
        rec.append(db, "x", {"i": i})
    with write(db):  # an edited record: the hub's chain no longer holds
        db.execute("DROP TRIGGER records_no_update")
        db.execute("UPDATE records SET payload = ? WHERE seq = 2", ['{"i":7}'])
    db.close()
    res = CliRunner().invoke(main, ["doctor", "--db", str(path)])
    assert res.exit_code == 1
    assert "復旧方法(ハブ)" in res.output and "odekake hub restore" in res.output
    assert "van.db" not in res.output and "odekake init" not in res.output
    assert "Traceback" not in res.output
