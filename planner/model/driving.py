"""Driving in the objective: exact (each van-day's order of stops; two-slot days by day
patterns, others by legs) or approximate (a round trip per van, district and day)."""

from __future__ import annotations

from collections import defaultdict
from datetime import date

import pulp

from planner.inputs import ACTIVITY_REGULAR
from planner.model.day_patterns import add_day_pattern
from planner.model.pins import pin_keys
from planner.model.variables import Key, Model, SlotKey, lp_name, var_sum


def add_driving(
    model: Model, by_slot: dict[SlotKey, list[Key]], patterns: set[tuple[str, date]]
) -> pulp.LpAffineExpression:
    """Driving cost of every van-day, exactly for the day's order of stops.

    A van-day's stops follow the order of their windows: depot → s1 → … → sn → depot.

    Van-days of two slots (the usual morning and afternoon; ``patterns``) are priced by
    day patterns. The candidates of a slot fall into groups: the regular stops of one
    district (interchangeable but for driving: districts, not sites, carry demand,
    visits and spacing) and, each on its own, every stop whose site matters (events,
    fixed, announced or pinned visits). ``pair[van, day, g1, g2]`` (continuous 0..1)
    says the day is a stop of group g1 then one of g2, and costs the shortest drive
    ``d(D, s1) + d(s1, s2) + d(s2, D)`` over the pairs of sites that can follow each other
    in time; ``alone1[g1]`` / ``alone2[g2]`` say only one slot is used, at the group's
    shortest round trip. A slot's group use equals the patterns that contain it, and a
    lone stop excludes any stop in the other slot, so for an integer plan exactly one
    pattern is on and the driving in the objective is exactly the day's. The sites
    inside a district group are then read back as that best pair
    (:func:`settle_sites`), which keeps every rule (the pair can follow each other in
    time; no other rule sees which site of a district serves a regular stop). Because a
    pattern exists only for groups that can follow each other in time, the travel rules
    of these days are in the patterns (:func:`add_travel` skips them). Pricing whole
    districts instead of sites keeps the model small and its relaxation strong.

    Other van-days (voting days of three stops and more): each stop is charged its
    round trip from the depot; ``leg[van, day, (k1, s1), (k2, s2)]`` (continuous 0..1) is
    1 when s2 (slot k2) is the next stop after s1 (slot k1), and gives back the saving
    ``d(s1, D) + d(D, s2) − d(s1, s2)`` of driving directly. A stop has at most one next
    and one previous stop, and a leg may not jump over a slot that is used, so the legs
    are exactly the day's consecutive pairs. With a metric travel matrix every saving is
    ≥ 0 and maximisation sets each leg to 1 when both ends are used; a leg with a
    negative saving (a non-metric matrix) is forced to 1 then. Legs are only created
    between stops that can follow each other in time.
    """
    data = model.data
    pol = data.policy
    rate = pol.weights.travel_per_minute
    cost: list[tuple[pulp.LpVariable, float]] = []
    for xkey, var in model.x.items():
        if xkey[:2] in patterns:
            continue
        depot = data.van(xkey[0]).depot
        trip = data.minutes(depot, xkey[3]) + data.minutes(xkey[3], depot)
        if trip:
            cost.append((var, rate * trip))
    if rate == 0 or model.elastic:
        # (The diagnostic model's objective is its slacks: it prices no driving.)
        return pulp.LpAffineExpression(cost)
    special = {k for k, v in model.x.items() if k in model.fixed or (v.lowBound or 0) > 0}
    special |= {key for _kept, key in model.announced if key is not None}
    special |= pin_keys(model)
    district_of = {s.id: s.district_id for s in data.sites}

    def key_groups(sk: SlotKey) -> dict[tuple[str, str], list[Key]]:
        out: dict[tuple[str, str], list[Key]] = defaultdict(list)
        for key in by_slot[sk]:
            if key[4] == ACTIVITY_REGULAR and key not in special:
                out[("district", district_of[key[3]])].append(key)
            else:
                out[("site", key[3])].append(key)
        return out

    vd_slots: dict[tuple[str, date], list[SlotKey]] = defaultdict(list)
    for skey in model.slots:
        if by_slot.get(skey):
            vd_slots[skey[:2]].append(skey)
    for (van_id, d), skeys in vd_slots.items():
        if len(skeys) < 2:
            continue
        depot = data.van(van_id).depot
        skeys.sort(key=lambda sk: model.slots[sk].window.start)
        if (van_id, d) in patterns:
            add_day_pattern(model, (skeys[0], skeys[1]), key_groups, cost)
            continue
        used = {sk: var_sum(model.x[x] for x in by_slot[sk]) for sk in skeys}
        at: dict[tuple[SlotKey, str], list[Key]] = defaultdict(list)
        for sk in skeys:
            for key in by_slot[sk]:
                at[(sk, key[3])].append(key)
        outs: dict[tuple[SlotKey, str], list[pulp.LpVariable]] = defaultdict(list)
        ins: dict[tuple[SlotKey, str], list[pulp.LpVariable]] = defaultdict(list)
        jumps: dict[tuple[int, int], list[pulp.LpVariable]] = defaultdict(list)
        for a, k1 in enumerate(skeys):
            w1 = model.slots[k1].window
            sites1 = sorted({key[3] for key in by_slot[k1]})
            for b in range(a + 1, len(skeys)):
                k2 = skeys[b]
                w2 = model.slots[k2].window
                budget = w2.start - w1.end - pol.teardown_minutes - pol.setup_minutes
                sites2 = sorted({key[3] for key in by_slot[k2]})
                pairs = [(s1, s2) for s1 in sites1 for s2 in sites2]
                for s1, s2 in pairs:
                    between = data.minutes(s1, s2)
                    if s1 != s2 and between > budget:
                        continue
                    saving = data.minutes(s1, depot) + data.minutes(depot, s2) - between
                    if saving == 0:
                        continue
                    leg = model.prob.add_variable(
                        lp_name("leg", van_id, d, k1[2], s1, k2[2], s2), 0, 1, pulp.LpContinuous
                    )
                    model.legs.append(leg)
                    outs[(k1, s1)].append(leg)
                    ins[(k2, s2)].append(leg)
                    if b > a + 1:
                        jumps[(a, b)].append(leg)
                    cost.append((leg, -rate * saving))
                    if saving < 0:
                        gap_used = [used[skeys[c]] for c in range(a + 1, b)]
                        model.prob += (
                            leg
                            >= var_sum(model.x[x] for x in at[(k1, s1)])
                            + var_sum(model.x[x] for x in at[(k2, s2)])
                            - 1
                            - pulp.lpSum(gap_used),
                            lp_name("leg_forced", van_id, d, k1[2], s1, k2[2], s2),
                        )
        for (sk, sid), legs in outs.items():
            model.prob += (
                var_sum(legs) <= var_sum(model.x[x] for x in at[(sk, sid)]),
                lp_name("leg_out", van_id, d, sk[2], sid),
            )
        for (sk, sid), legs in ins.items():
            model.prob += (
                var_sum(legs) <= var_sum(model.x[x] for x in at[(sk, sid)]),
                lp_name("leg_in", van_id, d, sk[2], sid),
            )
        for (a, b), legs in jumps.items():
            for c in range(a + 1, b):
                model.prob += (
                    var_sum(legs) + used[skeys[c]] <= 1,
                    lp_name("leg_skip", van_id, d, skeys[a][2], skeys[c][2], skeys[b][2]),
                )
    return pulp.LpAffineExpression(cost)


