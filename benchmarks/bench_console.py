"""Console benchmark (run by hand, not part of the test suite).

    .venv/bin/python benchmarks/bench_console.py [--repeat 15] [--out results.json]

On a fresh demo hub (a year of records, 13 districts, 48 sites, one van), with one
solved draft for next month:

1. Server time per console page: each page requested ``--repeat`` times in-process
   (Starlette's TestClient over the real app, signed in as the coordinator); the
   median and the maximum in milliseconds. Target: every page ≤ 300 ms.
2. The same pages while a solve runs in its worker process (a two-month policy so
   the solver is busy throughout): the median again, to show the solve does not
   slow the pages noticeably.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from starlette.testclient import TestClient

from odekake.demo import build_demo
from odekake.storage.db import connect
from odekake.sync.hub import make_app
from planner import jobs, policy_form
from planner.model import build
from planner.policy import policy_from_dict
from planner.solve import solve


def login(client: TestClient) -> None:
    page = client.get("/console/login").text
    token = re.search(r'name="csrftoken" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    r = client.post(
        "/console/login",
        data={"login": "coord", "password": "coord-demo-2026", "csrftoken": token},
        follow_redirects=False,
    )
    assert r.status_code == 303


def timed(client: TestClient, pages: dict[str, str], repeat: int) -> dict[str, dict[str, float]]:
    """Each page ``repeat`` times, round robin (a passing disturbance hits every page alike)."""
    times: dict[str, list[float]] = {name: [] for name in pages}
    for _ in range(repeat):
        for name, path in pages.items():
            t0 = time.perf_counter()
            r = client.get(path)
            times[name].append((time.perf_counter() - t0) * 1000)
            assert r.status_code == 200, (path, r.status_code)
    return {
        name: {"median_ms": round(statistics.median(t), 1), "max_ms": round(max(t), 1)}
        for name, t in times.items()
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=15)
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument(
        "--demo", type=Path, default=None, help="use this demo folder (`odekake demo`) as is"
    )
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-console-") as scratch:
        run(args, args.demo or Path(scratch))


def run(args: argparse.Namespace, tmp: Path) -> None:
    """Measure on the demo hub in ``tmp`` (built there first unless ``--demo`` gave it)."""
    today = date.today()
    if args.demo is None:
        build_demo(tmp, seed=7, today=today)
    db = connect(tmp / "hub.db", role="hub")
    month = policy_form.next_month(today)
    text = policy_form.default_policy(db, month)
    plan = solve(build(policy_from_dict(policy_form.parse_text(text), db, today=today)))
    plan_id = jobs.store_draft(db, plan, text, actor="bench", parent_id=None)
    day = sorted({v.date for v in plan.visits})[5]
    pages = {
        "home": "/console/",
        "plans": f"/console/plans?month={month}",
        "policy form": f"/console/plans/policy?month={month}",
        "draft (calendar, map, districts, checks)": f"/console/plans/{plan_id}?day={day}",
        "compare": f"/console/plans/compare?id={plan_id}&id={plan_id}",
        "CSV download": f"/console/plans/{plan_id}/plan.csv",
        "ICS download": f"/console/plans/{plan_id}/ics/van-1.ics",
        "login page": "/console/login",
    }
    result: dict[str, Any] = {
        "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": f"{platform.machine()} {os.cpu_count()} CPUs, Python {platform.python_version()}",
        "records_at_hub": db.execute("SELECT COUNT(*) FROM records").fetchone()[0],
        "visits_in_draft": len(plan.visits),
        "repeat": args.repeat,
        "load_average_at_start": os.getloadavg(),
    }
    with TestClient(make_app(tmp / "hub.db")) as client:
        login(client)
        for path in pages.values():  # warm up (templates compiled, caches filled)
            client.get(path)
        result["idle"] = timed(client, pages, args.repeat)
        busy = (
            text.replace("months = 1", "months = 3")
            .replace("min_days_between = 7", "min_days_between = 2")
            .replace("max_visits = 3", "max_visits = 8")
        )
        job = jobs.start_solve(db, tmp / "hub.db", month, busy, actor="bench", today=today,
                               time_limit=600, gap=0.0)  # fmt: skip
        deadline = time.monotonic() + 300
        while jobs.progress(db, job).phase not in ("presolve", "search"):
            if time.monotonic() > deadline:
                jobs.cancel(db, job, actor="bench")
                raise SystemExit("the solve did not start within 300 s")
            time.sleep(0.2)  # until HiGHS itself is running
        during = timed(client, pages, args.repeat)
        state = jobs.progress(db, job)
        assert state.status == "running", "the solve ended before the pages were measured"
        jobs.cancel(db, job, actor="bench")
        result["during_solve"] = during
        result["solve_state_when_measured"] = state.fields()
    from bench_console_pages import measure_pages  # the staff pages, idle hub

    result["pages_idle"] = measure_pages(tmp / "hub.db", args.repeat, today)
    for phase in ("idle", "during_solve", "pages_idle"):
        print(f"--- {phase}")
        for name, t in result[phase].items():
            print(f"{name:45s} median {t['median_ms']:7.1f} ms   max {t['max_ms']:7.1f} ms")
    if args.out:
        args.out.write_text(json.dumps(result, ensure_ascii=False, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
