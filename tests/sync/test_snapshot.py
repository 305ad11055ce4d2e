"""Down-sync snapshots, in process: registry, versions, atomic apply."""

from __future__ import annotations

from datetime import date

import pytest
import sqlite_utils

from odekake.errors import OdekakeError
from odekake.masterdata import master
from odekake.storage.db import memory_db, write
from odekake.sync import snapshot
from odekake.sync.keys import generate_key, public_key_text, register_device
from odekake.sync.snapshot import SnapshotTable, apply_snapshot, snapshot_for
from odekake.sync.status import van_status


def _pair() -> tuple[sqlite_utils.Database, sqlite_utils.Database]:
    hub = memory_db("hub")
    master.seed_city(hub)
    with write(hub):  # city hall's sealing key: no snapshot is served without it
        hub.execute("INSERT INTO settings(key, value) VALUES ('hub_seal_public_key', 'k')")
    register_device(hub, "van-t", public_key_text(generate_key()), van_id="van-1")
    van = memory_db("van", device_id="van-t")
    return hub, van


def test_one_registry_entry_adds_a_table_such_as_the_election_roll(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    hub, van = _pair()
    ddl = (
        "CREATE TABLE election_roll (election_id TEXT, elector_id TEXT, name TEXT, "
        "PRIMARY KEY (election_id, elector_id))"
    )
    for db in (hub, van):
        db.execute(ddl)
    with write(hub):
        hub.execute(
            "INSERT INTO election_roll VALUES ('e1', '001', '佐藤 ヨシ子'), ('e1', '002', '鈴木 清')"
        )
    entry = SnapshotTable(
        "election_roll", ("election_id", "elector_id"), ("election_id", "elector_id", "name")
    )
    monkeypatch.setattr(snapshot, "SNAPSHOT_TABLES", [*snapshot.SNAPSHOT_TABLES, entry])
    counts = apply_snapshot(van, snapshot_for(hub, "van-t"))
    assert counts["election_roll"] == 2
    assert van.execute("SELECT elector_id FROM election_roll ORDER BY 1").fetchall() == [
        ("001",),
        ("002",),
    ]


def test_version_moves_only_when_content_changes() -> None:
    hub, van = _pair()
    first = snapshot_for(hub, "van-t")
    assert snapshot_for(hub, "van-t")["version"] == first["version"]
    master.add_disaster(hub, "d1", "大雨", date(2026, 11, 1))
    second = snapshot_for(hub, "van-t")
    assert second["version"] > first["version"] and second["sha256"] != first["sha256"]
    apply_snapshot(van, second)
    assert van_status(van).snapshot_version == second["version"]


def test_a_damaged_snapshot_changes_nothing() -> None:
    hub, van = _pair()
    snap = snapshot_for(hub, "van-t")
    snap["tables"]["districts"]["rows"] = []
    with pytest.raises(OdekakeError, match="SHA-256"):
        apply_snapshot(van, snap)
    assert van.execute("SELECT COUNT(*) FROM districts").fetchone()[0] == 0
    assert van_status(van).snapshot_version is None


def test_the_plan_is_filtered_by_the_devices_van() -> None:
    hub, _van = _pair()
    with write(hub):
        for pid, van_id in (("p1", "van-1"), ("p2", "van-2")):
            hub.execute(
                "INSERT INTO plans(id, created_at, horizon_start, horizon_end, status) "
                "VALUES (?, '2026-11-01', '2026-12-01', '2026-12-31', 'published')",
                [pid],
            )
            hub.execute(
                "INSERT INTO plan_visits(id, plan_id, date, van_id, service_window, start, "
                "\"end\", site_id, district_id) VALUES (?, ?, '2026-12-02', ?, 'am', '10:00', "
                "'12:00', 's', 'kawamae')",
                [f"v-{pid}", pid, van_id],
            )
    snap = snapshot_for(hub, "van-t")
    assert [r[0] for r in snap["tables"]["plan_visits"]["rows"]] == ["v-p1"]
    assert [r[0] for r in snap["tables"]["plans"]["rows"]] == ["p1"]
