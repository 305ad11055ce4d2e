"""Which sites a slot's regular stops may use: the nearest sites per district
(``sites.per_district``) and the exact reductions that drop candidates another site of
the same district dominates, for approximate and for exact driving."""

from __future__ import annotations

from collections import defaultdict
from datetime import date

from planner.inputs import ACTIVITY_RESERVATION, PlanInput, Van, Window
from planner.model.reach import FAR, Distances, drive_budget, reachable


def regular_sites(
    data: PlanInput,
    van: Van,
    day: date,
    window: Window,
    site_ids: list[str],
    nearest: dict[str, list[list[str]]] | None = None,
) -> list[str]:
    """Sites a regular stop may use in this slot.

    With ``policy.sites_per_district = K`` only the K open sites of each district
    nearest to the van's depot are candidates (a deliberate restriction for very
    large instances; the proven bound then holds for the restricted model).
    ``nearest`` caches, per van, each district's sites by round trip.
    """
    k = data.policy.sites_per_district
    if k <= 0:
        return [sid for sid in site_ids if reachable(data, van, day, window, sid)]
    cache = {} if nearest is None else nearest
    if van.id not in cache:
        by_district: dict[str, list[str]] = {}
        for sid in site_ids:
            by_district.setdefault(data.site(sid).district_id, []).append(sid)
        for sids in by_district.values():
            sids.sort(key=lambda s: (data.minutes(van.depot, s) + data.minutes(s, van.depot), s))
        cache[van.id] = list(by_district.values())
    out: list[str] = []
    for sids in cache[van.id]:
        found = 0
        for sid in sids:
            if found == k:
                break
            if reachable(data, van, day, window, sid):
                out.append(sid)
                found += 1
    return out


def undominated(
    data: PlanInput,
    van: Van,
    sites: list[str],
    budgets: list[int],
    cache: dict[tuple[int, str], tuple[frozenset[str], frozenset[str]]],
) -> list[str]:
    """Drop regular candidates of a slot that another site of the same district dominates.

    Site ``s`` dominates ``s2`` (same district, same slot) when its detour from the depot
    is no longer (ties broken by id), ``s`` and ``s2`` are within driving reach of each
    other for every window pair of the day, and every site out of reach of ``s`` (to or
    from) is also out of reach of ``s2``. Then any plan using ``s2`` in this slot stays
    valid, and is no worse, with ``s`` instead: the reduction is exact (districts, not
    sites, carry demand, visits and spacing). Dominance is transitive under these
    conditions, so dropping every dominated site keeps a dominating one.
    """

    def far(budget: int, sid: str) -> tuple[frozenset[str], frozenset[str]]:
        key = (budget, sid)
        if key not in cache:
            out = frozenset(
                t.id for t in data.sites if t.id != sid and data.minutes(sid, t.id) > budget
            )
            into = frozenset(
                t.id for t in data.sites if t.id != sid and data.minutes(t.id, sid) > budget
            )
            cache[key] = (out, into)
        return cache[key]

    def detour(sid: str) -> tuple[int, str]:
        return (data.minutes(van.depot, sid) + data.minutes(sid, van.depot), sid)

    by_district: dict[str, list[str]] = defaultdict(list)
    for sid in sites:
        by_district[data.site(sid).district_id].append(sid)
    keep: list[str] = []
    for group in by_district.values():
        group.sort(key=detour)
        kept: list[str] = []
        for s2 in group:
            dominated = False
            for s in kept:
                ok = True
                for b in budgets:
                    out1, in1 = far(b, s)
                    out2, in2 = far(b, s2)
                    if s2 in out1 or s2 in in1 or not (out1 - {s2}) <= out2:
                        ok = False
                        break
                    if not (in1 - {s2}) <= in2:
                        ok = False
                        break
                if ok:
                    dominated = True
                    break
            if not dominated:
                kept.append(s2)
        keep.extend(kept)
    return keep


