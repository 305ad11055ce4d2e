"""A hub with a staff admin and an enrolled van in separate folders, and a real hub process.

The hub (``hub/hub.db``) and the van (``van/van.db`` with its key file) sit in two
folders, so "every byte the van holds" is the van folder.
"""

from __future__ import annotations

import base64
import json
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner
from itsdangerous import TimestampSigner

from odekake.access.auth import TEST_ONLY_CHEAP_KDF
from odekake.access.staff import add_staff
from odekake.cli import main
from odekake.storage.db import connect
from odekake.sync.enrolment import enroll
from tests.sync.conftest import HubProcess, give_sealing_key, make_van

ADMIN = "admin"
ADMIN_PASSWORD = "admin-pass-2026"


@dataclass
class HubAndVan:
    """Paths of a hub and one enrolled van (device ``van-1``)."""

    hub: Path
    van: Path

    def van_bytes(self) -> dict[str, bytes]:
        """Every file of the van's folder (database, WAL, key) by name."""
        return {p.name: p.read_bytes() for p in self.van.parent.iterdir() if p.is_file()}


def make_hub_and_van(root: Path) -> HubAndVan:
    """A hub with its sealing key and an admin, and an enrolled van with 3 records."""
    (root / "hub").mkdir()
    (root / "van").mkdir()
    hub = root / "hub" / "hub.db"
    connect(hub, role="hub", create=True).close()
    give_sealing_key(hub)
    db = connect(hub, role="hub")
    add_staff(
        db, ADMIN, "管理 太郎", "admin", ADMIN_PASSWORD, actor="test", kdf=TEST_ONLY_CHEAP_KDF
    )
    db.close()
    van = make_van(root / "van", "van-1", 3)
    enroll(van, hub, van_id="van-1")
    return HubAndVan(hub, van)


@pytest.fixture
def hub_and_van(tmp_path: Path) -> HubAndVan:
    """A hub and an enrolled van in ``tmp_path``."""
    return make_hub_and_van(tmp_path)


@pytest.fixture
def serve_hub() -> Iterator[Callable[[Path], HubProcess]]:
    """Start (and always stop) real ``odekake hub serve`` processes."""
    started: list[HubProcess] = []

    def start(db: Path) -> HubProcess:
        h = HubProcess(db).start()
        started.append(h)
        return h

    yield start
    for h in started:
        h.stop()


def console_cookie(secret: str, login: str) -> str:
    """A console session cookie as Starlette's signed-cookie sessions make it."""
    data = base64.b64encode(json.dumps({"login": login, "seen": time.time()}).encode())
    return TimestampSigner(secret).sign(data).decode("utf-8")


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    """The real ``odekake`` command line, run in this process (no interpreter start-up)."""
    result = CliRunner().invoke(main, list(args))
    return subprocess.CompletedProcess(list(args), result.exit_code, result.stdout, result.stderr)
