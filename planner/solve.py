"""Solve a built model and read the plan back; explain an infeasible policy in words.

``solve(model, solver="highs"|"cbc", time_limit=…, gap=…) -> Plan``. Before calling
the solver, :func:`precheck` looks for conflicts that can be named directly (a
district that cannot fit its minimum visits at its spacing, a reservation with no
possible day, …). If the solver still finds the model infeasible, the elastic
variant of the model (every rule family with a slack) is solved to find which rules
have to give; the coordinator gets those rules, in Japanese, as
:class:`InfeasiblePolicy` — never a raw solver status.
"""

from __future__ import annotations

import contextlib
import itertools
import math
import os
import re
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pulp
from pulp.apis.coin_api import PULP_CBC_CMD

from odekake.errors import OdekakeError
from planner.inputs import (
    ACTIVITY_DISASTER,
    ACTIVITY_REGULAR,
    ACTIVITY_RESERVATION,
    ACTIVITY_VOTING,
    PinnedEvent,
    PlanInput,
    hhmm,
)
from planner.model import Key, Model, build, settle_sites
from planner.plan import DistrictTotal, Plan, PlanVisit, SolverReport
from planner.travel import route_driving

SOLVERS = ("highs", "cbc")


@contextlib.contextmanager
def _quiet_stdout() -> Iterator[None]:
    """Silence the solver's own banner (HiGHS prints it on fd 1 even with msg=False)."""
    try:
        sys.stdout.flush()
        saved = os.dup(1)
    except (OSError, ValueError):
        yield
        return
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 1)
            yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)


class InfeasiblePolicy(OdekakeError):
    """The policy's rules cannot all hold; ``reasons`` says which, in plain Japanese."""

    def __init__(self, reasons: list[str]) -> None:
        self.reasons = list(reasons)
        super().__init__("計画を作れません。次の条件が同時には満たせません: " + " / ".join(reasons))


class SolverFailed(OdekakeError):
    """The solver stopped without any plan (e.g. the time limit was too short)."""


def _jp(d: date) -> str:
    return f"{d.month}月{d.day}日"


def precheck(model: Model) -> list[str]:
    """Conflicts that can be named without solving."""
    data = model.data
    pol = data.policy
    reasons = list(model.unreachable)
    disaster = any(e.kind == ACTIVITY_DISASTER for e in data.events)
    days_of: dict[str, list[date]] = defaultdict(list)
    for did, d in model.visit:
        days_of[did].append(d)
    need_total = 0
    no_day: list[str] = []
    for dist in data.districts:
        if dist.min_visits == 0 or disaster:
            continue
        days = sorted(days_of.get(dist.id, []))
        need_total += dist.min_visits
        if not days:
            no_day.append(f"{dist.name}(最低{dist.min_visits}回)")
            continue
        fit, last = 0, None
        for d in days:
            if last is None or (d - last).days >= dist.min_days_between:
                fit, last = fit + 1, d
        if fit < dist.min_visits:
            reasons.append(
                f"{dist.name}は{pol.horizon_days}日間の計画期間({_jp(pol.horizon_start)}〜{_jp(pol.horizon_end)})に"
                f"最低{dist.min_visits}回の訪問が必要ですが、訪問の間を{dist.min_days_between}日以上あけると"
                f"訪問できる日({len(days)}日)には最大{fit}回しか入りません"
            )
    if no_day:
        # Said once, however many districts it concerns.
        reasons.append(
            f"{'、'.join(no_day)}は最低訪問回数がありますが、計画期間中に使える会場・日・時間帯がありません"
            "(会場の利用可能曜日と時間、受付時間帯、勤務時間内に往復できるかを確認してください)"
        )
    regular_slots = sum(1 for s in model.slots.values() if s.kind == ACTIVITY_REGULAR) + sum(
        1 for s in model.slots.values() if s.kind == "kept"
    )
    if need_total > regular_slots:
        reasons.append(
            f"各地区の最低訪問回数の合計({need_total}回)が、計画期間の受付枠の数({regular_slots}枠)を超えています"
        )
    frozen = pol.replan_from
    for e in data.events:
        if e.kind == ACTIVITY_RESERVATION:
            done = frozen is not None and any(
                k.event_id == e.id and k.date < frozen for k in data.keep
            )
            windows = {w for day in data.days for w in day.windows}
            if not done and e.window is not None and e.window not in windows:
                reasons.append(
                    f"予約訪問「{e.label or e.id}」の時間帯 {e.window.label} は受付時間帯"
                    f"({'、'.join(w.label for w in sorted(windows, key=lambda w: w.start))})"
                    "のどれでもありません"
                )
            elif not done and not any(k[5] == e.id for k in model.x):
                reasons.append(
                    f"予約訪問「{e.label or e.id}」({_jp(e.date_from)}〜{_jp(e.date_to)}、"
                    f"{data.site(e.site_ids[0]).name})を入れられる日と時間帯がありません"
                    "(会場の利用可能曜日・時間、災害対応や期日前投票の日、整備日を確認してください)"
                )
    by_slot: dict[tuple[str, date, int], int] = defaultdict(int)
    for k in model.x:
        by_slot[k[:3]] += 1
    for skey, slot in model.slots.items():
        if slot.kind == ACTIVITY_DISASTER and by_slot.get(skey, 0) == 0:
            reasons.append(
                f"{_jp(slot.day)} {slot.window.label} の災害対応の受付を行える会場がありません"
                "(会場の利用可能曜日・時間と勤務時間内の往復を確認してください)"
            )
    return reasons


