"""Fixtures for the pre-fill page: a seeded hub and a real Chromium (Playwright)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from odekake.masterdata import master
from odekake.storage.db import connect
from tests.browser import Browser, launch


@pytest.fixture
def hub_db(tmp_path: Path) -> Path:
    path = tmp_path / "hub.db"
    db = connect(path, role="hub", create=True)
    master.seed_city(db)
    db.close()
    return path


@pytest.fixture
def _chromium() -> Iterator[object]:
    # Per test, not per session: Playwright's sync API keeps an event loop running in
    # this thread while it lives, and the asyncio tests that share the worker need
    # the thread free.
    with launch() as browser:
        yield browser


@pytest.fixture
def browser(_chromium: object) -> Iterator[Browser]:
    b = Browser(_chromium)
    yield b
    b.close()


__all__ = ["Browser"]
