"""Fixtures for the console: a copy of the demo hub, staff accounts, a signed-in client."""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pytest
from starlette.routing import Mount
from starlette.testclient import TestClient

from odekake.access.auth import TEST_ONLY_CHEAP_KDF as CHEAP
from odekake.access.staff import add_staff
from odekake.storage.db import connect
from odekake.sync.hub import make_app

TODAY = datetime(2026, 11, 20, 10, 0)
PASSWORDS = {
    "coord": "coord-demo-2026",  # made by the demo
    "mgr": "manager-pass-2026",
    "elec": "election-pass-2026",
    "admin": "admin-pass-2026",
}
ROLES = {"coord": "coordinator", "mgr": "manager", "elec": "election", "admin": "admin"}


def copy_db(src_path: Path, path: Path) -> None:
    """Copy a database with SQLite's backup API (it copies what is still in the WAL too).

    A hub's signing key goes with it, as it must when a hub moves: its vans pinned it.
    """
    src, dst = sqlite3.connect(src_path), sqlite3.connect(path)
    with dst:
        src.backup(dst)
    src.close()
    dst.close()
    key = src_path.with_name(src_path.name + ".sign.key")
    if key.exists():
        copied = path.with_name(path.name + ".sign.key")
        copied.write_bytes(key.read_bytes())
        copied.chmod(0o600)


@pytest.fixture(scope="session")
def planned_demo(demo_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """The demo hub with one solved draft for 2026-12 (solved once per session)."""
    from planner.jobs import store_draft
    from planner.model import build
    from planner.policy import policy_from_dict
    from planner.policy_form import default_policy, parse_text
    from planner.solve import solve

    path = tmp_path_factory.mktemp("planned") / "hub.db"
    copy_db(demo_dir / "hub.db", path)
    db = connect(path, role="hub")
    text = default_policy(db, "2026-12")
    data = policy_from_dict(parse_text(text), db, today=TODAY.date())
    plan = solve(build(data), time_limit=120, gap=0.001)
    plan_id = store_draft(db, plan, text, actor="staff:coord", parent_id=None)
    db.close()
    return path, plan_id


@pytest.fixture
def planned_hub(planned_demo: tuple[Path, str], tmp_path: Path) -> tuple[Path, str]:
    """A private copy of the planned demo hub and its draft's id (with the staff accounts)."""
    path = tmp_path / "hub.db"
    copy_db(planned_demo[0], path)
    db = connect(path, role="hub")
    for login, role in ROLES.items():
        if login != "coord":
            add_staff(db, login, f"{login}さん", role, PASSWORDS[login], actor="test", kdf=CHEAP)
    db.close()
    return path, planned_demo[1]


@pytest.fixture
def hub_path(demo_dir: Path, tmp_path: Path) -> Path:
    """A private copy of the demo hub (a year of records) with four staff accounts."""
    path = tmp_path / "hub.db"
    copy_db(demo_dir / "hub.db", path)
    db = connect(path, role="hub")
    for login, role in ROLES.items():
        if login != "coord":
            add_staff(db, login, f"{login}さん", role, PASSWORDS[login], actor="test", kdf=CHEAP)
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
def planner_browser(planned_hub: tuple[Path, str]) -> Iterator[Browser]:
    """A browser signed in as the coordinator on the hub with a draft."""
    app = make_app(planned_hub[0])
    console_state(app).clock = lambda: TODAY
    with TestClient(app, base_url="http://testserver") as client:
        b = Browser(client)
        assert b.login("coord").status_code == 303
        yield b


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


CHROMIUM = Path("/usr/bin/chromium")
IPAEX = Path("/usr/share/fonts/opentype/ipaexfont-gothic/ipaexg.ttf")


def _apt_install(*packages: str) -> None:
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update"], check=True, capture_output=True, env=env, timeout=900)
    subprocess.run(
        ["apt-get", "install", "-y", "--no-install-recommends", *packages],
        check=True,
        capture_output=True,
        env=env,
        timeout=1800,
    )


@pytest.fixture
def chromium() -> Iterator[object]:
    """Playwright driving Debian's Chromium; installs chromium and the IPAex font when
    running as root and they are missing, otherwise skips with a one-line reason.

    Function-scoped on purpose: Playwright's sync API keeps an asyncio loop running in
    the thread while it is open, which would break later tests that run their own loop.
    """
    missing = [
        p for p, f in (("chromium", CHROMIUM), ("fonts-ipaexfont-gothic", IPAEX)) if not f.exists()
    ]
    if missing:
        if os.geteuid() != 0 or not shutil.which("apt-get"):
            reason = (
                f"ブラウザ試験を省略: {', '.join(missing)} がなく、root でないため入れられません"
            )
            print(reason)
            pytest.skip(reason)
        _apt_install(*missing)
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        reason = "ブラウザ試験を省略: Python の playwright がありません(pip install -e '.[dev]')"
        print(reason)
        pytest.skip(reason)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        yield browser
        browser.close()
