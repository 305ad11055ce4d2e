"""``odekake hub serve`` (a real process on loopback) under the console's attacks:
idle and slow sockets, huge bodies, login floods, replayed cookies, framing,
spreadsheet formulas. The figures printed here are the ones in docs/console.md.
"""

from __future__ import annotations

import contextlib
import os
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from odekake.access.auth import TEST_ONLY_CHEAP_KDF
from odekake.access.staff import add_staff
from odekake.storage.db import connect
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
            with contextlib.suppress(ConnectionResetError):  # closed, our head unread
                assert s.recv(1024) == b""
        assert time.monotonic() < deadline
    finally:
        for s in held:
            s.close()


def console_routes(db_path: Path) -> list[tuple[str, str]]:
    """Every (method, path) of the console, path parameters filled with a sample."""
    from starlette.routing import Route

    from console.app import make_console

    found: list[tuple[str, str]] = []
    app = make_console(db_path)
    for route in app.routes:
        if not isinstance(route, Route):
            continue
        path = re.sub(r"\{[^}]+\}", "x1", route.path)
        for method in sorted((route.methods or set()) - {"HEAD"}):
            found.append((method, "/console" + path))
    found.append(("GET", "/console/static/console.css"))
    return found


def signed_in(hub: Hub, login: str = "coord") -> httpx.Client:
    """An httpx client with a console session (the coordinator's by default)."""
    client = httpx.Client(base_url=hub.url, timeout=30)
    page = client.get("/console/login")
    token = re.search(r'name="csrftoken" value="([^"]+)"', page.text)
    assert token
    answer = client.post(
        "/console/login",
        data={"login": login, "password": PASSWORD, "csrftoken": token.group(1), "next": ""},
    )
    assert answer.status_code in (200, 303), answer.text
    assert "ログアウト" in client.get("/console/").text
    return client


BODY_BYTES = 400 * 1024 * 1024
CHUNK = b"login=a&password=" + b"x" * (64 * 1024 - 17)


def send_huge_body(hub: Hub, method: str, path: str, *, declared: bool) -> tuple[str, int]:
    """Stream a 400 MB body to ``path``; (outcome, bytes sent before the hub stopped us)."""
    sent = 0
    sock = socket.create_connection(("127.0.0.1", hub.port), timeout=10)
    try:
        head = f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        head += "Content-Type: application/x-www-form-urlencoded\r\n"
        head += (
            f"Content-Length: {BODY_BYTES}\r\n" if declared else "Transfer-Encoding: chunked\r\n"
        )
        sock.sendall((head + "\r\n").encode())
        frame = CHUNK if declared else b"%x\r\n%s\r\n" % (len(CHUNK), CHUNK)
        deadline = time.monotonic() + 20
        while sent < BODY_BYTES and time.monotonic() < deadline:
            sock.sendall(frame)
            sent += len(CHUNK)
        return "sent all", sent
    except OSError:
        try:
            answer = sock.recv(200).decode("latin-1")
        except OSError:
            answer = ""
        status = answer.split(" ")[1] if answer.startswith("HTTP/1.1 ") else "closed"
        return status, sent
    finally:
        sock.close()


def test_huge_bodies_to_every_console_route_are_refused_early(hub: Hub) -> None:
    routes = console_routes(hub.db)
    assert len(routes) > 40
    outcomes: list[tuple[str, str, str, int, bool]] = []
    baseline = hub.rss()

    def client(n: int) -> None:
        for method, path in routes:
            declared = n % 2 == 0
            status, sent = send_huge_body(hub, method, path, declared=declared)
            outcomes.append((method, path, status, sent, declared))

    started = time.monotonic()
    with PeakRss(hub.proc.pid) as rss:
        threads = [threading.Thread(target=client, args=(n,)) for n in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=300)
    took = time.monotonic() - started
    most = max(o[3] for o in outcomes)
    print(
        f"\n8 clients x {len(routes)} console routes x 400 MB bodies: hub VmRSS {baseline:.0f} → "
        f"peak {rss.peak:.0f} MB, at most {most / 2**20:.1f} MB sent of one body, {took:.1f} s; "
        f"answers {sorted({o[2] for o in outcomes})}"
    )
    assert len(outcomes) == 8 * len(routes)
    assert rss.peak < 300
    assert all(o[2] != "sent all" for o in outcomes)
    assert most < 16 * 2**20
    # a declared length over the cap: 413 at once, before any session check
    assert all(o[2] in ("413", "closed") for o in outcomes if o[4])
    assert sum(o[2] == "413" for o in outcomes if o[4]) > len(routes)
    # a chunked body: cut off at the cap (413), or never read (the login redirect)
    assert all(o[2] in ("413", "303", "closed") for o in outcomes if not o[4])
    assert httpx.get(f"{hub.url}/health", timeout=5).status_code == 200


SECURITY = {
    "content-security-policy": None,
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
}


def assert_security_headers(answer: httpx.Response) -> None:
    for name, value in SECURITY.items():
        assert name in answer.headers, (answer.status_code, answer.url, name)
        if value:
            assert answer.headers[name] == value
    csp = answer.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in csp
    assert (
        "script-src 'self'" in csp
        and "unsafe-inline" not in csp.split("script-src")[1].split(";")[0]
    )