def _family_reason(model: Model, family: str, name: str) -> str:
    data = model.data
    for dist in data.districts:
        tag = "".join(ch if ch.isalnum() else "_" for ch in dist.id)
        if family == "min_visits" and name == f"min_visits_{tag}":
            return f"{dist.name}の最低訪問回数({dist.min_visits}回)"
        if family == "max_visits" and name == f"max_visits_{tag}":
            return f"{dist.name}の訪問回数の上限({dist.max_visits}回)"
        if family == "spacing" and name.startswith(f"spacing_{tag}_"):
            return f"{dist.name}の訪問間隔({dist.min_days_between}日以上)"
    for e in data.events:
        tag = "".join(ch if ch.isalnum() else "_" for ch in e.id)
        if family == "reservation" and name == f"reservation_{tag}":
            return f"予約訪問「{e.label or e.id}」({_jp(e.date_from)}〜{_jp(e.date_to)})"
    if family == "pins":
        for n, pin in enumerate(data.pins, start=1):
            tag = "".join(ch if ch.isalnum() else "_" for ch in f"pin_{n}_{pin.site_id}_")
            if name.startswith(tag):
                return f"固定した訪問({_jp(pin.date)} {pin.window.label} {data.site(pin.site_id).name})"
    if family == "pinned":
        return "固定された予定(期日前投票の停車、または確定済みの訪問)"
    if family == "required_slot":
        return "災害対応の受付(期間中の毎日の受付)"
    return name


def diagnose(data: PlanInput, time_limit: float = 30.0, rounds: int = 4) -> list[str]:
    """Name the rules that conflict, by relaxing rule families with slacks.

    The elastic model (every min/max, spacing, reservation and pinned rule with a
    slack) is solved for the least total violation; the rules it had to relax are
    reported, then made hard again and the search repeated, so that the other side
    of the conflict is named too (e.g. both districts competing for the same days).
    """
    reasons: list[str] = []
    hard: set[tuple[str, str]] = set()
    for _ in range(rounds):
        elastic = build(data, elastic=True)
        for family, name in hard:
            elastic.slack[family][name].upBound = 0
        with _quiet_stdout():
            elastic.prob.solve(pulp.HiGHS(msg=False, timeLimit=time_limit))
        if elastic.prob.status != pulp.LpStatusOptimal:
            break
        relaxed = [
            (family, name)
            for family, slacks in elastic.slack.items()
            for name, var in slacks.items()
            if (var.varValue or 0) > 1e-6
        ]
        if not relaxed:
            break
        for family, name in relaxed:
            text = _family_reason(elastic, family, name)
            if text not in reasons:
                reasons.append(text)
        hard.update(relaxed)
    if not reasons:
        reasons.append("ルールの組み合わせ(受付時間帯と移動時間、会場の利用可能時間など)")
    return reasons


