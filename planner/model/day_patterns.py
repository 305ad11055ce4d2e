"""Driving day patterns: a van-day of two slots priced as a pair of district groups (or a
lone stop), the visit cover they give, and the sites a solved pattern settles on."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from datetime import date

import numpy as np
import pulp

from planner.inputs import ACTIVITY_REGULAR
from planner.model.reach import FAR, drive_budget
from planner.model.variables import (
    DayPattern,
    Key,
    Model,
    SlotKey,
    distances_of,
    lp_name,
    var_sum,
)


def pattern_days(model: Model, by_slot: dict[SlotKey, list[Key]]) -> set[tuple[str, date]]:
    """The van-days whose exact driving is modelled by day patterns (:func:`add_driving`):
    exactly two slots with candidates, exact driving with a cost, not the diagnostic model.
    """
    data = model.data
    pol = data.policy
    if model.elastic or pol.driving != "exact" or pol.weights.travel_per_minute <= 0:
        return set()
    count: dict[tuple[str, date], int] = defaultdict(int)
    for skey in model.slots:
        if by_slot.get(skey):
            count[skey[:2]] += 1
    return {vd for vd, n in count.items() if n == 2}


def add_day_pattern(
    model: Model,
    slots: tuple[SlotKey, SlotKey],
    key_groups: Callable[[SlotKey], dict[tuple[str, str], list[Key]]],
    cost: list[tuple[pulp.LpVariable, float]],
) -> None:
    """The day patterns of one two-slot van-day (see :func:`add_driving`)."""
    data = model.data
    pol = data.policy
    rate = pol.weights.travel_per_minute
    k1, k2 = slots
    van_id, d = k1[0], k1[1]
    depot = data.van(van_id).depot
    budget = drive_budget(data, model.slots[k1].window, model.slots[k2].window)
    g1, g2 = key_groups(k1), key_groups(k2)
    dist = distances_of(model)
    out, back = dist.depot(depot)
    ids = dist.ids
    rows1 = {g: dist.index({k[3] for k in ks}) for g, ks in sorted(g1.items())}
    rows2 = {g: dist.index({k[3] for k in ks}) for g, ks in sorted(g2.items())}
    trip = out + back

    def alone(rows: np.ndarray) -> tuple[int, str]:
        best = int(trip[rows].argmin())  # ties: the lowest site id
        return int(trip[rows[best]]), ids[rows[best]]

    alone1 = {g: alone(rows) for g, rows in rows1.items()}
    alone2 = {g: alone(rows) for g, rows in rows2.items()}
    # depot → s1 → s2 → depot for every morning and afternoon candidate at once (rows
    # and columns grouped), over the pairs s2 can follow s1 in time; then the best
    # pair of each block (ties: the lowest s1, then the lowest s2).
    all1 = np.concatenate(list(rows1.values()))
    all2 = np.concatenate(list(rows2.values()))
    route = out[all1][:, None] + dist.follow(all1, all2, budget) + back[all2][None, :]
    starts1 = np.cumsum([0, *(len(r) for r in rows1.values())]).tolist()
    starts2 = np.cumsum([0, *(len(r) for r in rows2.values())]).tolist()
    pair_sites: dict[tuple[tuple[str, str], tuple[str, str]], tuple[str, str]] = {}
    pair: dict[tuple[tuple[str, str], tuple[str, str]], pulp.LpVariable] = {}
    best: dict[tuple[tuple[str, str], tuple[str, str]], tuple[int, str, str]] = {}
    for ia, a in enumerate(rows1):
        i0, i1 = starts1[ia], starts1[ia + 1]
        for ib, b in enumerate(rows2):
            j0, j1 = starts2[ib], starts2[ib + 1]
            block = route[i0:i1, j0:j1]
            flat = int(block.argmin())
            i, j = divmod(flat, j1 - j0)
            minutes = int(block[i, j])
            if minutes < FAR:
                best[(a, b)] = (minutes, ids[all1[i0 + i]], ids[all2[j0 + j]])
    for (a, b), (minutes, s1, s2) in best.items():
        # Two districts served in either order give the same stops, visits and demand
        # (nothing else sees which window a district's regular stop is in on these
        # days): only the shorter order is needed (the first one on a tie).
        other = best.get((b, a))
        if (
            a != b
            and a[0] == b[0] == "district"
            and other is not None
            and (other[0], b, a) < (minutes, a, b)
        ):
            continue
        pair_sites[(a, b)] = (s1, s2)
        var = model.prob.add_variable(
            lp_name("pair", van_id, d, k1[2], *a, k2[2], *b), 0, 1, pulp.LpContinuous
        )
        pair[(a, b)] = var
        if minutes:
            cost.append((var, rate * minutes))

    def lone(
        window: int, alone: dict[tuple[str, str], tuple[int, str]]
    ) -> dict[tuple[str, str], pulp.LpVariable]:
        """``alone[…]``: a lone stop of each group in this slot, at its round trip."""
        out: dict[tuple[str, str], pulp.LpVariable] = {}
        for g, (minutes, _s) in sorted(alone.items()):
            out[g] = var = model.prob.add_variable(
                lp_name("alone", van_id, d, window, *g), 0, 1, pulp.LpContinuous
            )
            if minutes:
                cost.append((var, rate * minutes))
        return out

    lone1, lone2 = lone(k1[2], alone1), lone(k2[2], alone2)

    # The districts whose regular stop each group holds (for add_visit_cover).
    def regular_in(ks: list[Key]) -> set[str]:
        return {data.site(k[3]).district_id for k in ks if k[4] == ACTIVITY_REGULAR}

    reg1 = {g: regular_in(ks) for g, ks in g1.items()}
    reg2 = {g: regular_in(ks) for g, ks in g2.items()}
    for (a, b), var in pair.items():
        for did in reg1[a] | reg2[b]:
            model.cover[(did, d)].append(var)
    for g, var in lone1.items():
        for did in reg1[g]:
            model.cover[(did, d)].append(var)
    for g, var in lone2.items():
        for did in reg2[g]:
            model.cover[(did, d)].append(var)
    used1 = {g: var_sum(model.x[k] for k in ks) for g, ks in g1.items()}
    used2 = {g: var_sum(model.x[k] for k in ks) for g, ks in g2.items()}
    for g in sorted(g1):
        model.prob += (
            var_sum(v for (a, _b), v in pair.items() if a == g) + lone1[g] == used1[g],
            lp_name("pattern", van_id, d, k1[2], *g),
        )
    for g in sorted(g2):
        model.prob += (
            var_sum(v for (_a, b), v in pair.items() if b == g) + lone2[g] == used2[g],
            lp_name("pattern", van_id, d, k2[2], *g),
        )
    # A stop is alone only when the other slot is empty.
    model.prob += (
        var_sum(lone1.values()) + pulp.lpSum(used2.values()) <= 1,
        lp_name("pattern_alone", van_id, d, k1[2]),
    )
    model.prob += (
        var_sum(lone2.values()) + pulp.lpSum(used1.values()) <= 1,
        lp_name("pattern_alone", van_id, d, k2[2]),
    )
    model.patterns.append(
        DayPattern(
            slots=slots,
            groups=(g1, g2),
            pair_sites=pair_sites,
            alone_sites=(
                {g: s for g, (_m, s) in alone1.items()},
                {g: s for g, (_m, s) in alone2.items()},
            ),
        )
    )


def add_visit_cover(
    model: Model, by_slot: dict[SlotKey, list[Key]], patterns: set[tuple[str, date]]
) -> None:
    """A district's visit day needs a day pattern (or, on other van-days, a stop) with a
    regular stop in it: ``visit ≤ Σ patterns holding the district + Σ other stops``.

    ``visit ≤ Σ stops`` alone lets the relaxation count a half-used morning and a
    half-used afternoon as a whole visit of two districts on one van-day; a pattern
    counts once however many of its stops are in the district.
    """
    if not patterns:
        return
    district_of = {s.id: s.district_id for s in model.data.sites}
    other: dict[tuple[str, date], list[Key]] = defaultdict(list)
    for skey, keys in by_slot.items():
        if skey[:2] in patterns:
            continue
        for k in keys:
            if k[4] == ACTIVITY_REGULAR:
                other[(district_of[k[3]], skey[1])].append(k)
    for (did, d), var in sorted(model.visit.items()):
        held = model.cover.get((did, d), [])
        if not held:
            continue
        model.prob += (
            var <= var_sum(held) + var_sum(model.x[k] for k in other.get((did, d), [])),
            lp_name("visit_cover", did, d),
        )


def settle_sites(model: Model) -> None:
    """After solving: serve each district's stop of a pattern day at the sites its
    pattern was priced for (see :func:`add_driving`); other stops are left as solved."""

    def value(v: pulp.LpVariable) -> float:
        return float(v.varValue or 0.0)

    for p in model.patterns:
        chosen: list[tuple[tuple[str, str], Key] | None] = []
        for groups in p.groups:
            on = [(g, k) for g, ks in groups.items() for k in ks if value(model.x[k]) > 0.5]
            chosen.append(on[0] if on else None)
        first, second = chosen
        if first and second:
            want = p.pair_sites.get((first[0], second[0]))
            if want is None:
                continue
            targets = [want[0], want[1]]
        elif first:
            targets = [p.alone_sites[0][first[0]], ""]
        elif second:
            targets = ["", p.alone_sites[1][second[0]]]
        else:
            continue
        for i, picked in enumerate(chosen):
            if picked is None:
                continue
            group, key = picked
            if group[0] != "district" or key[3] == targets[i]:
                continue
            swap = next(k for k in p.groups[i][group] if k[3] == targets[i])
            model.x[key].varValue = 0.0
            model.x[swap].varValue = 1.0
