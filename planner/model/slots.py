"""The slots of every van-day and their candidate variables (fixed ones for voting,
disaster and kept visits), and the slot rules: at most one stop per slot, exactly one in
a required slot, fixed stops kept."""

from __future__ import annotations

from collections import defaultdict
from datetime import date

import pulp

from planner.inputs import (
    ACTIVITY_DISASTER,
    ACTIVITY_REGULAR,
    ACTIVITY_RESERVATION,
    ACTIVITY_VOTING,
    WEEKDAY_CHARS,
    KeptVisit,
    PlanInput,
    Stop,
    Van,
    hhmm,
)
from planner.model.candidates import (
    dominated_for_driving,
    pinned_sites,
    regular_sites,
    reservation_sites,
    undominated,
    useful_sites,
)
from planner.model.reach import Distances, drive_budget, reachable
from planner.model.variables import (
    Key,
    Model,
    Slot,
    SlotKey,
    distances_of,
    lp_name,
    slack_for,
    var_sum,
)


def _voting_reason(data: PlanInput, van: Van, d: date, label: str, stop: Stop) -> str:
    """Why an early-voting stop cannot be served, naming the rule that stops it."""
    site = data.site(stop.site_id)
    head = f"{d} の期日前投票({label})の {site.name} {stop.window.label}: "
    if d.weekday() not in site.open_weekdays:
        days = "".join(WEEKDAY_CHARS[i] for i in sorted(site.open_weekdays))
        return (
            head
            + f"会場はこの日({WEEKDAY_CHARS[d.weekday()]}曜日)は使えません(利用可能曜日: {days})"
        )
    if not (site.open_from <= stop.window.start and stop.window.end <= site.open_to):
        return head + f"会場の利用可能時間 {hhmm(site.open_from)}-{hhmm(site.open_to)} の外です"
    pol = data.policy
    return head + (
        f"{van.name}の勤務時間 {hhmm(van.shift_start)}-{hhmm(van.shift_end)} 内に往復できません"
        f"(行き{data.minutes(van.depot, site.id)}分・帰り{data.minutes(site.id, van.depot)}分、"
        f"準備{pol.setup_minutes}分・片付け{pol.teardown_minutes}分)"
    )


def _event_van(data: PlanInput, van_id: str | None) -> str:
    return van_id if van_id is not None else data.vans[0].id