def dominated_for_driving(
    data: PlanInput,
    van: Van,
    per_window: list[list[str]],
    cache: dict[tuple[str, str, str], bool],
) -> set[str]:
    """Regular candidates of one van-day that a site of the same district dominates.

    With driving in the cost, ``s`` dominates ``s2`` when, for every other node ``t``
    (sites and the van's depot), ``s`` is no farther from and to ``t`` than ``s2``
    (ties broken by id), and ``s`` is a candidate in every window ``s2`` is. Then a
    plan using ``s2`` that day is no better than the one using ``s`` in its place in
    every window: each leg is no longer (``s2 → s2`` becomes ``s → s``), and each
    reach still holds. Sites of pinned events are never dropped (a stop next to the
    event at the same site drives nowhere). Each dropped site has a kept dominator,
    and replacements are made one site at a time, so the reduction is exact.
    """
    event_sites = {sid for e in data.events for sid in (*e.site_ids, *(x.site_id for x in e.stops))}
    nodes = [s.id for s in data.sites] + [van.depot]
    windows_of: dict[str, set[int]] = defaultdict(set)
    for i, sites in enumerate(per_window):
        for sid in sites:
            windows_of[sid].add(i)

    def dominates(s: str, s2: str) -> bool:
        key = (van.id, s, s2)
        if key not in cache:
            cache[key] = all(
                data.minutes(t, s) <= data.minutes(t, s2)
                and data.minutes(s, t) <= data.minutes(s2, t)
                for t in nodes
                if t not in (s, s2)
            )
        return cache[key]

    def detour(sid: str) -> tuple[int, str]:
        return (data.minutes(van.depot, sid) + data.minutes(sid, van.depot), sid)

    by_district: dict[str, list[str]] = defaultdict(list)
    for sid in windows_of:
        by_district[data.site(sid).district_id].append(sid)
    dropped: set[str] = set()
    for group in by_district.values():
        group.sort(key=detour)
        kept: list[str] = []
        for s2 in group:
            if s2 not in event_sites and any(
                windows_of[s2] <= windows_of[s] and dominates(s, s2) for s in kept
            ):
                dropped.add(s2)
            else:
                kept.append(s2)
    return dropped


def reservation_sites(data: PlanInput, van: Van, d: date, w: Window) -> set[str]:
    """Sites a reservation visit may use in this slot."""
    return {
        e.site_ids[0]
        for e in data.events
        if e.kind == ACTIVITY_RESERVATION
        and e.date_from <= d <= e.date_to
        and (e.van_id is None or e.van_id == van.id)
        and (e.window is None or e.window == w)
        and reachable(data, van, d, w, e.site_ids[0])
    }


def useful_sites(
    data: PlanInput,
    van: Van,
    windows: tuple[Window, ...],
    lists: list[list[str]],
    targets: list[set[str]],
    announced: set[str],
    dist: Distances,
) -> list[list[str]]:
    """The regular candidates of a van-day of one or two windows that can be best.

    Regular stops of one district are interchangeable but for driving. With one window
    only the site of each district with the shortest round trip is needed. With two,
    a morning site is needed only if it is the best of its district before some
    possible afternoon stop ``t`` (least ``d(D, s) + d(s, t)``, reachable in time) or
    the best on its own, and the other way round. Any plan is no worse with its stops
    swapped for these (first the morning stop for the best before the afternoon one,
    then the afternoon stop for the best after it), so the reduction is exact.
    Announced visits of a re-plan are never dropped (their site matters).
    """
    depot = van.depot

    def groups(sites: list[str]) -> dict[str, list[str]]:
        out: dict[str, list[str]] = defaultdict(list)
        for sid in sites:
            if sid not in announced:
                out[data.site(sid).district_id].append(sid)
        return out

    def rt(sid: str) -> tuple[int, str]:
        return (data.minutes(depot, sid) + data.minutes(sid, depot), sid)

    keep = [{sid for sid in sites if sid in announced} for sites in lists]
    grouped = [groups(sites) for sites in lists]
    for i, g in enumerate(grouped):
        keep[i] |= {min(members, key=rt) for members in g.values()}
    if len(windows) == 2:
        budget = drive_budget(data, windows[0], windows[1])
        out, back = dist.depot(depot)
        ids = dist.ids
        # For each afternoon stop t and morning district: the site with the least
        # d(D, s) + d(s, t) that t can follow (ties: the lowest site id).
        if targets[1]:
            t1 = dist.index(targets[1])
            for members in grouped[0].values():
                m = dist.index(members)
                score = out[m][:, None] + dist.follow(m, t1, budget)
                fits = score.min(axis=0) < FAR
                keep[0].update(ids[m[a]] for a in set(score.argmin(axis=0)[fits].tolist()))
        # For each morning stop t and afternoon district: least d(t, s) + d(s, D).
        if targets[0]:
            t0 = dist.index(targets[0])
            for members in grouped[1].values():
                m = dist.index(members)
                score = dist.follow(t0, m, budget) + back[m][None, :]
                fits = score.min(axis=1) < FAR
                keep[1].update(ids[m[a]] for a in set(score.argmin(axis=1)[fits].tolist()))
    return [[sid for sid in sites if sid in keep[i]] for i, sites in enumerate(lists)]


def pinned_sites(data: PlanInput, van: Van, d: date) -> set[str]:
    """Sites of ``[[pins]]`` on this day that this van may serve (never dropped)."""
    return {p.site_id for p in data.pins if p.date == d and p.van_id in (None, van.id)}
