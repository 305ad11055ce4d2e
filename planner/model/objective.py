"""The objective's value terms: residents served (diminishing returns per district) and
the cost of moving an already-announced visit when re-planning."""

from __future__ import annotations

from collections import defaultdict
from datetime import date

import pulp

from planner.inputs import ACTIVITY_REGULAR
from planner.model.variables import Key, Model, lp_name, var_sum


def add_demand(model: Model) -> pulp.LpAffineExpression:
    """Diminishing-returns value of the regular stops per district; returns the value."""
    data = model.data
    pol = data.policy
    district_of = {s.id: s.district_id for s in data.sites}
    stops: dict[str, list[Key]] = defaultdict(list)
    for k in model.x:
        if k[4] == ACTIVITY_REGULAR:
            stops[district_of[k[3]]].append(k)
    per_day: dict[tuple[str, date], int] = defaultdict(int)
    for skey in model.slots:
        per_day[skey[:2]] += 1
    max_windows = max(per_day.values(), default=1)
    terms: list[tuple[pulp.LpVariable, float]] = []
    for dist in data.districts:
        keys = stops.get(dist.id, [])
        if not keys:
            continue
        n = min(len(keys), dist.max_visits * max_windows * len(data.vans))
        segs = []
        for j in range(n):
            factor = pol.diminishing[min(j, len(pol.diminishing) - 1)]
            value = pol.weights.users * dist.weight * data.demand[dist.id] * factor
            var = model.prob.add_variable(lp_name("seg", dist.id, j), 0, 1, pulp.LpContinuous)
            model.seg[(dist.id, j)] = var
            model.seg_value[(dist.id, j)] = data.demand[dist.id] * factor
            segs.append(var)
            terms.append((var, value))
        model.prob += (
            var_sum(segs) == var_sum(model.x[k] for k in keys),
            lp_name("demand", dist.id),
        )
    return pulp.LpAffineExpression(terms)


def add_moves(model: Model) -> pulp.LpAffineExpression:
    """Re-planning: each already-announced visit on or after the re-plan date that is not
    kept exactly (same day, van, window and site) costs ``weights.moved_visit``."""
    data = model.data
    pol = data.policy
    if pol.replan_from is None:
        return pulp.LpAffineExpression()
    terms: list[pulp.LpAffineExpression | float] = []
    for k in data.keep:
        if k.date < pol.replan_from:
            continue
        match: Key | None = None
        for skey, slot in model.slots.items():
            if skey[0] == k.van_id and skey[1] == k.date and slot.window == k.window:
                cand = (*skey, k.site_id, k.activity, k.event_id or "")
                if cand in model.x:
                    match = cand
                break
        model.announced.append((k, match))
        if match is None:
            terms.append(float(pol.weights.moved_visit))
        else:
            terms.append(pol.weights.moved_visit * (1 - model.x[match]))
    return pulp.lpSum(terms)
