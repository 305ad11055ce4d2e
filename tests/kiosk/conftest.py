"""Kiosk fixtures: a small van database with operators, sites, today's plan and a fixed clock."""

from __future__ import annotations

import random
import shutil
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
import sqlite_utils

from odekake.access.auth import TEST_ONLY_CHEAP_KDF
from odekake.masterdata import master
from odekake.services.common import Actor
from odekake.storage.db import connect, write
from odekake.storage.receipt_mac import derive_device_key
from odekake.storage.records import SEAL_KEY_META
from odekake.storage.sealing import generate_keypair
from tests.kiosk.cups import pdf_printer  # noqa: F401  (a real CUPS with a cups-pdf queue)

DAY = date(2026, 11, 24)  # a Tuesday, not a holiday
NOW = datetime(2026, 11, 24, 1, 5, tzinfo=UTC)  # 10:05 JST
VAN = "van-1"
# City hall's sealing key pair for the kiosk tests (a van without one refuses
# personal data) and van-1's receipt key, as a pull from the hub would bring them.
SEAL_PRIVATE, SEAL_PUBLIC = generate_keypair(random.Random(20261124))
RECEIPT_SECRET = bytes(range(32))
RECEIPT_KEY = derive_device_key(RECEIPT_SECRET, VAN)

SITES = [
    {
        "id": "kawamae-01",
        "district_id": "kawamae",
        "name": "川前公民館",
        "kind": "公民館",
        "lat": 37.2,
        "lon": 140.75,
    },
    {
        "id": "tabito-01",
        "district_id": "tabito",
        "name": "田人地区集会所",
        "kind": "集会所",
        "lat": 36.95,
        "lon": 140.7,
    },
]


class FixedClock:
    """A clock the test moves by hand."""

    def __init__(self, start: datetime = NOW) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> None:
        """Move the clock forward."""
        self.now += timedelta(**kwargs)


def seed_kiosk(db: sqlite_utils.Database) -> None:
    """Master data and today's plan for ``van-1``."""
    master.seed_city(db)
    master.add_van(db, VAN, "お出かけ市役所 1号車")
    master.add_operator(db, "op001", "山田 花子", ["operator"], "123456", kdf=TEST_ONLY_CHEAP_KDF)
    master.add_operator(
        db, "sv001", "鈴木 一郎", ["supervisor", "operator"], "999999", kdf=TEST_ONLY_CHEAP_KDF
    )
    master.add_disaster(db, "r5-typhoon13", "令和5年台風第13号", date(2023, 9, 8), "浸水")
    with write(db):
        db.execute("INSERT INTO settings(key, value) VALUES (?, ?)", [SEAL_KEY_META, SEAL_PUBLIC])
        db.execute("INSERT INTO receipt_keys(device_id, key) VALUES (?, ?)", [VAN, RECEIPT_KEY])
        for s in SITES:
            master.upsert_site(db, s)
        db.execute(
            "INSERT INTO plans(id, created_at, horizon_start, horizon_end, status) "
            "VALUES ('plan-1', '2026-11-01T00:00:00Z', '2026-11-01', '2026-11-30', 'published')"
        )
        db.execute(
            'INSERT INTO plan_visits(id, plan_id, date, van_id, service_window, start, "end", '
            "site_id, district_id, activity, services, order_in_day) VALUES "
            "('pv-1', 'plan-1', ?, ?, 'am', '10:00', '12:00', 'kawamae-01', 'kawamae', "
            "'regular', '[]', 1), "
            "('pv-2', 'plan-1', ?, ?, 'pm', '13:30', '15:30', 'tabito-01', 'tabito', "
            "'disaster', '[\"disaster\"]', 2), "
            "('pv-other-van', 'plan-1', ?, 'van-2', 'am', '10:00', '12:00', 'tabito-01', "
            "'tabito', 'regular', '[]', 1)",
            [DAY.isoformat(), VAN, DAY.isoformat(), VAN, DAY.isoformat()],
        )


@pytest.fixture(scope="session")
def _template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("kiosk-template") / "van.db"
    db = connect(path, role="van", create=True, device_id=VAN)
    seed_kiosk(db)
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    return path


@pytest.fixture
def kiosk_path(_template: Path, tmp_path: Path) -> Path:
    """A fresh copy of the seeded van database (device ``van-1``)."""
    path = tmp_path / "van.db"
    shutil.copy(_template, path)
    return path


@pytest.fixture
def kdb(kiosk_path: Path) -> Iterator[sqlite_utils.Database]:
    """The seeded van database, open."""
    db = connect(kiosk_path)
    yield db
    db.close()


@pytest.fixture
def clock() -> FixedClock:
    """A fixed clock at 2026-11-24 10:05 JST."""
    return FixedClock()


@pytest.fixture
def open_stop(kdb: sqlite_utils.Database) -> Callable[[], Actor]:
    """Open the first planned stop; returns a factory for an Actor at it."""
    from odekake.services.stops import open_planned

    rec = open_planned(kdb, "pv-1", operator_id="op001", now=NOW)
    stop_id = str(rec.payload["stop_id"])
    return lambda: Actor(operator_id="op001", stop_id=stop_id, now=NOW)
