"""Solve a built model and read the plan back; explain an infeasible policy in words.

``solve(model, solver="highs"|"cbc", time_limit=…, gap=…) -> Plan``. Before calling
the solver, :func:`planner.diagnose.precheck` looks for conflicts that can be named
directly (a district that cannot fit its minimum visits at its spacing, a reservation
with no possible day, …). If the solver still finds the model infeasible, the elastic
variant of the model (every rule family with a slack) is solved to find which rules
have to give (:func:`planner.diagnose.diagnose`); the coordinator gets those rules, in
Japanese, as :class:`InfeasiblePolicy` — never a raw solver status. The engines are in
:mod:`planner.solvers`.
"""

from __future__ import annotations

import itertools
import math
import tempfile
import time
import uuid
from collections import defaultdict
from datetime import UTC, date, datetime
from pathlib import Path

import pulp

from odekake.errors import OdekakeError
from planner.diagnose import diagnose, dropped_disaster_sessions, precheck
from planner.explain import explain
from planner.inputs import ACTIVITY_DISASTER, ACTIVITY_REGULAR, ACTIVITY_VOTING, PlanInput, hhmm
from planner.model import Key, Model, build, settle_sites
from planner.plan import DistrictTotal, Plan, PlanVisit, SolverReport
from planner.solvers import SOLVERS, cbc_bound, honest_status, quiet_stdout, solve_highs, solver_for
from planner.travel import route_driving


class InfeasiblePolicy(OdekakeError):
    """The policy's rules cannot all hold; ``reasons`` says which, in plain Japanese."""

    def __init__(self, reasons: list[str]) -> None:
        self.reasons = list(reasons)
        super().__init__("計画を作れません。次の条件が同時には満たせません: " + " / ".join(reasons))


class SolverFailed(OdekakeError):
    """The solver stopped without any plan (e.g. the time limit was too short)."""