class _DeadlineHiGHS(pulp.HiGHS):  # type: ignore[misc]
    """HiGHS (highspy) whose time limit is a wall-clock deadline from its creation.

    Handing a large model to HiGHS takes seconds (PuLP builds it column by column); the
    time limit HiGHS is given when it starts running is what is left, so a solve
    asked for N seconds takes about N seconds, hand-over included.
    """

    def __init__(
        self,
        *,
        timeLimit: float | None = None,  # PuLP's name
        monotonic: Callable[[], float] = time.monotonic,
        **kw: object,
    ) -> None:
        super().__init__(timeLimit=timeLimit, **kw)
        self.monotonic = monotonic
        self.deadline = None if timeLimit is None else monotonic() + timeLimit

    def left(self) -> float | None:
        """Seconds left before the deadline (at least 1: HiGHS still returns its plan)."""
        if self.deadline is None:
            return None
        return max(1.0, self.deadline - self.monotonic())

    def callSolver(self, lp: pulp.LpProblem) -> None:
        left = self.left()
        if left is not None:
            lp.solverModel.setOptionValue("time_limit", float(left))
        lp.solverModel.run()


class _StartedHiGHS(_DeadlineHiGHS):
    """HiGHS (highspy) given a feasible starting solution, by variable name."""

    def __init__(self, start: dict[str, float], **kw: object) -> None:
        super().__init__(**kw)  # type: ignore[arg-type]
        self.start = start

    def callSolver(self, lp: pulp.LpProblem) -> None:
        import highspy

        sol = highspy.HighsSolution()
        sol.col_value = [float(self.start.get(v.name, 0.0)) for v in lp.variables()]
        sol.value_valid = True
        lp.solverModel.setSolution(sol)
        super().callSolver(lp)


def _highs(time_limit: float | None, gap: float | None, progress: Path | None) -> pulp.HiGHS:
    """A HiGHS engine; with ``progress`` its log (one line per B&B step with the bound,
    the best plan and the gap) goes to that file, which the console reads as progress."""
    if progress is None:
        return _DeadlineHiGHS(msg=False, timeLimit=time_limit, gapRel=gap)
    return _DeadlineHiGHS(
        msg=True,
        timeLimit=time_limit,
        gapRel=gap,
        log_to_console=False,
        log_file=str(progress),
    )


def _solve_highs(
    model: Model, time_limit: float | None, gap: float | None, progress: Path | None = None
) -> int:
    """Solve with HiGHS in two phases when the model has driving legs.

    Exact driving makes good plans harder to find. Phase 1 solves the same model with
    every leg at 0 (each stop charged its round trip: an easier model whose plans are
    all feasible here) for at most a third of the time; its plan is handed to phase 2,
    the full model, as a starting solution. The bound and gap come from phase 2 alone.
    """
    prob = model.prob
    if not model.legs or model.patterns:
        # (Day patterns price the usual two-slot days well on their own; the few
        # legs left, on days of three stops or more, need no first phase.)
        return int(prob.solve(_highs(time_limit, gap, progress)))
    started = time.perf_counter()
    first = None if time_limit is None else max(1.0, time_limit / 3)
    for v in model.legs:
        v.upBound = 0
    try:
        status = prob.solve(_highs(first, gap, progress))
    finally:
        for v in model.legs:
            v.upBound = 1
    if status == pulp.LpStatusInfeasible or prob.sol_status == pulp.LpSolutionInfeasible:
        return int(status)
    left = None if time_limit is None else max(1.0, time_limit - (time.perf_counter() - started))
    if prob.sol_status in (pulp.LpSolutionOptimal, pulp.LpSolutionIntegerFeasible):
        start = {v.name: float(v.varValue or 0.0) for v in prob.variables()}
        return int(prob.solve(_StartedHiGHS(start, msg=False, timeLimit=left, gapRel=gap)))
    return int(prob.solve(_highs(left, gap, progress)))


