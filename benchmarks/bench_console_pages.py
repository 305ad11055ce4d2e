"""Console pages benchmark: the 利用実績, 車両・同期, 地点・地区, 選挙, 職員 and 監査ログ pages.

    .venv/bin/python benchmarks/bench_console_pages.py [--repeat 15] [--out results.json]

``bench_console.py`` calls :func:`measure_pages` on its demo hub too. On a fresh demo
hub (a year of records) with the example tallies imported, one quarantined record and
the demo election: each page requested ``--repeat`` times, round robin, in-process
through the real app, signed in with the role the page is for; median and maximum
server time in milliseconds. Target: every page ≤ 300 ms.
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

from odekake.access.staff import add_staff
from odekake.demo import DEMO_ELECTION_ID, build_demo
from odekake.reports.tally_store import import_file, load_sheets
from odekake.storage.db import connect
from odekake.sync.hub import make_app

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "tallies_fy2022_fy2023.csv"
ACCOUNTS = {
    "bench-mgr": ("manager", "bench-manager-2026"),
    "bench-admin": ("admin", "bench-admin-2026"),
    "bench-elec": ("election", "bench-election-2026"),
}


def _login(client: TestClient, login: str, password: str) -> None:
    page = client.get("/console/login").text
    token = re.search(r'name="csrftoken" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    r = client.post(
        "/console/login",
        data={"login": login, "password": password, "csrftoken": token},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.status_code


def pages_by_login(today: date) -> dict[str, dict[str, str]]:
    """The pages each account times."""
    fy = today.year if today.month >= 4 else today.year - 1
    return {
        "bench-mgr": {
            "利用実績 FY2022 (tallies, flags, charts)": "/console/usage?kind=fy&fy=2022",
            "利用実績 this fiscal year (a year of records)": f"/console/usage?kind=fy&fy={fy}",
            "利用実績 one month": f"/console/usage?kind=month&month={today:%Y-%m}",
            "利用実績 CSV download": "/console/usage/report.csv?kind=fy&fy=2022",
            "過去の集計 import page": "/console/usage/import",
        },
        "bench-admin": {
            "車両・同期": "/console/devices",
            "quarantined record (both versions)": "/console/devices/quarantine/1",
            "地点・地区 (sites, map)": "/console/sites",
            "sites CSV export": "/console/sites.csv",
            "職員": "/console/staff",
            "監査ログ (newest 500)": "/console/audit",
            "監査ログ filtered": "/console/audit?action=login",
            "監査ログ verify the chain": "/console/audit?verify=1",
        },
        "bench-elec": {
            "選挙 list": "/console/elections",
            "選挙 (stations, roll)": f"/console/elections/{DEMO_ELECTION_ID}",
            "速報 (tally, charts)": f"/console/elections/{DEMO_ELECTION_ID}/live",
            "turnout CSV": f"/console/elections/{DEMO_ELECTION_ID}/report.csv",
        },
    }


def prepare(hub_path: Path, van_path: Path) -> None:
    """Accounts, the example tallies and one quarantined record on the demo hub."""
    db = connect(hub_path, role="hub")
    for login, (role, password) in ACCOUNTS.items():
        if db.execute("SELECT 1 FROM staff WHERE login = ?", [login]).fetchone() is None:
            add_staff(db, login, login, role, password, actor="bench")
    if not load_sheets(db):
        import_file(db, EXAMPLE, actor="bench")
    has_quarantine = db.execute("SELECT COUNT(*) FROM sync_quarantine").fetchone()[0]
    db.close()
    if not has_quarantine:
        from tests.console.test_device_pages import quarantine_one

        quarantine_one(hub_path, van_path)


def measure_pages(hub_path: Path, repeat: int, today: date | None = None) -> dict[str, Any]:
    """Median and maximum server time of every part-2 page (idle hub)."""
    prepare(hub_path, hub_path.with_name("van.db"))
    out: dict[str, Any] = {}
    for login, pages in pages_by_login(today or date.today()).items():
        with TestClient(make_app(hub_path)) as client:
            _login(client, login, ACCOUNTS[login][1])
            for path in pages.values():  # warm up
                assert client.get(path).status_code == 200, path
            times: dict[str, list[float]] = {name: [] for name in pages}
            for _ in range(repeat):
                for name, path in pages.items():
                    t0 = time.perf_counter()
                    r = client.get(path)
                    times[name].append((time.perf_counter() - t0) * 1000)
                    assert r.status_code == 200, (path, r.status_code)
            for name, t in times.items():
                out[name] = {
                    "median_ms": round(statistics.median(t), 1),
                    "max_ms": round(max(t), 1),
                }
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=15)
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument(
        "--demo", type=Path, default=None, help="use this demo folder (`odekake demo`) as is"
    )
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-console-pages-") as scratch:
        run(args, args.demo or Path(scratch))


def run(args: argparse.Namespace, tmp: Path) -> None:
    """Measure on the demo hub in ``tmp`` (built there first unless ``--demo`` gave it)."""
    today = date.today()
    if args.demo is None:
        build_demo(tmp, seed=7, today=today)
    db = connect(tmp / "hub.db", role="hub")
    result: dict[str, Any] = {
        "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": f"{platform.machine()} {os.cpu_count()} CPUs, Python {platform.python_version()}",
        "records_at_hub": db.execute("SELECT COUNT(*) FROM records").fetchone()[0],
        "repeat": args.repeat,
        "load_average_at_start": os.getloadavg(),
    }
    db.close()
    result["pages_idle"] = measure_pages(tmp / "hub.db", args.repeat, today)
    result["audit_entries"] = (
        connect(tmp / "hub.db", role="hub").execute("SELECT COUNT(*) FROM audit_log").fetchone()[0]
    )
    result["load_average_at_end"] = os.getloadavg()
    for name, t in result["pages_idle"].items():
        print(f"{name:48s} median {t['median_ms']:7.1f} ms   max {t['max_ms']:7.1f} ms")
    if args.out:
        args.out.write_text(json.dumps(result, ensure_ascii=False, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
