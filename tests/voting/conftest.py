"""Voting fixtures: an election open today, a small roll, a real hub subprocess."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlite_utils
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from odekake.access import clerk_keys
from odekake.access.auth import TEST_ONLY_CHEAP_KDF
from odekake.masterdata import master
from odekake.storage.db import connect, memory_db, write
from odekake.sync.auth import DeviceAuth
from odekake.sync.keys import generate_key, public_key_text, register_device
from odekake.sync.wire import ensure_hub_key
from odekake.voting import elections as el
from odekake.voting import roll as rl
from odekake.voting.client import VotingClient

ELECTION_ID = "test-2026"

ROLL_HEADER = "選挙人番号,氏名,フリガナ,生年月日,性別,住所,投票区\n"
ROLL_ROWS = [
    "000101,山田 太郎,ヤマダ タロウ,1950-03-02,男,いわき市小川町高萩1,小川第3",
    "000102,佐藤 花子,サトウ ハナコ,1948/07/15,女,いわき市小川町上小川2,小川第3",
    "000103,鈴木 京子,スズキ キョウコ,昭和20年1月5日,女,いわき市小川町西小川3,小川第3",
    "000104,高橋 一郎,タカハシ イチロウ,19401111,男,いわき市平字田町4,平第1",
]


def today_jst() -> date:
    """Today's date in Japan (what the hub uses to decide which ballots are open)."""
    return el.jst_now().date()


def election_data(n_fixed: int = 0) -> dict[str, Any]:
    """An election whose early-voting period contains today (JST)."""
    today = today_jst()
    stations: list[dict[str, Any]] = [
        {
            "id": "ogawa-van",
            "name": "移動期日前投票所(小川)",
            "kind": "mobile",
            "date": today.isoformat(),
            "opens": "00:00",
            "closes": "23:59",
            "district": "ogawa",
            "precincts": ["小川第3"],
            "vans": ["van-1", "van-2"],
        },
        {
            "id": "taira",
            "name": "平支所",
            "kind": "fixed",
            "opens": "00:00",
            "closes": "23:59",
            "vans": ["van-1", "counter-1", "hub-counter"],
        },
    ]
    stations += [
        {
            "id": f"st{i:02d}",
            "name": f"投票所{i:02d}",
            "kind": "fixed",
            "opens": "00:00",
            "closes": "23:59",
            "vans": [f"van-st{i:02d}"],
        }
        for i in range(1, n_fixed + 1)
    ]
    return {
        "id": ELECTION_ID,
        "name": "令和8年いわき市議会議員一般選挙(試験)",
        "election_day": (today + timedelta(days=3)).isoformat(),
        "early_from": (today - timedelta(days=3)).isoformat(),
        "early_to": (today + timedelta(days=2)).isoformat(),
        "ballots": [
            {
                "kind": "senkyoku",
                "label": "選挙区",
                "opens_on": (today - timedelta(days=3)).isoformat(),
            },
            {"kind": "hirei", "label": "比例代表", "opens_on": today.isoformat()},
            {
                "kind": "shinsa",
                "label": "国民審査",
                "opens_on": (today + timedelta(days=1)).isoformat(),
            },
        ],
        "stations": stations,
    }


def add_clerks(db: sqlite_utils.Database) -> sqlite_utils.Database:
    """The clerks the tests hand ballots out as (roles are checked in the core)."""
    master.add_operator(db, "cl001", "高橋 美咲", ["clerk"], "345678", kdf=TEST_ONLY_CHEAP_KDF)
    master.add_operator(
        db, "cl002", "佐藤 次郎", ["operator", "clerk"], "234567", kdf=TEST_ONLY_CHEAP_KDF
    )
    master.add_operator(db, "op001", "山田 花子", ["operator"], "123456", kdf=TEST_ONLY_CHEAP_KDF)
    return db


OPERATOR_COLUMNS = "id, name, roles, pin_hash, active, sign_public, box_public, key_sealed"
CLERK_PINS = {"cl001": "345678", "cl002": "234567", "op001": "123456"}


