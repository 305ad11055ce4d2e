"""Fixtures for the console: a copy of the demo hub, staff accounts, a signed-in client."""

from __future__ import annotations

import re
import shutil
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pytest
from starlette.routing import Mount
from starlette.testclient import TestClient

from odekake.db import connect
from odekake.staff import add_staff
from odekake.sync.hub import make_app

TODAY = datetime(2026, 11, 20, 10, 0)
PASSWORDS = {
    "coord": "coord-demo-2026",  # made by the demo
    "mgr": "manager-pass-2026",
    "elec": "election-pass-2026",
    "admin": "admin-pass-2026",
}
ROLES = {"coord": "coordinator", "mgr": "manager", "elec": "election", "admin": "admin"}


@pytest.fixture
def hub_path(demo_dir: Path, tmp_path: Path) -> Path:
    """A private copy of the demo hub (a year of records) with four staff accounts."""
    if (demo_dir / "hub-seal.key").exists():
        shutil.copy(demo_dir / "hub-seal.key", tmp_path / "hub-seal.key")
    path = tmp_path / "hub.db"
    # The backup API copies what is still in the WAL too (a file copy would not).
    src, dst = sqlite3.connect(demo_dir / "hub.db"), sqlite3.connect(path)
    with dst:
        src.backup(dst)
    src.close()
    dst.close()
    db = connect(path, role="hub")
    for login, role in ROLES.items():
        if login != "coord":
            add_staff(db, login, f"{login}さん", role, PASSWORDS[login], actor="test")
    db.close()
    return path


def console_state(app):  # type: ignore[no-untyped-def]
    """The console's shared state inside a hub app."""
    for route in app.routes:
        if isinstance(route, Mount) and route.path == "/console":
            return route.app.state.console
    raise AssertionError("console not mounted")


@dataclass
class Browser:
    """A TestClient with helpers to sign in and to post forms with their CSRF token."""

    client: TestClient

    def token(self, path: str = "/console/login") -> str:
        page = self.client.get(path)
        m = re.search(r'name="csrftoken" value="([^"]+)"', page.text)
        assert m, f"no CSRF token on {path}"
        return m.group(1)

    def login(self, login: str, password: str | None = None):  # type: ignore[no-untyped-def]
        return self.client.post(
            "/console/login",
            data={
                "login": login,
                "password": password or PASSWORDS[login],
                "csrftoken": self.token(),
                "next": "/console/",
            },
            follow_redirects=False,
        )

    def post(self, path: str, data: dict[str, str], *, page: str = "/console/"):  # type: ignore[no-untyped-def]
        return self.client.post(
            path, data={**data, "csrftoken": self.token(page)}, follow_redirects=False
        )


@pytest.fixture
def hub_app(hub_path: Path):  # type: ignore[no-untyped-def]
    """The hub app (sync API + console) over the copy, with the console's clock fixed."""
    app = make_app(hub_path)
    console_state(app).clock = lambda: TODAY
    return app


@pytest.fixture
def browser(hub_app) -> Iterator[Browser]:  # type: ignore[no-untyped-def]
    """An anonymous browser on the hub."""
    with TestClient(hub_app, base_url="http://testserver") as client:
        yield Browser(client)


@pytest.fixture
def coordinator(browser: Browser) -> Browser:
    """A browser signed in as the coordinator."""
    assert browser.login("coord").status_code == 303
    return browser