def solve(
    model: Model,
    solver: str = "highs",
    time_limit: float | None = 60.0,
    gap: float | None = 1e-4,
    progress_log: Path | None = None,
) -> Plan:
    """Solve the model and return the plan.

    Args:
        model: From :func:`planner.model.build`.
        solver: ``"highs"`` (highspy) or ``"cbc"`` (the CBC bundled with PuLP).
        time_limit: Seconds before the solver stops with its best plan so far.
        gap: Relative gap at which the solver may stop (0.001 = 0.1%).
        progress_log: HiGHS only: write the solver's log here while it runs.

    Raises:
        InfeasiblePolicy: The rules conflict; the reasons name them.
        SolverFailed: No plan was found within the time limit.
    """
    if solver not in SOLVERS:
        raise OdekakeError(f"ソルバーは {' / '.join(SOLVERS)} から選びます({solver})")
    reasons = precheck(model)
    if reasons:
        raise InfeasiblePolicy(reasons)
    prob = model.prob
    # When a disaster makes district minimums soft, first try them as hard rules: the
    # solver then finds good plans much sooner; only if that is infeasible are
    # shortfalls allowed (at their large penalty).
    soft = list(model.shortfall.values())
    caps = [v.upBound for v in soft]
    for v in soft:
        v.upBound = 0
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "cbc.log"
        with quiet_stdout():
            if solver == "highs":
                status = solve_highs(model, time_limit, gap, progress_log)
            else:
                status = prob.solve(solver_for(solver, time_limit, gap, log))
        if soft and (
            status == pulp.LpStatusInfeasible or prob.sol_status == pulp.LpSolutionInfeasible
        ):
            for v, cap in zip(soft, caps, strict=True):
                v.upBound = cap
            left = (
                None
                if time_limit is None
                else max(1.0, time_limit - (time.perf_counter() - started))
            )
            with quiet_stdout():
                if solver == "highs":
                    status = solve_highs(model, left, gap, progress_log)
                else:
                    status = prob.solve(solver_for(solver, left, gap, log))
        seconds = time.perf_counter() - started
        log_text = log.read_text(errors="replace") if log.exists() else ""
    sol_status = prob.sol_status
    if status == pulp.LpStatusInfeasible or sol_status == pulp.LpSolutionInfeasible:
        raise InfeasiblePolicy(diagnose(model.data))
    if sol_status not in (pulp.LpSolutionOptimal, pulp.LpSolutionIntegerFeasible):
        raise SolverFailed(
            f"制限時間({time_limit}秒)内に計画が見つかりませんでした。--time-limit を延ばしてください"
        )
    settle_sites(model)
    objective = float(pulp.value(prob.objective) or 0.0)
    # The plan is judged with its exact driving (the model may overestimate the driving
    # of a pair of stops it never needs to consider; see planner.model.add_driving).
    # (Approximate driving: the objective is the model's own, the one its bound is for.)
    pol = model.data.policy
    if pol.driving == "exact":
        rate = pol.weights.travel_per_minute
        objective += float(pulp.value(model.driving) or 0.0) - rate * driving_minutes(model)
    bound: float | None
    note = ""
    if solver == "highs":
        info = prob.solverModel.getInfo()
        constant = float(prob.objective.constant) if prob.objective is not None else 0.0
        # PuLP hands HiGHS the negated objective (HiGHS minimises) without the constant.
        raw = float(info.mip_dual_bound)
        bound = (-raw if prob.sense == pulp.LpMaximize else raw) + constant
        state = "optimal" if sol_status == pulp.LpSolutionOptimal else "feasible"
        if not math.isfinite(bound):
            bound, note = None, "上界(bound)が得られませんでした"
    else:
        bound, state, note = cbc_bound(log_text, objective)
        if sol_status == pulp.LpSolutionOptimal and state != "optimal":
            state = "optimal"
            bound = objective if bound is None else bound
    gap_value = None
    if bound is not None:
        gap_value = max(0.0, bound - objective) / max(abs(objective), 1e-9)
    state = honest_status(state, gap_value, gap)
    report = SolverReport(
        name=solver,
        status=state,
        objective=objective,
        bound=bound,
        gap=gap_value,
        seconds=seconds,
        note=note,
        driving_mode=model.data.policy.driving,
    )
    return read_plan(model, report)


def driving_minutes(model: Model) -> int:
    """Minutes driven by the solved plan: each van-day depot → stops by window → depot."""
    data = model.data
    by_vd: dict[tuple[str, date], list[Key]] = defaultdict(list)
    for k, v in model.x.items():
        if _value(v) > 0.5:
            by_vd[(k[0], k[1])].append(k)
    total = 0
    for (van_id, _d), keys in by_vd.items():
        depot = data.van(van_id).depot
        keys.sort(key=lambda k: model.slots[k[:3]].window.start)
        stops = [depot, *(k[3] for k in keys), depot]
        total += sum(data.minutes(a, b) for a, b in itertools.pairwise(stops))
    return total


def _value(var: pulp.LpVariable | None) -> float:
    return 0.0 if var is None else float(var.varValue or 0.0)