def copy_operators(hub: sqlite_utils.Database, van: sqlite_utils.Database) -> sqlite_utils.Database:
    """Give a van the hub's operators with their sealed keys, as a pull does."""
    rows = hub.execute(f"SELECT {OPERATOR_COLUMNS} FROM operators").fetchall()
    with write(van):
        van.conn.executemany(
            f"INSERT OR REPLACE INTO operators({OPERATOR_COLUMNS}) VALUES (?,?,?,?,?,?,?,?)",
            rows,
        )
    return van


def clerk_van(
    hub: sqlite_utils.Database, device_id: str, clerk_id: str = "cl001"
) -> sqlite_utils.Database:
    """A van as its pull leaves it (the hub's operators, the election, the sealed roll),
    with ``clerk_id`` logged in (their key unlocked by their PIN)."""
    van = copy_operators(hub, memory_db("van", device_id=device_id))
    el.import_election(van, el.export_election(hub, ELECTION_ID))
    rl.load_roll(van, ELECTION_ID, rl.roll_snapshot(hub, ELECTION_ID))
    assert clerk_keys.unlock(van, clerk_id, CLERK_PINS[clerk_id])
    return van


def write_roll(path: Path, rows: list[str] = ROLL_ROWS, encoding: str = "utf-8-sig") -> Path:
    """Write a roll CSV."""
    path.write_bytes((ROLL_HEADER + "\n".join(rows) + "\n").encode(encoding))
    return path


def make_hub(path: Path, n_fixed: int = 0) -> Path:
    """A hub database with the test election and roll."""
    db = connect(path, role="hub", create=True)
    master.seed_districts(db)
    el.save_election(db, el.election_from_dict(election_data(n_fixed)))
    rl.import_roll(db, ELECTION_ID, write_roll(path.parent / "roll.csv"))
    add_clerks(db)
    db.close()
    from tests.sync.conftest import give_sealing_key

    give_sealing_key(path)  # a hub serves master data only with city hall's sealing key
    return path


def signer(hub_path: Path, device_id: str, *, van_id: str | None = None) -> DeviceAuth:
    """Enrol ``device_id`` at the hub with a new key; its request signer."""
    key = generate_key()
    db = connect(hub_path, role="hub")
    try:
        register_device(db, device_id, public_key_text(key), van_id=van_id, replace=True)
    finally:
        db.close()
    return DeviceAuth(device_id, key, hub_public_key(hub_path))


def hub_public_key(hub_path: Path) -> Ed25519PublicKey:
    """The hub's answer-signing key (made beside the hub database if missing)."""
    return ensure_hub_key(hub_path).public_key()


def signed_client(
    hub_path: Path, device_id: str, url: str, *, van_id: str | None = None, **kw: Any
) -> VotingClient:
    """A voting client signing as ``device_id``, enrolled at the hub (key made here)."""
    return VotingClient(url, auth=signer(hub_path, device_id, van_id=van_id), **kw)


@pytest.fixture
def hub_db(tmp_path: Path) -> Iterator[sqlite_utils.Database]:
    """An on-disk hub database with the test election and roll, opened."""
    db = connect(make_hub(tmp_path / "hub.db"))
    yield db
    db.close()


def free_port() -> int:
    """A port nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class HubProcess:
    """A real ``odekake vote serve`` subprocess."""

    def __init__(self, db_path: Path, env: dict[str, str] | None = None) -> None:
        self.db_path = db_path
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        full_env = {**os.environ, **(env or {})}
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "odekake.cli",
                "vote",
                "serve",
                "--db",
                str(db_path),
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
            ],
            env=full_env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 20
        while True:
            if self.proc.poll() is not None:
                err = self.proc.stderr.read().decode() if self.proc.stderr else ""
                raise RuntimeError(f"hub exited: {err}")
            try:
                if httpx.get(f"{self.url}/vote/health", timeout=0.5).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("hub did not start")
            time.sleep(0.05)

    def kill(self) -> None:
        """SIGKILL: the hub dies without answering."""
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        """Terminate (and reap) the subprocess."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        if self.proc.stderr:
            self.proc.stderr.close()


@pytest.fixture
def start_hub() -> Iterator[Callable[..., HubProcess]]:
    """Start hub subprocesses; all are stopped when the test ends."""
    started: list[HubProcess] = []

    def start(db_path: Path, env: dict[str, str] | None = None) -> HubProcess:
        hub = HubProcess(db_path, env)
        started.append(hub)
        return hub

    yield start
    for hub in started:
        hub.stop()
