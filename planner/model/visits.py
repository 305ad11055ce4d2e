"""Visit days of a district: ``visit[district, day]``, one van-day per district and day,
minimum and maximum visits over the horizon, and the spacing between visits."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta

import pulp

from planner.inputs import ACTIVITY_DISASTER, ACTIVITY_REGULAR
from planner.model.variables import Key, Model, SlotKey, lp_name, slack_for, var_sum


def add_visit_days(model: Model, by_slot: dict[SlotKey, list[Key]]) -> None:
    """``visit[district, day]`` is 1 exactly when the district has a regular stop that day."""
    district_of = {s.id: s.district_id for s in model.data.sites}
    regular: dict[tuple[str, date], list[Key]] = defaultdict(list)
    per_slot: dict[tuple[SlotKey, str], list[Key]] = defaultdict(list)
    for skey, keys in by_slot.items():
        for k in keys:
            if k[4] == ACTIVITY_REGULAR:
                did = district_of[k[3]]
                regular[(did, skey[1])].append(k)
                per_slot[(skey, did)].append(k)
    for (did, d), keys in sorted(regular.items()):
        var = model.prob.add_variable(lp_name("visit", did, d), 0, 1, pulp.LpBinary)
        model.visit[(did, d)] = var
        model.prob += var <= var_sum(model.x[k] for k in keys), lp_name("visit_real", did, d)
    # At most one van-day of regular stops per district and day, across vans (a second
    # van in the same district on the same day serves the same residents). Where
    # several vans could serve the district that day, ``vday[van, district, day]``
    # says which one does; otherwise ``visit`` plays that part.
    vans_of: dict[tuple[str, date], set[str]] = defaultdict(set)
    for skey, did in per_slot:
        vans_of[(did, skey[1])].add(skey[0])
    vday: dict[tuple[str, str, date], pulp.LpVariable] = {}
    for (did, d), vans in sorted(vans_of.items()):
        if len(vans) < 2:
            continue
        for van_id in sorted(vans):
            vday[(van_id, did, d)] = model.prob.add_variable(
                lp_name("vday", van_id, did, d), 0, 1, pulp.LpContinuous
            )
        model.prob += (
            var_sum(vday[(v, did, d)] for v in sorted(vans)) <= model.visit[(did, d)],
            lp_name("district_van_day", did, d),
        )
    for (skey, did), keys in per_slot.items():
        vkey = (skey[0], did, skey[1])
        link = vday[vkey] if vkey in vday else model.visit[(did, skey[1])]
        model.prob += (
            var_sum(model.x[k] for k in keys) <= link,
            lp_name("visit_link", did, *skey),
        )


def add_min_max_visits(model: Model) -> None:
    """Each district gets between its minimum and maximum visit days in the horizon.

    When a disaster window is pinned it takes priority: a minimum may then be missed at
    a large cost (``weights.shortfall`` per missing visit), and the plan reports it.
    """
    data = model.data
    soft = any(e.kind == ACTIVITY_DISASTER for e in data.events)
    for dist in data.districts:
        days = [v for (did, _d), v in model.visit.items() if did == dist.id]
        total = var_sum(days)
        if dist.min_visits > 0:
            name = lp_name("min_visits", dist.id)
            relax: pulp.LpVariable | int = slack_for(model, "min_visits", name)
            if soft and not model.elastic:
                relax = model.prob.add_variable(
                    lp_name("shortfall", dist.id), 0, dist.min_visits, pulp.LpContinuous
                )
                model.shortfall[dist.id] = relax
            model.prob += total + relax >= dist.min_visits, name
        if dist.max_visits < 99 and days:
            name = lp_name("max_visits", dist.id)
            model.prob += total - slack_for(model, "max_visits", name) <= dist.max_visits, name


def add_spacing(model: Model) -> None:
    """Two visit days of a district are at least ``min_days_between`` calendar days apart."""
    data = model.data
    for dist in data.districts:
        gap = dist.min_days_between
        if gap <= 1:
            continue
        days = sorted(d for (did, d) in model.visit if did == dist.id)
        for i, d in enumerate(days):
            window = [e for e in days[i:] if e < d + timedelta(days=gap)]
            if len(window) < 2:
                continue
            name = lp_name("spacing", dist.id, d)
            model.prob += (
                var_sum(model.visit[(dist.id, e)] for e in window)
                - slack_for(model, "spacing", name)
                <= 1,
                name,
            )
