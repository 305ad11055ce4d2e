"""Planner benchmark (run by hand, not part of the test suite).

    .venv/bin/python benchmarks/bench_planner.py [--quick] [--out results.json]

Cases (synthetic instances from ``planner.synthetic``, Iwaki's 13 districts):

1. Iwaki-size month: 52 sites, 1 van, 22 working days, 2 windows. Target: proven
   gap ≤ 0.1% in ≤ 10 s.
2. Large quarter: 300 sites, 3 vans, 62 working days, an early-voting day, a
   ten-day disaster window and two reservations pinned. Targets: a feasible plan
   within 30 s (build + solve), a reported gap ≤ 2% within 120 s.
3. Re-plan the rest of the Iwaki month after a disaster (5 days, 4 halls, from the
   11th working day), keeping the first plan's announced visits. Target: ≤ 5 s,
   gap ≤ 0.1% (the gap is computed on the objective with its constant).
4. "Prefecture": 1,000 sites, 10 vans, 3 months (62 working days), voting, disaster
   and reservations pinned. Target: a feasible plan within 120 s, its proven gap
   reported.
5. Growth of time with sites (22 days) and with days (52 sites), 1 van.

``--driving exact|approximate`` chooses the objective's driving model for every case
(``[objective] driving``; default: the planner's default, "exact"). Run the two
one at a time and note the load average: the machine may be shared.

Each case runs with HiGHS and with CBC. Seconds are wall-clock, model building
included ("total") and the solver alone ("solve").
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dataclasses import replace

from planner.inputs import KeptVisit, PinnedEvent, Window
from planner.model import build
from planner.solve import SolverFailed, solve
from planner.synthetic import instance

DRIVING = "exact"


def run_replan(time_limit: float, gap: float) -> dict[str, Any]:
    """Plan the Iwaki month, then re-plan from its 11th working day after a disaster."""
    data = instance(n_sites=52, n_days=22, n_vans=1, driving=DRIVING)
    first = solve(build(data), time_limit=120, gap=1e-3)
    keep = tuple(
        KeptVisit(
            date.fromisoformat(v.date),
            v.van_id,
            Window.parse(v.window),
            v.site_id,
            v.activity,
            v.event_id or None,
        )
        for v in first.visits
    )
    cut = data.days[10].date
    halls = tuple(s.id for s in data.sites if len(s.open_weekdays) == 5)[:4]
    flood = PinnedEvent(
        "flood",
        "disaster",
        cut,
        data.days[14].date,
        "り災証明書出張申請受付",
        "van-1",
        site_ids=halls,
    )
    again = replace(data, policy=replace(data.policy, replan_from=cut), keep=keep, events=(flood,))
    t0 = time.perf_counter()
    model = build(again)
    built = time.perf_counter() - t0
    row: dict[str, Any] = {
        "case": "replan-disaster",
        "solver": "highs",
        "driving": DRIVING,
        "sites": 52,
        "per_district": "all",
        "days": 22,
        "vans": 1,
        "variables": len(model.x),
        "constraints": len(model.prob.constraints()),
        "build_s": round(built, 2),
        "time_limit": time_limit,
        "gap_target": gap,
    }
    plan = solve(model, time_limit=time_limit, gap=gap)
    row.update(
        status=plan.solver.status,
        solve_s=round(plan.solver.seconds, 2),
        total_s=round(built + plan.solver.seconds, 2),
        gap=plan.solver.gap,
        objective=round(plan.solver.objective, 3),
        bound=None if plan.solver.bound is None else round(plan.solver.bound, 3),
        visits=len(plan.visits),
        driving_minutes=plan.to_dict()["driving_minutes"]["total"],
        moved=len(plan.moved),
        first_plan={"status": first.solver.status, "gap": first.solver.gap},
    )
    return row


def run_case(case: str, solver: str, time_limit: float, gap: float, **kw: Any) -> dict[str, Any]:
    """Build and solve one instance; return its figures."""
    t0 = time.perf_counter()
    data = instance(**kw, driving=DRIVING)
    model = build(data)
    built = time.perf_counter() - t0
    row: dict[str, Any] = {
        "case": case,
        "solver": solver,
        "driving": DRIVING,
        "sites": kw.get("n_sites"),
        "per_district": kw.get("sites_per_district", 0) or "all",
        "drop_dominated": kw.get("drop_dominated", True),
        "days": kw.get("n_days"),
        "vans": kw.get("n_vans", 1),
        "variables": len(model.x),
        "constraints": len(model.prob.constraints()),
        "build_s": round(built, 2),
        "time_limit": time_limit,
        "gap_target": gap,
    }
    log = Path(tempfile.mkdtemp()) / "highs.log" if solver == "highs" else None
    try:
        plan = solve(
            model, solver=solver, time_limit=max(1.0, time_limit), gap=gap, progress_log=log
        )
    except SolverFailed:
        row.update(status="no plan", solve_s=None, total_s=None, gap=None, objective=None)
        return row
    row.update(
        status=plan.solver.status,
        solve_s=round(plan.solver.seconds, 2),
        total_s=round(built + plan.solver.seconds, 2),
        gap=plan.solver.gap,
        objective=round(plan.solver.objective, 3),
        bound=None if plan.solver.bound is None else round(plan.solver.bound, 3),
        visits=len(plan.visits),
        driving_minutes=plan.to_dict()["driving_minutes"]["total"],
    )
    if log is not None:
        # When HiGHS had its first plan, as wall clock from the start of the build: the
        # model's hand-over to HiGHS (the solve's wall time less HiGHS's own run time)
        # plus the time on the log's first line with a plan.
        first = first_plan_seconds(log.read_text(errors="replace"))
        handover = plan.solver.seconds - model.prob.solverModel.getRunTime()
        if first is not None:
            row["first_plan_s"] = round(built + max(0.0, handover) + first, 2)
    return row


_LOG_ROW = re.compile(r"^\s*\S?\s+\d+\s+\d+\s+\d+\s+[\d.]+%\s+(\S+)\s+(\S+)\s+.*?([\d.]+)s\s*$")


def first_plan_seconds(log: str) -> float | None:
    """Seconds into HiGHS's run of the first progress line that has a plan."""
    for line in log.splitlines():
        m = _LOG_ROW.match(line)
        if m and "inf" not in m.group(2).lower():
            return float(m.group(3))
    return None