def test_security_headers_on_every_kind_of_answer(hub: Hub) -> None:
    with closing(signed_in(hub)) as coord:
        ok = coord.get("/console/plans")
        assert ok.status_code == 200
        forbidden = coord.get("/console/staff")
        assert forbidden.status_code == 403
        missing = coord.get("/console/no-such-page")
        assert missing.status_code == 404
        too_big = coord.post("/console/sites/edit", content=b"a=" + b"x" * 40_000)
        assert too_big.status_code == 413
        wrong_method = coord.delete("/console/plans")
        assert wrong_method.status_code == 405
        for answer in (ok, forbidden, missing, too_big, wrong_method):
            assert_security_headers(answer)
            assert "<script>" not in answer.text and " onsubmit=" not in answer.text
        assert "大きすぎます" in too_big.text and "ホームへ戻る" in too_big.text
        assert "Method Not Allowed" not in wrong_method.text
        assert_security_headers(httpx.get(f"{hub.url}/console/login"))
        assert_security_headers(httpx.get(f"{hub.url}/console/static/console.js"))


def login_form(hub: Hub, n: int) -> tuple[httpx.Client, str]:
    """A client on its own loopback address (so that no throttle stops it first)
    with the login page's CSRF token."""
    transport = httpx.HTTPTransport(local_address=f"127.0.1.{1 + n}")
    client = httpx.Client(base_url=hub.url, timeout=30, transport=transport)
    page = client.get("/console/login")
    token = re.search(r'name="csrftoken" value="([^"]+)"', page.text)
    assert token
    return client, token.group(1)


def test_a_login_flood_bounds_memory_and_does_not_slow_check_ins(
    hub: Hub, checkin: Callable[[], float]
) -> None:
    """40 wrong passwords for the admin (the real KDF) sent at the same moment."""
    forms = [login_form(hub, n) for n in range(40)]
    quiet = [checkin() for _ in range(3)]
    statuses: list[int] = []
    took: list[float] = []
    go = threading.Barrier(len(forms))

    def attempt(n: int) -> None:
        client, token = forms[n]
        go.wait(timeout=30)
        answer = client.post(
            "/console/login",
            data={"login": "admin", "password": f"wrong-{n}", "csrftoken": token},
        )
        assert "Traceback" not in answer.text
        statuses.append(answer.status_code)

    with PeakRss(hub.proc.pid) as rss:
        threads = [threading.Thread(target=attempt, args=(n,)) for n in range(len(forms))]
        for t in threads:
            t.start()
        while any(t.is_alive() for t in threads):
            took.append(checkin())
            time.sleep(0.1)
        for t in threads:
            t.join(timeout=60)
    for client, _ in forms:
        client.close()
    print(
        f"\n40 concurrent wrong-password logins: hub VmRSS peak {rss.peak:.0f} MB; answers "
        f"{statuses.count(401)}x 401, {statuses.count(429)}x 429; {len(took)} check-ins "
        f"meanwhile, slowest {max(took):.2f} s (before the flood: slowest {max(quiet):.2f} s)"
    )
    assert len(statuses) == 40
    assert set(statuses) <= {401, 429} and 401 in statuses
    assert rss.peak < 600
    assert max(took) < 1.0


def test_a_cookie_replayed_after_logout_gets_the_login_page(hub: Hub) -> None:
    with closing(signed_in(hub)) as coord:
        cookie = coord.cookies.get("odekake_console")
        assert cookie
        page = coord.get("/console/")
        token = re.search(r'name="csrftoken" value="([^"]+)"', page.text)
        assert token
        assert coord.post("/console/logout", data={"csrftoken": token.group(1)}).status_code in (
            200,
            303,
        )
    with httpx.Client(base_url=hub.url, timeout=10) as thief:
        thief.cookies.set("odekake_console", cookie, path="/console")
        r = thief.get("/console/plans", follow_redirects=False)
        assert r.status_code == 303 and "/console/login" in r.headers["location"]
        posted = thief.post(
            "/console/sites/edit", data={"csrftoken": token.group(1)}, follow_redirects=False
        )
        assert posted.status_code == 303 and "/console/login" in posted.headers["location"]
        assert "<h1>ログイン</h1>" in thief.get("/console/plans", follow_redirects=True).text


def test_a_formula_typed_as_a_site_name_leaves_neutralised(hub: Hub) -> None:
    evil = '=HYPERLINK("http://evil.example","開く")'
    with closing(signed_in(hub)) as coord:
        form = coord.get("/console/sites/edit")
        token = re.search(r'name="csrftoken" value="([^"]+)"', form.text)
        assert token
        saved = coord.post(
            "/console/sites/edit",
            data={
                "csrftoken": token.group(1),
                "id": "evil-site",
                "district": "ogawa",
                "name": evil,
                "kind": "集会所",
                "lat": "37.2",
                "lon": "140.8",
                "notes": "@SUM(1+1)",
            },
        )
        assert saved.status_code == 303, saved.text
        exported = coord.get("/console/sites.csv")
        assert exported.status_code == 200
        assert_security_headers(exported)
    text = exported.content.decode("utf-8-sig")
    assert "'=HYPERLINK(" in text and "'@SUM(1+1)" in text
    assert ',"=HYPERLINK' not in text and ",=HYPERLINK" not in text
