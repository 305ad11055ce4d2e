"""Shared fixtures: migrated in-memory and on-disk databases, seeded with master data."""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlite_utils

from odekake.masterdata import master
from odekake.storage.db import connect, memory_db, write
from odekake.storage.records import SEAL_KEY_META
from odekake.storage.sealing import generate_keypair

# The private PC/SC stack's fixtures, registered once so every test shares one
# socket folder per process (pcsc-lite reads its socket name once per process).
pytest_plugins = ["tests.cardstack"]

# City hall's sealing key for the shared van fixtures: a van without one refuses
# personal data (sealing fails closed), as a pull from a hub would bring it.
TEST_SEAL_PRIVATE, TEST_SEAL_PUBLIC = generate_keypair(random.Random(2026))


def give_van_sealing_key(db: sqlite_utils.Database) -> None:
    """Store city hall's (test) sealing public key on a van, as a pull would."""
    with write(db):
        db.execute(
            "INSERT INTO settings(key, value) VALUES (?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            [SEAL_KEY_META, TEST_SEAL_PUBLIC],
        )


@pytest.fixture
def fresh_db() -> Iterator[sqlite_utils.Database]:
    """An in-memory van database with migrations applied and city hall's sealing key."""
    db = memory_db("van", device_id="van-test")
    give_van_sealing_key(db)
    yield db
    db.close()


@pytest.fixture
def city_db() -> Iterator[sqlite_utils.Database]:
    """An in-memory van database seeded with districts, services, fees and holidays."""
    db = memory_db("van", device_id="van-test")
    master.seed_city(db)
    give_van_sealing_key(db)
    yield db
    db.close()


@pytest.fixture
def van_path(tmp_path: Path) -> Path:
    """An on-disk, seeded van database (device ``van-test``); returns its path."""
    path = tmp_path / "van.db"
    db = connect(path, role="van", create=True, device_id="van-test")
    master.seed_city(db)
    give_van_sealing_key(db)
    db.close()
    return path


@pytest.fixture(scope="session")
def demo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo (hub.db + van.db) built once per test session with a fixed date."""
    from datetime import date

    from odekake.demo import build_demo

    d = tmp_path_factory.mktemp("demo")
    build_demo(d, seed=7, today=date(2026, 11, 20))
    return d
