"""Benchmark: a fiscal-year usage report over 100,000 records (target < 3 s).

Run by hand (not part of the test suite):

    .venv/bin/python benchmarks/bench_reports.py [--records 100000]

Builds an on-disk hub database with one fiscal year (FY2024) of synthetic records —
stop.open/stop.close plus service records, about 1% corrections and voids — then
times, separately and together: reading + counting + building the report, the PDF
(table and chart pages), the CSV and the XLSX.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

from odekake.masterdata.catalog import SERVICE_RECORD_TYPES
from odekake.masterdata.master import IWAKI_DISTRICTS, seed_city
from odekake.reports.counting import Period
from odekake.reports.export import write_csv, write_xlsx
from odekake.reports.pdf import render_report
from odekake.reports.table import build_report
from odekake.storage.db import connect, write
from odekake.storage.records import GENESIS, VOID, Record, build_record, insert_record

JST = timezone(timedelta(hours=9))
SERVICES = list(SERVICE_RECORD_TYPES)


def build(path: Path, n_records: int, seed: int = 1) -> int:
    """Write about ``n_records`` records of FY2024 into a new hub database."""
    rng = random.Random(seed)
    db = connect(path, role="hub", create=True)
    seed_city(db)
    districts = [d.id for d in IWAKI_DISTRICTS]
    chain: list[Record] = []

    def add(type: str, payload: dict, when: datetime, supersedes: str | None = None) -> Record:
        last = chain[-1] if chain else None
        r = build_record(
            device_id="van-1",
            seq=len(chain) + 1,
            prev_hash=GENESIS if last is None else last.hash,
            prev_hlc=None if last is None else last.hlc,
            type=type,
            payload=payload,
            supersedes=supersedes,
            now=when,
        )
        chain.append(r)
        return r

    start = date(2024, 4, 1)
    k = 0
    while len(chain) < n_records:
        day = start + timedelta(days=rng.randrange(365))
        activity = rng.choices(
            ["regular", "reservation", "disaster", "voting", "other"], [80, 6, 8, 1, 5]
        )[0]
        offered = {
            "regular": [
                "certificate",
                "mynumber",
                "garbage",
                "consultation",
                "frailty",
                "explanation",
            ],
            "reservation": ["consultation", "frailty", "explanation"],
            "disaster": ["disaster"],
            "voting": ["voting"],
            "other": ["explanation"],
        }[activity]
        k += 1
        sid = f"van-1-{k:06d}"
        t = datetime(day.year, day.month, day.day, 10, 0, tzinfo=JST).astimezone(UTC)
        add(
            "stop.open",
            {
                "stop_id": sid,
                "activity": activity,
                "site_id": "s",
                "site_name": "会場",
                "district_id": rng.choice(districts),
                "van_id": "van-1",
                "date": day.isoformat(),
                "window": "10:00-12:00",
                "operator_id": "op001",
                "services": offered,
                "planned": True,
            },
            t,
        )
        for _ in range(rng.randint(4, 14)):
            t += timedelta(minutes=1)
            cat = rng.choice(offered)
            typ = next(x for x, c in SERVICE_RECORD_TYPES.items() if c == cat)
            r = add(typ, {"stop_id": sid, "people": 1, "amount": 300, "payment": "cash"}, t)
            roll = rng.random()
            if roll < 0.005:
                add(typ, {"stop_id": sid, "people": 2}, t + timedelta(seconds=5), r.id)
            elif roll < 0.01:
                add(VOID, {"reason": "取消", "target": r.id}, t + timedelta(seconds=5), r.id)
        add("stop.close", {"stop_id": sid, "closed_at": "12:00"}, t + timedelta(minutes=5))
    with write(db):
        for r in chain:
            insert_record(db, r)
    db.close()
    return len(chain)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        n = build(d / "hub.db", args.records)
        db = connect(d / "hub.db")
        t0 = time.perf_counter()
        report = build_report(db, Period.fiscal_year(2024))
        t1 = time.perf_counter()
        render_report(report, d / "r.pdf")
        t2 = time.perf_counter()
        write_csv(report, d / "r.csv")
        t3 = time.perf_counter()
        write_xlsx(report, d / "r.xlsx")
        t4 = time.perf_counter()
        sessions = report.summary_line("sessions").value
        print(f"records: {n:,}  sessions (回): {sessions:,}")
        print(f"read + count + build report: {t1 - t0:.2f} s")
        print(f"PDF (table + charts):        {t2 - t1:.2f} s")
        print(f"CSV:                         {t3 - t2:.2f} s")
        print(f"XLSX:                        {t4 - t3:.2f} s")
        print(f"total:                       {t4 - t0:.2f} s  (target < 3 s)")


if __name__ == "__main__":
    main()
