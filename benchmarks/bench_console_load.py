"""Console under load (run by hand, not part of the test suite).

    .venv/bin/python benchmarks/bench_console_load.py [--repeat 15] [--sessions 20]
        [--rounds 10] [--out results.json]

On a fresh demo (a year of records; the demo's published plan made by the planner), a
real ``odekake hub serve`` on 127.0.0.1:

1. Single user: every console page and download of the coordinator and the manager,
   ``--repeat`` times round robin over HTTP; median and maximum in milliseconds
   (loopback, so this is the server's time). Target: every median ≤ 300 ms
   (notices.zip and calendar.pdf are drawn once per plan and then served from memory).
2. ``--sessions`` staff sessions at once (threads, each its own signed-in manager
   session), each requesting home and usage ``--rounds`` times alternately with no
   think time (a closed loop: each waits for its answer, then asks again): p50, p95,
   maximum and requests per second. Target: p95 ≤ 500 ms on the 2-core machine.
   Run twice: with the usage report already built (``concurrent``), and right after
   the hub's data moved (``concurrent_after_change``: a setting written first, so
   every session's first usage page finds no built report).
   Every loop is bounded by its count and a 300 s deadline.

With N sessions and no think time, each answer waits behind the others' in one
process: latency ≈ N × the server's time per request. So each run also reports the
hub's CPU time per request (``server_cpu_ms_per_request``, from /proc) and the load
generator's own CPU time (``client_cpu_s``: it shares the same cores), and the load
average before and after.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from odekake.demo import build_demo
from odekake.storage.db import connect, write
from planner import lifecycle

JST = timezone(timedelta(hours=9))
DEADLINE_S = 300.0


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve(db: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = _port()
    log = db.with_name("hub.log").open("ab")
    proc = subprocess.Popen(
        [sys.executable, "-m", "odekake.cli", "hub", "serve", "--db", str(db), "--port", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    end = time.monotonic() + 60
    while time.monotonic() < end:
        try:
            if httpx.get(f"{url}/health", timeout=0.5).status_code == 200:
                return proc, url
        except httpx.TransportError:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError("hub did not start")


def login(url: str, user: str, password: str) -> httpx.Client:
    c = httpx.Client(base_url=url, timeout=30)
    token = re.search(r'name="csrftoken" value="([^"]+)"', c.get("/console/login").text)
    assert token
    r = c.post(
        "/console/login",
        data={"login": user, "password": password, "csrftoken": token.group(1)},
    )
    assert r.status_code in (200, 303), r.status_code
    return c


def single_user(url: str, plan_id: str, month: str, repeat: int) -> dict[str, dict[str, float]]:
    pages = {
        "coordinator": {
            "home": "/console/",
            "plans": f"/console/plans?month={month}",
            "plan": f"/console/plans/{plan_id}",
            "policy": f"/console/plans/policy?month={month}",
            "notices.zip": f"/console/plans/{plan_id}/notices.zip",
            "calendar.pdf": f"/console/plans/{plan_id}/calendar.pdf",
            "plan.csv": f"/console/plans/{plan_id}/plan.csv",
            "sites": "/console/sites",
        },
        "manager": {"usage": "/console/usage", "usage.pdf": "/console/usage/report.pdf"},
    }
    accounts = {
        "coordinator": ("coord", "coord-demo-2026"),
        "manager": ("manager", "manager-demo-2026"),
    }
    out: dict[str, dict[str, float]] = {}
    end = time.monotonic() + DEADLINE_S
    for role, paths in pages.items():
        c = login(url, *accounts[role])
        times: dict[str, list[float]] = {n: [] for n in paths}
        for _ in range(repeat):
            for name, path in paths.items():
                t0 = time.perf_counter()
                r = c.get(path)
                times[name].append((time.perf_counter() - t0) * 1000)
                assert r.status_code == 200, (path, r.status_code)
            if time.monotonic() > end:
                break
        for name, ts in times.items():
            out[name] = {"median_ms": round(statistics.median(ts), 1), "max_ms": round(max(ts), 1)}
    return out


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def data_moved(db: Path) -> None:
    """Write a setting, as any change would: the hub's built reports no longer apply."""
    conn = connect(db)
    with write(conn):
        conn.execute(
            "INSERT INTO settings(key, value) VALUES ('bench_marker', ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            [str(time.time())],
        )
    conn.close()


def concurrent(url: str, sessions: int, rounds: int, hub_pid: int) -> dict[str, float]:
    clients = [login(url, "manager", "manager-demo-2026") for _ in range(sessions)]
    lat: list[float] = []
    lock = threading.Lock()
    end = time.monotonic() + DEADLINE_S
    start = threading.Barrier(sessions)

    def run(c: httpx.Client) -> None:
        start.wait()
        for i in range(rounds):
            if time.monotonic() > end:
                return
            path = "/console/" if i % 2 == 0 else "/console/usage"
            t0 = time.perf_counter()
            r = c.get(path)
            dt = (time.perf_counter() - t0) * 1000
            assert r.status_code == 200, r.status_code
            with lock:
                lat.append(dt)

    load_before = os.getloadavg()[0]
    server0, client0 = cpu_seconds(hub_pid), time.process_time()
    t0 = time.perf_counter()
    threads = [threading.Thread(target=run, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join(DEADLINE_S)
    wall = time.perf_counter() - t0
    server, client = cpu_seconds(hub_pid) - server0, time.process_time() - client0
    for c in clients:
        c.close()
    lat.sort()
    return {
        "sessions": sessions,
        "requests": len(lat),
        "p50_ms": round(lat[len(lat) // 2], 1),
        "p95_ms": round(lat[int(len(lat) * 0.95) - 1], 1),
        "max_ms": round(lat[-1], 1),
        "requests_per_s": round(len(lat) / wall, 1),
        "wall_s": round(wall, 2),
        "server_cpu_ms_per_request": round(server * 1000 / max(1, len(lat)), 2),
        "client_cpu_s": round(client, 2),
        "load_before": round(load_before, 2),
        "load_after": round(os.getloadavg()[0], 2),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=15)
    ap.add_argument("--sessions", type=int, default=20)
    ap.add_argument("--rounds", type=int, default=10)
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        demo = Path(tmp) / "demo"
        build_demo(demo, today=datetime.now(JST).date())
        (plan,) = lifecycle.list_plans(connect(demo / "hub.db"), status="published")
        proc, url = serve(demo / "hub.db")
        try:
            result: dict[str, Any] = {
                "machine": f"{platform.machine()} {os.cpu_count()} cores",
                "load": os.getloadavg(),
                "single_user": single_user(url, plan.id, plan.horizon_start[:7], args.repeat),
                "one_session": concurrent(url, 1, args.rounds * 2, proc.pid),
                "concurrent": concurrent(url, args.sessions, args.rounds, proc.pid),
            }
            data_moved(demo / "hub.db")
            result["concurrent_after_change"] = concurrent(
                url, args.sessions, args.rounds, proc.pid
            )
            result["load_end"] = os.getloadavg()
        finally:
            proc.terminate()
            proc.wait(10)
    text = json.dumps(result, ensure_ascii=False, indent=2)
    print(text)
    if args.out:
        args.out.write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
