"""Storage: migrations from empty, pragmas, roles, the single writer."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from odekake.errors import NotFound, OdekakeError
from odekake.storage.db import connect, get_meta, write
from odekake.storage.migrations import migrations


def test_migrations_from_empty_create_every_table(tmp_path: Path) -> None:
    db = connect(tmp_path / "hub.db", role="hub", create=True)
    tables = set(db.table_names())
    assert {"meta", "districts", "sites", "vans", "operators", "services", "fees"} <= tables
    assert {"holidays", "disasters", "records", "plans", "plan_visits"} <= tables
    applied = [m.name for m in migrations.applied(db)]
    assert applied == [m.name for m in migrations._migrations]
    assert migrations.pending(db) == []


def test_reopening_applies_nothing_twice(tmp_path: Path) -> None:
    path = tmp_path / "van.db"
    connect(path, role="van", create=True, device_id="van-9").close()
    db = connect(path)
    assert len(migrations.applied(db)) == len(migrations._migrations)
    assert get_meta(db, "role") == "van"
    assert get_meta(db, "device_id") == "van-9"


def test_pragmas_wal_full_sync_foreign_keys(tmp_path: Path) -> None:
    db = connect(tmp_path / "van.db", role="van", create=True, device_id="v")
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    assert db.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    with pytest.raises(sqlite3.IntegrityError), write(db):
        db.execute(
            "INSERT INTO sites(id, district_id, name, kind, lat, lon) VALUES ('s', 'nowhere', 'x', '集会所', 37, 140)"
        )


def test_missing_file_is_not_created_by_accident(tmp_path: Path) -> None:
    with pytest.raises(NotFound, match="データベースファイルがありません"):
        connect(tmp_path / "typo.db")
    assert not (tmp_path / "typo.db").exists()


def test_role_mismatch_is_refused(tmp_path: Path) -> None:
    connect(tmp_path / "hub.db", role="hub", create=True).close()
    with pytest.raises(OdekakeError, match="hub のデータベース"):
        connect(tmp_path / "hub.db", role="van")


def test_not_a_database_gives_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "junk.db"
    bad.write_bytes(b"this is not sqlite at all" * 100)
    with pytest.raises(OdekakeError, match="壊れている可能性"):
        connect(bad)


def test_write_rolls_back_everything_on_error(fresh_db) -> None:
    with pytest.raises(RuntimeError), write(fresh_db):
        fresh_db.execute("INSERT INTO meta(key, value) VALUES ('a', '1')")
        raise RuntimeError("boom")
    assert get_meta(fresh_db, "a") is None
