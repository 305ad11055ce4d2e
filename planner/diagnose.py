"""Conflicts named in words a coordinator can act on: before solving (:func:`precheck`),
after an infeasible solve (:func:`diagnose`, by the elastic model), and the disaster
sessions early voting takes the day of (a note on every plan and explanation)."""

from __future__ import annotations

from collections import defaultdict
from datetime import date

import pulp

from planner.inputs import (
    ACTIVITY_DISASTER,
    ACTIVITY_REGULAR,
    ACTIVITY_RESERVATION,
    ACTIVITY_VOTING,
    PinnedEvent,
    PlanInput,
)
from planner.model import Model, build
from planner.solvers import quiet_stdout


def jp_date(d: date) -> str:
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
                f"{dist.name}は{pol.horizon_days}日間の計画期間({jp_date(pol.horizon_start)}〜{jp_date(pol.horizon_end)})に"
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
                    f"予約訪問「{e.label or e.id}」({jp_date(e.date_from)}〜{jp_date(e.date_to)}、"
                    f"{data.site(e.site_ids[0]).name})を入れられる日と時間帯がありません"
                    "(会場の利用可能曜日・時間、災害対応や期日前投票の日、整備日を確認してください)"
                )
    by_slot: dict[tuple[str, date, int], int] = defaultdict(int)
    for k in model.x:
        by_slot[k[:3]] += 1
    for skey, slot in model.slots.items():
        if slot.kind == ACTIVITY_DISASTER and by_slot.get(skey, 0) == 0:
            reasons.append(
                f"{jp_date(slot.day)} {slot.window.label} の災害対応の受付を行える会場がありません"
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
            return f"予約訪問「{e.label or e.id}」({jp_date(e.date_from)}〜{jp_date(e.date_to)})"
    if family == "pins":
        for n, pin in enumerate(data.pins, start=1):
            tag = "".join(ch if ch.isalnum() else "_" for ch in f"pin_{n}_{pin.site_id}_")
            if name.startswith(tag):
                return f"固定した訪問({jp_date(pin.date)} {pin.window.label} {data.site(pin.site_id).name})"
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
        with quiet_stdout():
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
                        f"{jp_date(v.date_from)}は期日前投票({v.label or v.id})の日のため、"
                        f"災害対応({e.label or e.id})の受付はこの日ありません",
                    )
                )
    return out