def fmt_gap(g: float | None) -> str:
    """Gap as a percentage."""
    return "–" if g is None else f"{100 * g:.3f}%"


LOAD_START = list(os.getloadavg())


def main() -> None:
    """Run the cases and print a Markdown table."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="only the Iwaki month")
    ap.add_argument(
        "--tiny", action="store_true", help="one 13-site, 8-day case only (the test suite's run)"
    )
    ap.add_argument("--out", default="benchmarks/results.json")
    ap.add_argument("--solvers", default="highs,cbc")
    ap.add_argument("--cases", default="", help="only these cases (comma-separated)")
    ap.add_argument("--driving", default="exact", choices=["exact", "approximate"])
    args = ap.parse_args()
    global DRIVING
    DRIVING = args.driving
    solvers = args.solvers.split(",")
    rows: list[dict[str, Any]] = []

    wanted = set(filter(None, args.cases.split(",")))

    def run(case: str, *a: Any, **kw: Any) -> dict[str, Any] | None:
        return None if wanted and case not in wanted else run_case(case, *a, **kw)

    def record(row: dict[str, Any] | None) -> None:
        if row is None:
            return
        rows.append(row)
        print(json.dumps(row, ensure_ascii=False), flush=True)

    if args.tiny:
        wanted = {"tiny"}
        for s in solvers:
            record(run("tiny", s, 20, 1e-3, n_sites=13, n_days=8, n_vans=1))
        args.quick = True
    iwaki = dict(n_sites=52, n_days=22, n_vans=1)
    for s in solvers:
        record(run("iwaki-month", s, 60, 1e-3, **iwaki))
    if not args.quick and (not wanted or "replan-disaster" in wanted):
        record(run_replan(30, 1e-3))
    if not args.quick and (not wanted or "prefecture" in wanted):
        pref: dict[str, Any] = dict(
            n_sites=1000,
            n_days=62,
            n_vans=10,
            events=True,
            min_visits=3,
            max_visits=9,
            sites_per_district=1,
        )
        t0 = time.perf_counter()
        build(instance(**pref, driving=DRIVING))
        built = time.perf_counter() - t0
        record(run_case("prefecture", "highs", max(1.0, 120 - built), 1e-3, **pref))
    if not args.quick:
        large: dict[str, Any] = dict(
            n_sites=300, n_days=62, n_vans=3, events=True, min_visits=3, max_visits=9
        )
        for s in solvers:
            # Feasible within 30 s: the solver gets what model building leaves of 30 s.
            t0 = time.perf_counter()
            if not wanted or {"large-30s", "large-120s"} & wanted:
                build(instance(**large, driving=DRIVING))
            built = time.perf_counter() - t0
            record(run("large-30s", s, 30 - built, 0.02, **large))
            record(run("large-120s", s, 120 - built, 0.02, **large))
        # The same without dropping dominated sites (every site a candidate in every slot),
        # and with the optional restriction to 3 sites per district.
        record(run("large-nodrop-120s", "highs", 110, 0.02, **large, drop_dominated=False))
        record(run("large-k3-30s", "highs", 28, 0.02, **large, sites_per_district=3))
        for n in (13, 26, 52, 104, 208):
            for s in solvers:
                record(run("growth-sites", s, 60, 1e-3, n_sites=n, n_days=22))
        for d in (11, 22, 44, 66):
            for s in solvers:
                record(run("growth-days", s, 60, 1e-3, n_sites=52, n_days=d))
    meta = {
        "machine": platform.platform(),
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "driving": DRIVING,
        "loadavg_start": LOAD_START,
        "loadavg_end": list(os.getloadavg()),
    }
    Path(args.out).write_text(
        json.dumps({"meta": meta, "rows": rows}, ensure_ascii=False, indent=1)
    )
    print()
    print(
        f"Measured {meta['when']} on {meta['machine']}, {meta['cpus']} CPUs, Python {meta['python']}"
    )
    print()
    print(
        "| case | driving | solver | sites | days | vans | vars | build s | solve s | total s | status | gap |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['case']} | {r['driving']} | {r['solver']} | {r['sites']} ({r['per_district']}) | {r['days']} "
            f"| {r['vans']} | "
            f"{r['variables']} | {r['build_s']} | {r['solve_s']} | {r['total_s']} | "
            f"{r['status']} | {fmt_gap(r['gap'])} |"
        )


if __name__ == "__main__":
    main()
