"""Time between stops: two stops of a van-day must leave time to pack, drive and set
up (``travel_…``), addressed through whole districts where they can be."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection
from datetime import date

import pulp

from planner.model.variables import Key, Model, SlotKey, lp_name, var_sum


def add_district_slots(
    model: Model, by_slot: dict[SlotKey, list[Key]]
) -> dict[tuple[str, date, int, str], pulp.LpVariable]:
    """``r[van, day, window, district]`` = the number of stops at the district's sites."""
    district_of = {s.id: s.district_id for s in model.data.sites}
    r: dict[tuple[str, date, int, str], pulp.LpVariable] = {}
    for skey, keys in by_slot.items():
        groups: dict[str, list[Key]] = defaultdict(list)
        for k in keys:
            groups[district_of[k[3]]].append(k)
        for did, ks in groups.items():
            name = lp_name("district_slot", *skey, did)
            var = model.prob.add_variable("r_" + name, 0, 1, pulp.LpContinuous)
            r[(*skey, did)] = var
            model.prob += var == var_sum(model.x[k] for k in ks), name
    return r


def add_travel(
    model: Model,
    by_slot: dict[SlotKey, list[Key]],
    r: dict[tuple[str, date, int, str], pulp.LpVariable],
    skip: Collection[tuple[str, date]] = (),
) -> None:
    """Between two stops of a van on a day there must be time to pack, drive and set up.

    For a stop at ``s1`` in window ``w1`` and each later window ``w2`` of the same van
    and day, the stops in ``w2`` that cannot be reached in time form a conflict set;
    at most one of ``s1`` and that set is used. Districts whose every site conflicts
    enter through ``r`` (one term instead of one per site).
    """
    data = model.data
    pol = data.policy
    sites_of: dict[str, set[str]] = defaultdict(set)
    for s in data.sites:
        sites_of[s.district_id].add(s.id)
    far_cache: dict[int, dict[str, frozenset[str]]] = {}

    def far(budget: int, s1: str) -> frozenset[str]:
        table = far_cache.setdefault(budget, {})
        if s1 not in table:
            table[s1] = frozenset(
                s.id for s in data.sites if s.id != s1 and data.minutes(s1, s.id) > budget
            )
        return table[s1]

    vd_slots: dict[tuple[str, date], list[SlotKey]] = defaultdict(list)
    for skey in model.slots:
        vd_slots[skey[:2]].append(skey)
    for (van_id, d), skeys in vd_slots.items():
        if (van_id, d) in skip:
            continue  # priced by day patterns, which hold these rules (add_driving)
        skeys.sort(key=lambda k: model.slots[k].window.start)
        for a, k1 in enumerate(skeys):
            w1 = model.slots[k1].window
            sites1 = sorted({k[3] for k in by_slot.get(k1, [])})
            for k2 in skeys[a + 1 :]:
                w2 = model.slots[k2].window
                budget = w2.start - w1.end - pol.teardown_minutes - pol.setup_minutes
                keys2 = by_slot.get(k2, [])
                if not keys2:
                    continue
                sites2: dict[str, list[Key]] = defaultdict(list)
                for k in keys2:
                    sites2[k[3]].append(k)
                dist2: dict[str, set[str]] = defaultdict(set)
                for sid in sites2:
                    dist2[data.site(sid).district_id].add(sid)
                for s1 in sites1:
                    bad: set[str] | frozenset[str]
                    if budget < 0:
                        bad = {s2 for s2 in sites2 if s2 != s1}
                    else:
                        bad = far(budget, s1) & sites2.keys()
                    if not bad:
                        continue
                    terms: list[pulp.LpVariable] = [model.x[k] for k in by_slot[k1] if k[3] == s1]
                    for did, present in dist2.items():
                        if present <= bad:
                            terms.append(r[(*k2, did)])
                        else:
                            terms.extend(model.x[k] for s2 in present & bad for k in sites2[s2])
                    model.prob += (
                        var_sum(terms) <= 1,
                        lp_name("travel", van_id, d, k1[2], k2[2], s1),
                    )