def read_plan(model: Model, report: SolverReport) -> Plan:
    """Turn the solved variables into a :class:`Plan`."""
    data = model.data
    pol = data.policy
    chosen: list[Key] = [k for k, v in model.x.items() if _value(v) > 0.5]
    districts = {d.id: d for d in data.districts}
    events = {e.id: e for e in data.events}
    by_vd: dict[tuple[str, date], list[Key]] = defaultdict(list)
    for k in chosen:
        by_vd[(k[0], k[1])].append(k)
    rank: dict[str, int] = defaultdict(int)
    visits: list[PlanVisit] = []
    for (van_id, d), keys in sorted(by_vd.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        keys.sort(key=lambda k: model.slots[k[:3]].window.start)
        for order, k in enumerate(keys, start=1):
            slot = model.slots[k[:3]]
            site = data.site(k[3])
            activity, event_id = k[4], k[5]
            ev = events.get(event_id)
            expected = 0.0
            if activity == ACTIVITY_REGULAR:
                j = rank[site.district_id]
                rank[site.district_id] += 1
                factor = pol.diminishing[min(j, len(pol.diminishing) - 1)]
                expected = data.demand[site.district_id] * factor
            if activity == ACTIVITY_REGULAR:
                services = pol.services
            elif activity == ACTIVITY_VOTING:
                services = ("voting",)
            elif activity == ACTIVITY_DISASTER:
                services = ("disaster",)
            else:
                services = ev.services if ev and ev.services else ("consultation", "frailty")
            visits.append(
                PlanVisit(
                    date=d.isoformat(),
                    van_id=van_id,
                    window=slot.window.label,
                    start=hhmm(slot.window.start),
                    end=hhmm(slot.window.end),
                    site_id=site.id,
                    site_name=site.name,
                    district_id=site.district_id,
                    district_name=districts[site.district_id].name,
                    activity=activity,
                    arrive=hhmm(slot.window.start - pol.setup_minutes),
                    depart=hhmm(slot.window.end + pol.teardown_minutes),
                    order=order,
                    opened_day=slot.opened_day,
                    travel_minutes=0,  # set by route_driving below
                    services=tuple(services),
                    event_id=event_id,
                    label=(ev.label if ev else ""),
                    expected_users=expected,
                )
            )
    # Orders, legs and each van-day's driving from the one travel rule (planner.travel).
    visits, driving = route_driving(visits, data.minutes)
    totals = []
    notes = list(data.notes) + [text for _e, text in dropped_disaster_sessions(data)]
    for dist in data.districts:
        days = {
            v.date for v in visits if v.district_id == dist.id and v.activity == ACTIVITY_REGULAR
        }
        stops = [v for v in visits if v.district_id == dist.id and v.activity == ACTIVITY_REGULAR]
        short = round(_value(model.shortfall.get(dist.id)))
        if short:
            notes.append(
                f"{dist.name}: 災害対応を優先したため、最低訪問回数({dist.min_visits}回)に{short}回足りません"
            )
        totals.append(
            DistrictTotal(
                district_id=dist.id,
                name=dist.name,
                visits=len(days),
                stops=len(stops),
                expected_users=sum(v.expected_users for v in stops),
                min_visits=dist.min_visits,
                max_visits=dist.max_visits,
                shortfall=short,
            )
        )
    moved = []
    for kept, key in model.announced:
        if key is None or _value(model.x[key]) < 0.5:
            moved.append(
                {
                    "date": kept.date.isoformat(),
                    "van_id": kept.van_id,
                    "window": kept.window.label,
                    "site_id": kept.site_id,
                    "activity": kept.activity,
                }
            )
    if moved:
        notes.append(
            f"告知済みの訪問のうち {len(moved)} 件を変更しました(日付・車両・時間帯・会場は「変更した告知済みの訪問」の一覧にあります)"
        )
    plan = Plan(
        id=str(uuid.uuid4()),
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
        horizon_start=pol.horizon_start.isoformat(),
        horizon_end=pol.horizon_end.isoformat(),
        visits=visits,
        districts=totals,
        solver=report,
        moved=moved,
        notes=notes,
        replan_from=None if pol.replan_from is None else pol.replan_from.isoformat(),
        driving=driving,
        travel_model=data.travel_model.to_dict() if data.travel_model is not None else {},
    )
    plan.explanations = explain(model, plan)
    return plan


def plan(
    data: PlanInput,
    solver: str = "highs",
    time_limit: float | None = 60.0,
    gap: float | None = 1e-4,
) -> Plan:
    """Build and solve in one call."""
    return solve(build(data), solver=solver, time_limit=time_limit, gap=gap)