def build_slots(model: Model) -> None:
    """Create the slots and candidate variables (fixed ones for pinned/kept visits)."""
    data = model.data
    pol = data.policy
    prob = model.prob
    day_by_date = {d.date: d for d in data.days}
    cands: dict[SlotKey, list[tuple[str, str, str, bool]]] = {}

    def add_slot(slot: Slot, options: list[tuple[str, str, str, bool]]) -> None:
        key = (slot.van_id, slot.day, slot.index)
        model.slots[key] = slot
        cands[key] = options

    frozen_until = pol.replan_from
    kept_by_vd: dict[tuple[str, date], list[KeptVisit]] = defaultdict(list)
    if frozen_until is not None:
        for k in data.keep:
            if k.date < frozen_until:
                kept_by_vd[(k.van_id, k.date)].append(k)
    for (van_id, kday), kept in sorted(kept_by_vd.items()):
        for i, k in enumerate(sorted(kept, key=lambda k: k.window.start)):
            opened = kday in day_by_date and day_by_date[kday].opened
            add_slot(
                Slot(van_id, kday, i, k.window, "kept", required=True, opened_day=opened),
                [(k.site_id, k.activity, k.event_id or "", True)],
            )

    site_ids = [s.id for s in data.sites]
    forbidden = data.forbidden
    closer: dict[tuple[str, str, str], bool] = {}

    def distances() -> Distances:
        return distances_of(model)

    nearest: dict[str, list[list[str]]] = {}

    far_sets: dict[tuple[int, str], tuple[frozenset[str], frozenset[str]]] = {}
    for van in data.vans:
        for day in data.days:
            d = day.date
            if d in van.maintenance or (frozen_until is not None and d < frozen_until):
                continue
            voting = [
                e
                for e in data.events
                if e.kind == ACTIVITY_VOTING
                and _event_van(data, e.van_id) == van.id
                and e.date_from <= d <= e.date_to
            ]
            if day.voting_only and not voting:
                # A weekend or holiday opened for early voting opens it for the voting
                # van only.
                continue
            if voting:
                stops = sorted(
                    ((e, s) for e in voting for s in e.stops), key=lambda es: es[1].window.start
                )
                for i, (e, s) in enumerate(stops):
                    if i > 0:
                        prev = stops[i - 1][1]
                        need = (
                            prev.window.end
                            + pol.teardown_minutes
                            + data.minutes(prev.site_id, s.site_id)
                            + pol.setup_minutes
                        )
                        if prev.site_id != s.site_id and need > s.window.start:
                            model.unreachable.append(
                                f"{d} の期日前投票({e.label or e.id}): {data.site(prev.site_id).name} "
                                f"{prev.window.label} のあと {data.site(s.site_id).name} "
                                f"{s.window.label} に間に合いません(片付け・移動・準備に"
                                f"{need - prev.window.end}分必要です)"
                            )
                    if not reachable(data, van, d, s.window, s.site_id):
                        model.unreachable.append(_voting_reason(data, van, d, e.label or e.id, s))
                    add_slot(
                        Slot(van.id, d, i, s.window, ACTIVITY_VOTING, True, day.opened),
                        [(s.site_id, ACTIVITY_VOTING, e.id, True)],
                    )
                continue
            disaster = [
                e
                for e in data.events
                if e.kind == ACTIVITY_DISASTER
                and _event_van(data, e.van_id) == van.id
                and e.date_from <= d <= e.date_to
            ]
            # Forbidden sites go before dominance, so a site they dominate stays.
            lists = [
                [
                    sid
                    for sid in regular_sites(data, van, d, w, site_ids, nearest)
                    if not forbidden(sid, d)
                ]
                for w in day.windows
            ]
            # Exact driving: keep only candidates and legs that can be best (below and in
            # add_driving). Approximate driving: the dominance of undominated.
            driving = pol.driving == "exact" and pol.weights.travel_per_minute > 0
            pinned = pinned_sites(data, van, d)
            if not disaster and pol.drop_dominated and driving and len(day.windows) <= 2:
                # Announced and pinned visits are never dropped (their site matters).
                announced = {k.site_id for k in data.keep if (k.van_id, k.date) == (van.id, d)}
                announced |= pinned
                targets = [
                    set(lists[i]) | reservation_sites(data, van, d, w)
                    for i, w in enumerate(day.windows)
                ]
                lists = useful_sites(data, van, day.windows, lists, targets, announced, distances())
            elif not disaster and pol.drop_dominated and driving and pol.replan_from is None:
                dropped = dominated_for_driving(data, van, lists, closer) - pinned
                lists = [[sid for sid in sites if sid not in dropped] for sites in lists]
            for i, w in enumerate(day.windows):
                if disaster:
                    e = disaster[0]
                    opts = [
                        (sid, ACTIVITY_DISASTER, e.id, False)
                        for sid in e.site_ids
                        if reachable(data, van, d, w, sid)
                    ]
                    add_slot(Slot(van.id, d, i, w, ACTIVITY_DISASTER, True, day.opened), opts)
                    continue
                regular = lists[i]
                if pol.drop_dominated and pol.replan_from is None and not driving:
                    budgets = [
                        drive_budget(data, w, w2)
                        if w.start < w2.start
                        else drive_budget(data, w2, w)
                        for w2 in day.windows
                        if w2 != w
                    ]
                    regular = undominated(data, van, regular, budgets, far_sets)
                opts = [(sid, ACTIVITY_REGULAR, "", False) for sid in regular]
                for e in data.events:
                    if (
                        e.kind == ACTIVITY_RESERVATION
                        and e.date_from <= d <= e.date_to
                        and (e.van_id is None or e.van_id == van.id)
                        and (e.window is None or e.window == w)
                        and reachable(data, van, d, w, e.site_ids[0])
                    ):
                        opts.append((e.site_ids[0], ACTIVITY_RESERVATION, e.id, False))
                add_slot(Slot(van.id, d, i, w, ACTIVITY_REGULAR, False, day.opened), opts)

    for (van_id, d, i), opts in cands.items():
        for site_id, activity, event_id, fixed in opts:
            key: Key = (van_id, d, i, site_id, activity, event_id)
            low = 1 if fixed and not model.elastic else 0
            model.x[key] = prob.add_variable(
                lp_name("x", van_id, d, i, site_id, activity, event_id), low, 1, pulp.LpBinary
            )
            if fixed:
                model.fixed.add(key)


def add_slot_capacity(model: Model, by_slot: dict[SlotKey, list[Key]]) -> None:
    """At most one stop per slot; exactly one in a pinned or disaster slot."""
    for skey, slot in model.slots.items():
        keys = by_slot.get(skey, [])
        name = lp_name("slot", *skey)
        total = var_sum(model.x[k] for k in keys)
        if slot.required:
            family = "pinned" if slot.kind in ("kept", ACTIVITY_VOTING) else "required_slot"
            model.prob += total + slack_for(model, family, name) >= 1, name + "_fill"
        if keys:
            model.prob += total <= 1, name


def add_fixed(model: Model) -> None:
    """Pinned and kept stops are fixed; in elastic mode their fixing may be relaxed."""
    if not model.elastic:
        return
    for key in sorted(model.fixed):
        name = lp_name("fixed", *key)
        model.prob += model.x[key] + slack_for(model, "pinned", name) >= 1, name
