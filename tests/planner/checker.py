"""An independent checker: does a plan (the plan.json document) keep every rule?

It reads only the plan document and the planner's *inputs* (sites, vans, days,
travel minutes, rules, pinned events); it shares no code with the model, so a bug in
the model cannot hide itself here. Each violation is returned as a short string.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from datetime import date, timedelta
from typing import Any

import jpholiday

from planner.inputs import PlanInput


def _min(text: str) -> int:
    h, m = text.split(":")
    return int(h) * 60 + int(m)


def _is_off(d: date) -> bool:
    return d.weekday() >= 5 or jpholiday.is_holiday(d)


def check_plan(doc: dict[str, Any], data: PlanInput) -> list[str]:
    """Every rule the plan breaks (empty when the plan is valid)."""
    errors: list[str] = []
    pol = data.policy
    sites = {s.id: s for s in data.sites}
    vans = {v.id: v for v in data.vans}
    days = {d.date: d for d in data.days}
    dists = {d.id: d for d in data.districts}
    frozen = pol.replan_from
    kept_before = {
        (k.date, k.van_id, k.window.start, k.site_id)
        for k in data.keep
        if frozen is not None and k.date < frozen
    }
    visits = doc["visits"]

    def err(v: dict[str, Any], msg: str) -> None:
        errors.append(f"{v['date']} {v['van_id']} {v['start']} {v['site_id']}: {msg}")

    by_vd: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for v in visits:
        d = date.fromisoformat(v["date"])
        by_vd[(v["van_id"], v["date"])].append(v)
        start, end = _min(v["start"]), _min(v["end"])
        site = sites.get(v["site_id"])
        van = vans.get(v["van_id"])
        if site is None or van is None:
            err(v, "unknown site or van")
            continue
        if v["district_id"] != site.district_id:
            err(v, "district does not match the site")
        if v["window"] != f"{v['start']}-{v['end']}":
            err(v, "window label differs from start/end")
        is_kept = (d, v["van_id"], start, v["site_id"]) in kept_before
        if frozen is not None and d < frozen and not is_kept:
            err(v, "a visit before the re-plan date that was not in the kept plan")
        if not pol.horizon_start <= d <= pol.horizon_end:
            err(v, "outside the horizon")
        if not is_kept:
            if d not in days:
                err(v, "not a working day (weekend, holiday or closed) and not opened")
            if d in van.maintenance:
                err(v, "van maintenance day")
        off = _is_off(d)
        if off and not v.get("opened_day"):
            err(v, "weekend/holiday without opened_day: true")
        if not off and v.get("opened_day"):
            err(v, "opened_day on an ordinary working day")
        if d.weekday() not in site.open_weekdays:
            err(v, "site closed on this weekday")
        if start < site.open_from or end > site.open_to:
            err(v, "outside the site's hours")
        # The window must be one of the day's windows, a pinned voting stop, or kept.
        allowed = {(w.start, w.end) for w in days[d].windows} if d in days else set()
        for e in data.events:
            if e.kind == "voting" and e.date_from == d:
                allowed |= {(s.window.start, s.window.end) for s in e.stops}
        if (start, end) not in allowed and not is_kept:
            err(v, "not a service window of that day")
        if _min(v["arrive"]) + pol.setup_minutes > start:
            err(v, "arrives too late to set up")
        if _min(v["depart"]) < end + pol.teardown_minutes:
            err(v, "leaves before packing up")

    for (van_id, day_s), vs in by_vd.items():
        van = vans[van_id]
        vs = sorted(vs, key=lambda v: _min(v["start"]))
        if [v["order"] for v in vs] != list(range(1, len(vs) + 1)):
            errors.append(f"{day_s} {van_id}: order in the day is not 1..n by time")
        first, last = vs[0], vs[-1]
        if van.shift_start + data.minutes(van.depot, first["site_id"]) > _min(first["arrive"]):
            errors.append(f"{day_s} {van_id}: cannot reach the first stop from the depot in time")
        if _min(last["depart"]) + data.minutes(last["site_id"], van.depot) > van.shift_end:
            errors.append(f"{day_s} {van_id}: cannot return to the depot within the shift")
        for a, b in itertools.pairwise(vs):
            if _min(a["end"]) > _min(b["start"]):
                errors.append(f"{day_s} {van_id}: windows {a['window']} and {b['window']} overlap")
            elif a["site_id"] != b["site_id"]:
                need = _min(a["depart"]) + data.minutes(a["site_id"], b["site_id"])
                if need > _min(b["arrive"]):
                    errors.append(
                        f"{day_s} {van_id}: no time to drive {a['site_id']} → {b['site_id']}"
                    )

    # District rules, on regular visit days.
    shortfall = {t["district_id"]: t.get("shortfall", 0) for t in doc["districts"]}
    disaster = any(e.kind == "disaster" for e in data.events)
    reg_days: dict[str, set[date]] = defaultdict(set)
    for v in visits:
        if v["activity"] == "regular":
            reg_days[v["district_id"]].add(date.fromisoformat(v["date"]))
    for did, dist in dists.items():
        n = len(reg_days[did])
        allowance = shortfall.get(did, 0) if disaster else 0
        if n + allowance < dist.min_visits:
            errors.append(f"{dist.name}: {n} visits < minimum {dist.min_visits}")
        if n > dist.max_visits:
            errors.append(f"{dist.name}: {n} visits > maximum {dist.max_visits}")
        ds = sorted(reg_days[did])
        for a, b in itertools.pairwise(ds):
            if (b - a).days < dist.min_days_between:
                errors.append(
                    f"{dist.name}: visits {a} and {b} closer than {dist.min_days_between} days"
                )
    for t in doc["districts"]:
        if t["visits"] != len(reg_days[t["district_id"]]):
            errors.append(f"{t['name']}: totals say {t['visits']} visits")

    # Pinned events.
    for e in data.events:
        if e.kind == "voting" and (frozen is None or e.date_from >= frozen):
            van_id = e.van_id or data.vans[0].id
            for s in e.stops:
                hit = [
                    v
                    for v in visits
                    if v["date"] == e.date_from.isoformat()
                    and v["van_id"] == van_id
                    and v["site_id"] == s.site_id
                    and _min(v["start"]) == s.window.start
                    and _min(v["end"]) == s.window.end
                    and v["activity"] == "voting"
                ]
                if len(hit) != 1:
                    errors.append(f"voting stop {s.site_id} {s.window.label} missing")
            others = [
                v
                for v in visits
                if v["date"] == e.date_from.isoformat()
                and v["van_id"] == van_id
                and v["activity"] != "voting"
            ]
            if others:
                errors.append(f"voting day {e.date_from} also has other stops")
        elif e.kind == "disaster":
            van_id = e.van_id or data.vans[0].id
            van = vans[van_id]
            d = e.date_from
            while d <= e.date_to:
                voting_day = any(
                    v.kind == "voting"
                    and (v.van_id or data.vans[0].id) == van_id
                    and v.date_from == d
                    for v in data.events
                )
                if (
                    d in days
                    and d not in van.maintenance
                    and not voting_day
                    and (frozen is None or d >= frozen)
                ):
                    got = [
                        v for v in visits if v["date"] == d.isoformat() and v["van_id"] == van_id
                    ]
                    if len(got) != len(days[d].windows) or any(
                        v["activity"] != "disaster" or v["site_id"] not in e.site_ids for v in got
                    ):
                        errors.append(f"disaster day {d}: not every window is a session at a hall")
                d += timedelta(days=1)
        elif e.kind == "reservation":
            hit = [
                v for v in visits if v["activity"] == "reservation" and v.get("event_id") == e.id
            ]
            if len(hit) != 1:
                errors.append(f"reservation {e.id}: {len(hit)} visits instead of 1")
            for v in hit:
                d = date.fromisoformat(v["date"])
                if not e.date_from <= d <= e.date_to or v["site_id"] != e.site_ids[0]:
                    errors.append(f"reservation {e.id}: wrong day or site")

    s = doc["solver"]
    if s["status"] not in ("optimal", "feasible"):
        errors.append(f"solver status {s['status']}")
    if s["bound"] is not None and s["objective"] > s["bound"] + 1e-6 * max(1, abs(s["bound"])):
        errors.append("objective above the proven bound")
    if s["gap"] is not None and s["gap"] < 0:
        errors.append("negative gap")
    return errors
