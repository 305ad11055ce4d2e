"""``odekake hub serve`` (a real process on loopback) under the console's attacks:
idle and slow sockets, huge bodies, login floods, replayed cookies, framing,
spreadsheet formulas. The figures printed here are the ones in docs/console.md.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from odekake.auth import TEST_ONLY_CHEAP_KDF
from odekake.db import connect
from odekake.staff import add_staff
from odekake.voting.client import Offline
from tests.voting.conftest import ELECTION_ID, make_hub, signed_client

PASSWORD = "correct-horse-9"


def vm_rss_mb(pid: int) -> float:
    """Resident memory of a process in MB (from /proc/<pid>/status)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Hub:
    db: Path
    port: int
    proc: subprocess.Popen[bytes]
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def rss(self) -> float:
        return vm_rss_mb(self.proc.pid)


class PeakRss:
    """Samples a process's VmRSS every 50 ms in a thread until stopped."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peak = vm_rss_mb(pid)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self) -> None:
        while not self.stop.is_set():
            self.peak = max(self.peak, vm_rss_mb(self.pid))
            self.stop.wait(0.05)

    def __enter__(self) -> PeakRss:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join()


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    """A hub with an open election, an admin (real KDF: the 128 MiB scrypt) and a
    cheap-KDF clerk account, served by ``odekake hub serve``."""
    root = tmp_path_factory.mktemp("hub-under-attack")
    db_path = make_hub(root / "hub.db")
    db = connect(db_path, role="hub")
    add_staff(db, "admin", "管理 太郎", "admin", PASSWORD, actor="test")
    add_staff(
        db, "coord", "企画 花子", "coordinator", PASSWORD, actor="test", kdf=TEST_ONLY_CHEAP_KDF
    )
    db.close()
    port = free_port()
    log = root / "hub.log"
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "odekake.cli", "hub", "serve", "--db", str(db_path),
             "--host", "127.0.0.1", "--port", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )  # fmt: skip
    h = Hub(db_path, port, proc, log)
    deadline = time.monotonic() + 60
    while True:
        assert proc.poll() is None, log.read_text()
        try:
            if httpx.get(f"{h.url}/health", timeout=0.5).status_code == 200:
                break
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, "hub did not start"
        time.sleep(0.05)
    yield h
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)
    assert "Traceback" not in log.read_text()


@pytest.fixture(scope="module")
def checkin(hub: Hub) -> Callable[[], float]:
    """A signed check-in of one voter; returns the seconds it took (any answer but
    "offline" counts: a second check-in of the same voter is 投票済み)."""
    client = signed_client(hub.db, "van-1", hub.url, timeout=10)

    def run() -> float:
        started = time.monotonic()
        result = client.checkin(
            election_id=ELECTION_ID,
            voter_no="000101",
            station_id="ogawa-van",
            clerk_id="cl001",
            device_id="van-1",
            reason="work",
        )
        took = time.monotonic() - started
        assert not isinstance(result, Offline), result
        return took

    return run


def test_idle_half_open_connections_do_not_stop_check_ins(
    hub: Hub, checkin: Callable[[], float]
) -> None:
    """500 sockets holding half a request head, from 50 loopback addresses (under the
    per-address cap), and 100 more from one address (over it)."""
    checkin()  # warm
    held: list[socket.socket] = []
    try:
        for i in range(500):
            s = socket.socket()
            s.bind((f"127.0.0.{2 + i % 50}", 0))
            s.connect(("127.0.0.1", hub.port))
            s.sendall(b"POST /console/login HTTP/1.1\r\nHost: x\r\n")
            held.append(s)
        for _ in range(100):
            s = socket.socket()
            s.bind(("127.0.0.200", 0))
            s.connect(("127.0.0.1", hub.port))
            held.append(s)
        took = [checkin() for _ in range(3)]
        health = httpx.get(f"{hub.url}/health", timeout=5)
        assert health.status_code == 200
        console = httpx.get(f"{hub.url}/console/login", timeout=5)
        assert console.status_code == 200
        print(f"\ncheck-ins with 600 idle sockets held: {', '.join(f'{t:.2f}' for t in took)} s")
        assert max(took) < 2.0
        # the hub closes what never finished its head within a few seconds
        deadline = time.monotonic() + 15
        for s in held:
            s.settimeout(max(0.1, deadline - time.monotonic()))
            try:
                assert s.recv(1024) == b""
            except ConnectionResetError:
                pass  # closed with our unread head in its buffer: a reset
        assert time.monotonic() < deadline
    finally:
        for s in held:
            s.close()