def _solver(name: str, time_limit: float | None, gap: float | None, log: Path) -> pulp.LpSolver:
    if name == "highs":
        return _highs(time_limit, gap, None)
    if name == "cbc":
        # The bundled CBC binary, driven through COIN_CMD (PULP_CBC_CMD is deprecated
        # for PuLP 4.0); its log is kept to read the proven bound.
        return pulp.COIN_CMD(
            path=PULP_CBC_CMD.pulp_cbc_path,
            msg=False,
            timeLimit=time_limit,
            gapRel=gap,
            logPath=str(log),
        )
    raise OdekakeError(f"ソルバーは {' / '.join(SOLVERS)} から選びます({name})")


_CBC_NUM = r"(-?\d+(?:\.\d*)?(?:[eE][-+]?\d+)?)"


def _cbc_bound(log: str, objective: float) -> tuple[float | None, str, str]:
    """(bound, status word, note) from a CBC log, in the model's own objective sense.

    CBC ends its log with ``Objective value: X`` and, when it stopped early,
    ``Upper bound: Y`` (maximisation) or ``Lower bound: Y`` (minimisation), both in the
    problem's own sense; PuLP keeps constant terms outside the solver, so the bound is
    shifted by the same offset as the objective.
    """
    m = re.search(r"Result - (.+)", log)
    status = m.group(1).strip() if m else ""
    state = "optimal" if status.startswith("Optimal solution found") else "feasible"
    obj_m = re.search(r"Objective value:\s+" + _CBC_NUM, log)
    bound_m = re.search(r"(?:Upper|Lower) bound:\s+" + _CBC_NUM, log)
    if obj_m and bound_m:
        # Stopped early (time limit, or "within gap tolerance"): CBC prints its bound.
        offset = objective - float(obj_m.group(1))
        return float(bound_m.group(1)) + offset, state, ""
    if status == "Optimal solution found":
        return objective, "optimal", ""
    return None, "feasible", "CBCのログから上界(bound)を読み取れませんでした"


def honest_status(state: str, gap_value: float | None, target: float | None) -> str:
    """``"optimal"`` only when the gap, on the objective the plan is judged on, is within
    the target (HiGHS's default 1e-4 when none is given); otherwise ``"feasible"``.

    A solver's own word is not enough: its gap may be measured on another objective.
    """
    limit = 1e-4 if target is None else target
    if state == "optimal" and (gap_value is None or gap_value > limit + 1e-9):
        return "feasible"
    return state


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
        with _quiet_stdout():
            if solver == "highs":
                status = _solve_highs(model, time_limit, gap, progress_log)
            else:
                status = prob.solve(_solver(solver, time_limit, gap, log))
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
            with _quiet_stdout():
                if solver == "highs":
                    status = _solve_highs(model, left, gap, progress_log)
                else:
                    status = prob.solve(_solver(solver, left, gap, log))
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
        bound, state, note = _cbc_bound(log_text, objective)
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


def dropped_disaster_sessions(data: PlanInput) -> list[tuple[PinnedEvent, str]]:
    """Days of a disaster window its van spends on early voting (voting comes first):
    each disaster event with a Japanese sentence."""
    out = []
    working = {d.date for d in data.days}
    for e in data.events:
        if e.kind != ACTIVITY_DISASTER:
            continue
        van = e.van_id or data.vans[0].id
        for v in data.events:
            if (
                v.kind == ACTIVITY_VOTING
                and (v.van_id or data.vans[0].id) == van
                and e.date_from <= v.date_from <= e.date_to
                and v.date_from in working
            ):
                out.append(
                    (
                        e,
                        f"{_jp(v.date_from)}は期日前投票({v.label or v.id})の日のため、"
                        f"災害対応({e.label or e.id})の受付はこの日ありません",
                    )
                )
    return out


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
    from planner.explain import explain

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
