"""Unauthenticated floods: the hub reads no body it has not authenticated.

Four 400 MB unsigned chunked bodies go to every route at once (streamed from a
generator: nothing that size is ever in memory here). The hub answers each from
its headers alone and closes the connection, so its resident memory (VmRSS of the
real hub process, sampled every 20 ms) stays small, and the next signed push
succeeds.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx

from .conftest import HubProcess, Site, cli

ROUTES = [
    ("GET", "/v1/ack"),
    ("POST", "/v1/push"),
    ("GET", "/v1/snapshot"),
    ("GET", "/v1/status"),
    ("POST", "/vote/checkin"),
    ("GET", "/vote/status?election_id=e"),
    ("GET", "/vote/health"),
    ("GET", "/health"),
    ("GET", "/openapi.json"),
]
BODY_BYTES = 400 * 1024 * 1024
PER_ROUTE = 4
RSS_LIMIT_MB = 300


def vm_rss_mb(pid: int) -> float:
    """Resident memory of a process in MB (from /proc/<pid>/status)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def flood(url: str, method: str, path: str, sent: list[int], outcome: list[str]) -> None:
    chunk = b'{"a":[' * 10923  # ~64 kB of JSON-looking junk

    def body() -> Iterator[bytes]:
        while sent[0] < BODY_BYTES:
            sent[0] += len(chunk)
            yield chunk

    try:
        with httpx.Client(timeout=60) as client:
            resp = client.request(method, url + path, content=body())
        outcome.append(str(resp.status_code))
    except httpx.HTTPError as exc:  # the hub hung up on the body: that is the point
        outcome.append(type(exc).__name__)


def test_four_400mb_unsigned_bodies_per_route_do_not_grow_the_hub(
    site: Site, hub_process: Callable[[], HubProcess]
) -> None:
    van = site.van("van-a", 20)
    hub = hub_process()
    assert hub.proc is not None
    pid = hub.proc.pid
    baseline = vm_rss_mb(pid)
    peak = [baseline]
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            peak[0] = max(peak[0], vm_rss_mb(pid))
            time.sleep(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    sent: list[list[int]] = []
    outcome: list[str] = []
    threads = []
    for method, path in ROUTES:
        for _ in range(PER_ROUTE):
            counter = [0]
            sent.append(counter)
            t = threading.Thread(target=flood, args=(hub.url, method, path, counter, outcome))
            threads.append(t)
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert not any(t.is_alive() for t in threads)
    # the next valid, signed request succeeds
    out = cli("sync", "push", "--db", str(van), "--hub", hub.url, "--retries", "2")
    stop.set()
    sampler.join()
    assert out.returncode == 0, out.stderr
    assert "20 件を 1 回に分けて送信しました" in out.stdout
    print(
        f"\nhub VmRSS: baseline {baseline:.0f} MB, peak {peak[0]:.0f} MB; "
        f"{len(threads)} bodies, at most {max(c[0] for c in sent) / 2**20:.1f} MB sent of one "
        f"(outcomes {sorted(set(outcome))})"
    )
    assert peak[0] < RSS_LIMIT_MB
    assert len(outcome) == len(threads)
    # the hub cut every body off early: no client got far into its 400 MB
    assert max(c[0] for c in sent) < 64 * 1024 * 1024
    assert "Traceback" not in hub.log.read_text()


def test_idle_unauthenticated_connections_are_closed_and_the_hub_keeps_answering(
    site: Site, hub_process: Callable[[], HubProcess]
) -> None:
    import socket

    from odekake.sync.connections import HEAD_TIMEOUT, MAX_PER_ADDRESS

    van = site.van("van-a", 3)
    hub = hub_process()
    idle = []
    for _ in range(MAX_PER_ADDRESS + 40):  # half a request line each, never finished
        s = socket.socket()
        s.bind(("127.0.0.3", 0))
        s.connect(("127.0.0.1", hub.port))
        s.sendall(b"POST /v1/push HTTP/1.1\r\nHost: x\r\n")
        idle.append(s)
    try:
        # other addresses are served meanwhile; the idle sockets are closed by the hub
        assert httpx.get(f"{hub.url}/health", timeout=5).status_code == 200
        deadline = time.monotonic() + HEAD_TIMEOUT + 10
        for s in idle:
            s.settimeout(max(0.1, deadline - time.monotonic()))
            with contextlib.suppress(ConnectionResetError):  # closed, our head unread
                assert s.recv(100) == b""
    finally:
        for s in idle:
            s.close()
    out = cli("sync", "push", "--db", str(van), "--hub", hub.url, "--retries", "6")
    assert out.returncode == 0, out.stderr
