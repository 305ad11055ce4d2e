"""Fixtures for sync tests: vans with records, an enrolled hub, a real hub process."""

from __future__ import annotations

import os
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import sqlite_utils

from odekake.storage.db import connect, write
from odekake.storage.records import GENESIS, build_record, insert_record
from odekake.sync.enrolment import enroll

T0 = datetime(2026, 4, 1, 0, 0, tzinfo=UTC)


def add_records(
    db: sqlite_utils.Database, n: int, *, device_id: str | None = None, personal: bool = False
) -> None:
    """Append ``n`` records to the van's chain in one transaction (fast).

    With ``personal`` each holds a resident's name: what a retention purge removes.
    """
    dev = device_id or str(
        db.execute("SELECT value FROM meta WHERE key = 'device_id'").fetchone()[0]
    )
    last = db.execute(
        "SELECT seq, hash, hlc FROM records WHERE device_id = ? ORDER BY seq DESC LIMIT 1", [dev]
    ).fetchone()
    seq, prev, hlc = (0, GENESIS, None) if last is None else (int(last[0]), last[1], last[2])
    with write(db):
        for _ in range(n):
            seq += 1
            r = build_record(
                device_id=dev,
                seq=seq,
                prev_hash=prev,
                prev_hlc=hlc,
                type="consultation.hold",
                payload=(
                    {"stop_id": "s", "people": 1, "name": f"住民 {seq}"}
                    if personal
                    else {"stop_id": f"{dev}-stop", "people": 1, "topic": "福祉", "n": seq}
                ),
                now=T0 + timedelta(seconds=seq),
            )
            insert_record(db, r)
            prev, hlc = r.hash, r.hlc


def add_personal(path: Path, n: int) -> None:
    """Append ``n`` records holding a resident's name to the van file at ``path``."""
    db = connect(path)
    add_records(db, n, personal=True)
    db.close()


def make_van(directory: Path, device_id: str, n: int) -> Path:
    """A van database with ``n`` records (no key yet)."""
    path = directory / f"{device_id}.db"
    db = connect(path, role="van", create=True, device_id=device_id)
    add_records(db, n)
    db.close()
    return path


def rows(path: Path, device_id: str) -> list[tuple[object, ...]]:
    """(seq, id, hash) of a device's records in a database file."""
    db = connect(path)
    try:
        return [
            tuple(r)
            for r in db.execute(
                "SELECT seq, id, hash FROM records WHERE device_id = ? ORDER BY seq", [device_id]
            ).fetchall()
        ]
    finally:
        db.close()


@dataclass
class Site:
    """A hub and enrolled vans in a temp directory."""

    root: Path
    hub: Path

    def van(self, device_id: str, n: int) -> Path:
        path = make_van(self.root, device_id, n)
        enroll(path, self.hub)
        return path


def give_sealing_key(hub_path: Path) -> str:
    """Set up city hall's sealing key at a hub (as ``odekake keys init`` does)."""
    from odekake.storage.db import set_meta
    from odekake.storage.records import SEAL_KEY_META
    from odekake.storage.sealing import generate_keypair

    _private, public = generate_keypair()
    db = connect(hub_path, role="hub")
    with write(db):
        set_meta(db, SEAL_KEY_META, public)
        db.execute(
            "INSERT INTO settings(key, value) VALUES (?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            [SEAL_KEY_META, public],
        )
    db.close()
    return public


@pytest.fixture
def site(tmp_path: Path) -> Site:
    """A hub database (with its sealing key, no data) in a temp directory."""
    hub = tmp_path / "hub.db"
    connect(hub, role="hub", create=True).close()
    give_sealing_key(hub)
    return Site(tmp_path, hub)


def free_port() -> int:
    """A port that was free a moment ago on loopback."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run ``python -m odekake.cli ...`` as a real process."""
    return subprocess.run(
        [sys.executable, "-m", "odekake.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )


def cli_bg(*args: str) -> subprocess.Popen[str]:
    """Start ``python -m odekake.cli ...`` in the background."""
    return subprocess.Popen(
        [sys.executable, "-m", "odekake.cli", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


class HubProcess:
    """``odekake hub serve`` as a real subprocess on loopback (its log goes to a file)."""

    def __init__(
        self,
        db: Path,
        port: int | None = None,
        *,
        tls: tuple[Path, Path, Path] | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        self.db = db
        self.env = env
        self.port = port or free_port()
        self.tls = tls  # (certificate, key, CA file)
        self.url = f"{'https' if tls else 'http'}://127.0.0.1:{self.port}"
        self.log = db.with_name(f"hub-{self.port}.log")
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> HubProcess:
        extra = (
            []
            if self.tls is None
            else ["--tls-cert", str(self.tls[0]), "--tls-key", str(self.tls[1])]
        )
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "odekake.cli", "hub", "serve", "--db", str(self.db),
                 "--port", str(self.port), *extra],
                stdout=log,
                stderr=subprocess.STDOUT,
                env={**os.environ, **(self.env or {})},
            )  # fmt: skip
        verify: bool | ssl.SSLContext = (
            True if self.tls is None else ssl.create_default_context(cafile=str(self.tls[2]))
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"hub exited: {self.log.read_text()}")
            try:
                if httpx.get(f"{self.url}/health", timeout=0.5, verify=verify).status_code == 200:
                    return self
            except httpx.TransportError:
                time.sleep(0.05)
        raise RuntimeError("hub did not become ready")

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)


@pytest.fixture
def hub_process(site: Site) -> Iterator[Callable[[], HubProcess]]:
    """Start (and always stop) real hub processes over ``site.hub``."""
    started: list[HubProcess] = []

    def start(port: int | None = None) -> HubProcess:
        h = HubProcess(site.hub, port).start()
        started.append(h)
        return h

    yield start
    for h in started:
        h.stop()
