"""Shared fixtures: migrated in-memory and on-disk databases, seeded with master data."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlite_utils

from odekake import master
from odekake.db import connect, memory_db


@pytest.fixture
def fresh_db() -> Iterator[sqlite_utils.Database]:
    """An in-memory van database with migrations applied and nothing else."""
    db = memory_db("van", device_id="van-test")
    yield db
    db.close()


@pytest.fixture
def city_db() -> Iterator[sqlite_utils.Database]:
    """An in-memory van database seeded with districts, services, fees and holidays."""
    db = memory_db("van", device_id="van-test")
    master.seed_city(db)
    yield db
    db.close()


@pytest.fixture
def van_path(tmp_path: Path) -> Path:
    """An on-disk, seeded van database (device ``van-test``); returns its path."""
    path = tmp_path / "van.db"
    db = connect(path, role="van", create=True, device_id="van-test")
    master.seed_city(db)
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