def add_trips(
    model: Model, r: dict[tuple[str, date, int, str], pulp.LpVariable]
) -> pulp.LpAffineExpression:
    """Approximate driving cost (``[objective] driving = "approximate"``): a round trip
    per van, district and day, plus half of each site's extra detour.

    It does not follow the day's order of stops (a day may zig-zag between districts at
    no cost); the plan's ``driving_minutes`` are still counted exactly for that order.
    """
    data = model.data
    rate = data.policy.weights.travel_per_minute
    sites_of: dict[str, list[str]] = defaultdict(list)
    for s in data.sites:
        sites_of[s.district_id].append(s.id)
    base: dict[tuple[str, str], int] = {}
    for van in data.vans:
        for did, sids in sites_of.items():
            base[(van.id, did)] = min(
                data.minutes(van.depot, s) + data.minutes(s, van.depot) for s in sids
            )
    trip: dict[tuple[str, str, date], pulp.LpVariable] = {}
    cost: list[tuple[pulp.LpVariable, float]] = []
    for van_id, d, w, did in r:
        key = (van_id, did, d)
        if key not in trip:
            trip[key] = model.prob.add_variable(lp_name("trip", *key), 0, 1, pulp.LpContinuous)
            cost.append((trip[key], rate * base[(van_id, did)]))
        model.prob += trip[key] >= r[(van_id, d, w, did)], lp_name("trip", van_id, did, d, w)
    for k, var in model.x.items():
        van = data.van(k[0])
        detour = data.minutes(van.depot, k[3]) + data.minutes(k[3], van.depot)
        extra = detour - base[(k[0], data.site(k[3]).district_id)]
        if extra:
            cost.append((var, rate * 0.5 * extra))
    return pulp.LpAffineExpression(cost)
