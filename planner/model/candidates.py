"""Build the tour-planning MIP (PuLP). ``build()`` only builds; ``planner.solve`` solves.

Decision variables
------------------
``x[van, day, window, site, activity, event]`` (binary): the van serves the site in
that window of that day. Only candidates that can work are created: the site is
open that weekday for the whole window, and the van can drive from its depot at the
start of its shift and back before its end. A slot ``(van, day, window)`` holds at
most one candidate (exactly one for a pinned or disaster slot).

``r[van, day, window, district]`` (continuous, = the sum of ``x`` at the district's
sites) lets travel and trip constraints address a whole district at once, which
keeps the large instances sparse.

``visit[district, day]`` (binary): the district has a regular visit that day (any
van, any window). Minimum and maximum visits and the spacing between visits are
rules on these. ``vday[van, district, day]`` (continuous, only where several vans
could serve the district that day): which van does; their sum is at most ``visit``,
so a district gets at most one van-day of regular stops per day.

``seg[district, j]`` (continuous 0..1): the j-th regular stop in the district over
the horizon, valued at ``demand × diminishing[j]`` (concave, so the LP fills the
segments in order: piecewise-linear diminishing returns).

Driving enters the objective in one of two ways (``[objective] driving``):

- ``"approximate"`` (the default; round one's term): ``trip[van, district, day]`` (continuous) charges
  a round trip to the district's nearest site per van-day, plus half of each used
  site's extra detour; the order of the day's stops is not seen.
- ``"exact"``: the driving of each van-day's order (depot → stops by window → depot).
  A day of two slots is priced by day patterns: ``pair[van, day, g1, g2]`` (a stop
  of group g1, then one of g2; a group is a district's regular stops, or one site
  that matters on its own) costs the shortest such route, ``alone[…]`` a lone stop's
  round trip, and ``visit[district, day]`` needs a pattern that holds the district.
  Other days use ``leg[van, day, (window, site), (window, site)]`` (continuous): two
  stops that follow each other. See :func:`add_driving`.

plan.json's ``driving_minutes`` are counted exactly for the day's order in both modes.

The objective maximises expected residents served minus driving, minus a penalty
per moved already-announced visit (re-planning), minus a large penalty for any
shortfall against district minimums when a disaster window takes priority.

Every constraint is named after its family and indices (``slot_…``,
``travel_…``, ``visit_link_…``, ``min_visits_…``, ``spacing_…`` …).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np
import pulp

from planner.inputs import (
    ACTIVITY_DISASTER,
    ACTIVITY_REGULAR,
    ACTIVITY_RESERVATION,
    ACTIVITY_VOTING,
    WEEKDAY_CHARS,
    KeptVisit,
    Pin,
    PlanInput,
    Stop,
    Van,
    Window,
    hhmm,
)

# A candidate key: (van id, date, window index, site id, activity, event id or "").
Key = tuple[str, date, int, str, str, str]
SlotKey = tuple[str, date, int]

FAMILIES = (
    "min_visits",
    "max_visits",
    "spacing",
    "reservation",
    "pinned",
    "required_slot",
    "pins",
)


@dataclass
class Slot:
    """One service window of one van on one day."""

    van_id: str
    day: date
    index: int
    window: Window
    kind: str  # regular | voting | disaster | kept
    required: bool = False
    opened_day: bool = False


@dataclass
class Model:
    """The built PuLP problem and the maps needed to read a solution back."""

    data: PlanInput
    prob: pulp.LpProblem
    slots: dict[SlotKey, Slot]
    x: dict[Key, pulp.LpVariable]
    fixed: set[Key]
    visit: dict[tuple[str, date], pulp.LpVariable]
    seg: dict[tuple[str, int], pulp.LpVariable]
    seg_value: dict[tuple[str, int], float]
    shortfall: dict[str, pulp.LpVariable]
    slack: dict[str, dict[str, pulp.LpVariable]]
    announced: list[tuple[KeptVisit, Key | None]]
    elastic: bool = False
    unreachable: list[str] = field(default_factory=list)
    # The driving cost in the objective and its leg variables (see ``add_driving``).
    driving: pulp.LpAffineExpression = field(default_factory=pulp.LpAffineExpression)
    legs: list[pulp.LpVariable] = field(default_factory=list)
    patterns: list[DayPattern] = field(default_factory=list)
    distances: Distances | None = None
    # (district, day) → the day patterns that hold a regular stop in the district
    cover: dict[tuple[str, date], list[pulp.LpVariable]] = field(
        default_factory=lambda: defaultdict(list)
    )


_NON_WORD = re.compile(r"\W")


def _sum(variables: Iterable[pulp.LpVariable]) -> pulp.LpAffineExpression:
    """Sum of variables (much faster than ``lpSum`` over a generator of variables)."""
    return pulp.LpAffineExpression([(v, 1.0) for v in variables])


def _name(*parts: object) -> str:
    return _NON_WORD.sub(
        "_", "_".join(p.strftime("%Y%m%d") if isinstance(p, date) else str(p) for p in parts)
    )


_FAR = 10**9  # "cannot follow in time" in the distance arrays


class Distances:
    """The travel minutes between sites as an array (rows and columns in site-id order),
    with each depot's minutes to and from every site: the exact-driving reductions and
    patterns compare whole groups of sites at once."""

    def __init__(self, data: PlanInput) -> None:
        self.data = data
        self.ids = sorted(s.id for s in data.sites)
        self.at = {sid: i for i, sid in enumerate(self.ids)}
        n = len(self.ids)
        self.matrix = np.zeros((n, n), dtype=np.int64)
        travel = data.travel
        for i, a in enumerate(self.ids):
            row = self.matrix[i]
            for j, b in enumerate(self.ids):
                if i != j:
                    row[j] = travel[(a, b)]
        self._depots: dict[str, tuple[np.ndarray, np.ndarray]] = {}

    def index(self, site_ids: Iterable[str]) -> np.ndarray:
        """Row numbers of the sites, in site-id order."""
        return np.array(sorted(self.at[s] for s in site_ids), dtype=np.int64)

    def depot(self, depot: str) -> tuple[np.ndarray, np.ndarray]:
        """(minutes from the depot to each site, from each site back to the depot)."""
        if depot not in self._depots:
            data = self.data
            out = np.array([data.minutes(depot, s) for s in self.ids], dtype=np.int64)
            back = np.array([data.minutes(s, depot) for s in self.ids], dtype=np.int64)
            self._depots[depot] = (out, back)
        return self._depots[depot]

    def follow(self, first: np.ndarray, second: np.ndarray, budget: int) -> np.ndarray:
        """Minutes from each ``first`` site to each ``second`` site, ``_FAR`` where the
        second cannot follow the first within ``budget`` (the same site always can)."""
        sub = self.matrix[np.ix_(first, second)]
        same = first[:, None] == second[None, :]
        return np.where(same | (sub <= budget), sub, _FAR)


def _distances(model: Model) -> Distances:
    if model.distances is None:
        model.distances = Distances(model.data)
    return model.distances


def reachable(data: PlanInput, van: Van, day: date, window: Window, site_id: str) -> bool:
    """The site is open for the window and the van can come from and go back to its depot."""
    site = data.site(site_id)
    pol = data.policy
    if not site.is_open(day, window):
        return False
    arrive = window.start - pol.setup_minutes
    depart = window.end + pol.teardown_minutes
    return (
        van.shift_start + data.minutes(van.depot, site_id) <= arrive
        and depart + data.minutes(site_id, van.depot) <= van.shift_end
    )


def _regular_sites(
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


def _budget(data: PlanInput, w1: Window, w2: Window) -> int:
    """Minutes left for driving between a stop in ``w1`` and one in the later ``w2``."""
    return w2.start - w1.end - data.policy.teardown_minutes - data.policy.setup_minutes


def _undominated(
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


def _dominated_for_driving(
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


def _reservation_sites(data: PlanInput, van: Van, d: date, w: Window) -> set[str]:
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


def _useful_sites(
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
        budget = _budget(data, windows[0], windows[1])
        out, back = dist.depot(depot)
        ids = dist.ids
        # For each afternoon stop t and morning district: the site with the least
        # d(D, s) + d(s, t) that t can follow (ties: the lowest site id).
        if targets[1]:
            t1 = dist.index(targets[1])
            for members in grouped[0].values():
                m = dist.index(members)
                score = out[m][:, None] + dist.follow(m, t1, budget)
                fits = score.min(axis=0) < _FAR
                keep[0].update(ids[m[a]] for a in set(score.argmin(axis=0)[fits].tolist()))
        # For each morning stop t and afternoon district: least d(t, s) + d(s, D).
        if targets[0]:
            t0 = dist.index(targets[0])
            for members in grouped[1].values():
                m = dist.index(members)
                score = dist.follow(t0, m, budget) + back[m][None, :]
                fits = score.min(axis=1) < _FAR
                keep[1].update(ids[m[a]] for a in set(score.argmin(axis=1)[fits].tolist()))
    return [[sid for sid in sites if sid in keep[i]] for i, sites in enumerate(lists)]


def _pinned_sites(data: PlanInput, van: Van, d: date) -> set[str]:
    """Sites of ``[[pins]]`` on this day that this van may serve (never dropped)."""
    return {p.site_id for p in data.pins if p.date == d and p.van_id in (None, van.id)}


def _pin_keys(model: Model) -> set[Key]:
    """The regular candidates that a ``[[pins]]`` entry asks for (their site matters)."""
    out: set[Key] = set()
    for pin in model.data.pins:
        for key in model.x:
            if (
                key[1] == pin.date
                and key[3] == pin.site_id
                and key[4] == ACTIVITY_REGULAR
                and pin.van_id in (None, key[0])
                and model.slots[key[:3]].window == pin.window
            ):
                out.add(key)
    return out


def _event_van(data: PlanInput, van_id: str | None) -> str:
    return van_id if van_id is not None else data.vans[0].id


def _build_slots(model: Model) -> None:
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
        return _distances(model)

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
                    for sid in _regular_sites(data, van, d, w, site_ids, nearest)
                    if not forbidden(sid, d)
                ]
                for w in day.windows
            ]
            # Exact driving: keep only candidates and legs that can be best (below and in
            # add_driving). Approximate driving: the dominance of _undominated.
            driving = pol.driving == "exact" and pol.weights.travel_per_minute > 0
            pinned = _pinned_sites(data, van, d)
            if not disaster and pol.drop_dominated and driving and len(day.windows) <= 2:
                # Announced and pinned visits are never dropped (their site matters).
                announced = {k.site_id for k in data.keep if (k.van_id, k.date) == (van.id, d)}
                announced |= pinned
                targets = [
                    set(lists[i]) | _reservation_sites(data, van, d, w)
                    for i, w in enumerate(day.windows)
                ]
                lists = _useful_sites(
                    data, van, day.windows, lists, targets, announced, distances()
                )
            elif not disaster and pol.drop_dominated and driving and pol.replan_from is None:
                dropped = _dominated_for_driving(data, van, lists, closer) - pinned
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
                        _budget(data, w, w2) if w.start < w2.start else _budget(data, w2, w)
                        for w2 in day.windows
                        if w2 != w
                    ]
                    regular = _undominated(data, van, regular, budgets, far_sets)
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
                _name("x", van_id, d, i, site_id, activity, event_id), low, 1, pulp.LpBinary
            )
            if fixed:
                model.fixed.add(key)


def add_forbids(model: Model) -> None:
    """``[[forbid]]``: no visit to a forbidden site on a forbidden day.

    Regular candidates were already left out (before dominance); this removes the
    remaining ones (reservations, disaster sessions). A voting stop the policy fixes
    on a forbidden site and day cannot move: it is reported as a conflict.
    """
    data = model.data
    if not data.forbids:
        return
    for key in list(model.x):
        van_id, d, _i, site_id, _activity, _e = key
        if not data.forbidden(site_id, d) or model.slots[key[:3]].kind == "kept":
            continue
        if key in model.fixed:
            model.unreachable.append(
                f"{d} の{model.slots[key[:3]].window.label} {data.site(site_id).name}"
                f"({van_id})は固定の予定ですが、[[forbid]] で訪問を禁止した会場・日です"
            )
            continue
        model.x.pop(key).upBound = 0


def _pin_reason(model: Model, pin: Pin, van: Van) -> str:
    """Why a pin cannot be a regular stop of ``van`` (Japanese), or ``""`` if it can."""
    data = model.data
    d, w = pin.date, pin.window
    site = data.site(pin.site_id)
    day = next((x for x in data.days if x.date == d), None)
    if day is None:
        return "その日は稼働日ではありません(土日・祝日・休業日。calendar.opened で開けられます)"
    if d in van.maintenance:
        return f"{van.name}の整備日です"
    slot = next(
        (
            sl
            for (vid, sd, _i), sl in model.slots.items()
            if vid == van.id and sd == d and sl.window == w
        ),
        None,
    )
    if slot is None:
        kinds = {sl.kind for (vid, sd, _i), sl in model.slots.items() if vid == van.id and sd == d}
        if ACTIVITY_VOTING in kinds:
            return f"{van.name}はその日、期日前投票の巡回です"
        if w not in day.windows:
            return (
                f"{w.label} はその日の受付時間帯ではありません"
                f"(受付時間帯: {'、'.join(x.label for x in day.windows)})"
            )
        return "その日は計画し直しの対象外です"
    if slot.kind != ACTIVITY_REGULAR:
        return f"{van.name}はその日、災害対応の受付です"
    if not site.is_open(d, w):
        days = "".join("月火水木金土日"[x] for x in sorted(site.open_weekdays))
        return f"会場の利用可能時間外です(利用可能: {days} {hhmm(site.open_from)}-{hhmm(site.open_to)})"
    if not reachable(data, van, d, w, site.id):
        return (
            f"{van.name}の勤務時間({hhmm(van.shift_start)}-{hhmm(van.shift_end)})内に"
            "車庫から往復できません"
        )
    if data.forbidden(site.id, d):
        return "[[forbid]] で訪問を禁止した会場・日です"
    return ""


def add_pins(model: Model) -> None:
    """``[[pins]]``: each pinned visit (site, day, window; van optional) is in the plan.

    A pinned site that dominance or ``sites.per_district`` left out of its slot is put
    back as a candidate. A pin that no van can serve is reported, with the reason for
    each van, before solving.
    """
    data = model.data
    frozen = data.policy.replan_from
    for n, pin in enumerate(data.pins, start=1):
        if frozen is not None and pin.date < frozen:
            continue  # the days before a re-plan are kept as they are
        vans = [data.van(pin.van_id)] if pin.van_id else list(data.vans)
        keys: list[Key] = []
        reasons: list[str] = []
        for van in vans:
            why = _pin_reason(model, pin, van)
            if why:
                reasons.append(why if len(vans) == 1 else f"{van.name}: {why}")
                continue
            skey = next(
                k
                for k, sl in model.slots.items()
                if k[0] == van.id and k[1] == pin.date and sl.window == pin.window
            )
            key: Key = (*skey, pin.site_id, ACTIVITY_REGULAR, "")
            if key not in model.x:
                model.x[key] = model.prob.add_variable(_name("x", *key), 0, 1, pulp.LpBinary)
            keys.append(key)
        label = (
            f"{pin.date.month}月{pin.date.day}日 {pin.window.label} {data.site(pin.site_id).name}"
        )
        if not keys:
            model.unreachable.append(
                f"固定した訪問({label})を計画に入れられません: "
                + " / ".join(dict.fromkeys(reasons))
            )
            continue
        name = _name("pin", n, pin.site_id, pin.date)
        model.prob += _sum(model.x[k] for k in keys) + _slack(model, "pins", name) >= 1, name


def _by_slot(model: Model) -> dict[SlotKey, list[Key]]:
    out: dict[SlotKey, list[Key]] = defaultdict(list)
    for key in model.x:
        out[key[:3]].append(key)
    return out


def _slack(model: Model, family: str, name: str) -> pulp.LpVariable | int:
    if not model.elastic:
        return 0
    var = model.prob.add_variable(f"slack_{name}", 0, None, pulp.LpContinuous)
    model.slack[family][name] = var
    return var


def add_slot_capacity(model: Model, by_slot: dict[SlotKey, list[Key]]) -> None:
    """At most one stop per slot; exactly one in a pinned or disaster slot."""
    for skey, slot in model.slots.items():
        keys = by_slot.get(skey, [])
        name = _name("slot", *skey)
        total = _sum(model.x[k] for k in keys)
        if slot.required:
            family = "pinned" if slot.kind in ("kept", ACTIVITY_VOTING) else "required_slot"
            model.prob += total + _slack(model, family, name) >= 1, name + "_fill"
        if keys:
            model.prob += total <= 1, name


def add_fixed(model: Model) -> None:
    """Pinned and kept stops are fixed; in elastic mode their fixing may be relaxed."""
    if not model.elastic:
        return
    for key in sorted(model.fixed):
        name = _name("fixed", *key)
        model.prob += model.x[key] + _slack(model, "pinned", name) >= 1, name


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
            name = _name("district_slot", *skey, did)
            var = model.prob.add_variable("r_" + name, 0, 1, pulp.LpContinuous)
            r[(*skey, did)] = var
            model.prob += var == _sum(model.x[k] for k in ks), name
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
                        _sum(terms) <= 1,
                        _name("travel", van_id, d, k1[2], k2[2], s1),
                    )


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
        var = model.prob.add_variable(_name("visit", did, d), 0, 1, pulp.LpBinary)
        model.visit[(did, d)] = var
        model.prob += var <= _sum(model.x[k] for k in keys), _name("visit_real", did, d)
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
                _name("vday", van_id, did, d), 0, 1, pulp.LpContinuous
            )
        model.prob += (
            _sum(vday[(v, did, d)] for v in sorted(vans)) <= model.visit[(did, d)],
            _name("district_van_day", did, d),
        )
    for (skey, did), keys in per_slot.items():
        vkey = (skey[0], did, skey[1])
        link = vday[vkey] if vkey in vday else model.visit[(did, skey[1])]
        model.prob += (
            _sum(model.x[k] for k in keys) <= link,
            _name("visit_link", did, *skey),
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
        total = _sum(days)
        if dist.min_visits > 0:
            name = _name("min_visits", dist.id)
            relax: pulp.LpVariable | int = _slack(model, "min_visits", name)
            if soft and not model.elastic:
                relax = model.prob.add_variable(
                    _name("shortfall", dist.id), 0, dist.min_visits, pulp.LpContinuous
                )
                model.shortfall[dist.id] = relax
            model.prob += total + relax >= dist.min_visits, name
        if dist.max_visits < 99 and days:
            name = _name("max_visits", dist.id)
            model.prob += total - _slack(model, "max_visits", name) <= dist.max_visits, name


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
            name = _name("spacing", dist.id, d)
            model.prob += (
                _sum(model.visit[(dist.id, e)] for e in window) - _slack(model, "spacing", name)
                <= 1,
                name,
            )


def add_reservations(model: Model) -> None:
    """Each reservation visit (予約訪問) happens exactly once within its date range."""
    data = model.data
    for e in data.events:
        if e.kind != ACTIVITY_RESERVATION:
            continue
        keys = [k for k in model.x if k[4] == ACTIVITY_RESERVATION and k[5] == e.id]
        kept_before = [
            k
            for k in data.keep
            if data.policy.replan_from is not None
            and k.date < data.policy.replan_from
            and k.event_id == e.id
        ]
        if kept_before:
            continue
        name = _name("reservation", e.id)
        model.prob += (
            _sum(model.x[k] for k in keys) + _slack(model, "reservation", name) == 1,
            name,
        )


def add_disaster_spread(model: Model) -> None:
    """Spread each disaster window's sessions over its affected halls (``spread = true``).

    With N sessions and H halls each hall gets at least ⌊N/H⌋ sessions and at most
    ⌈N/H⌉ — fewer where a hall can be reached in fewer sessions, and no upper limit
    when the halls that can be reached cannot take the sessions otherwise.
    """
    data = model.data
    for e in data.events:
        if e.kind != ACTIVITY_DISASTER or not e.spread:
            continue
        keys = [k for k in model.x if k[4] == ACTIVITY_DISASTER and k[5] == e.id]
        sessions = len({k[:3] for k in keys})
        by_hall: dict[str, list[Key]] = defaultdict(list)
        for k in keys:
            by_hall[k[3]].append(k)
        if sessions == 0 or len(by_hall) < 2:
            continue
        halls = len(by_hall)
        low, high = sessions // halls, -(-sessions // halls)
        capped = sum(min(len(ks), high) for ks in by_hall.values()) >= sessions
        for sid, ks in sorted(by_hall.items()):
            total = _sum(model.x[k] for k in ks)
            name = _name("disaster_share", e.id, sid)
            need = min(low, len(ks))
            if need > 0:
                model.prob += total + _slack(model, "required_slot", name) >= need, name
            if capped:
                model.prob += (
                    total - _slack(model, "required_slot", name + "_max") <= high,
                    name + "_max",
                )


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
            var = model.prob.add_variable(_name("seg", dist.id, j), 0, 1, pulp.LpContinuous)
            model.seg[(dist.id, j)] = var
            model.seg_value[(dist.id, j)] = data.demand[dist.id] * factor
            segs.append(var)
            terms.append((var, value))
        model.prob += (
            _sum(segs) == _sum(model.x[k] for k in keys),
            _name("demand", dist.id),
        )
    return pulp.LpAffineExpression(terms)


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


@dataclass
class DayPattern:
    """The two slots of a van-day priced by patterns, and how to read its sites back."""

    slots: tuple[SlotKey, SlotKey]
    # group → the candidate keys of that group in each slot
    groups: tuple[dict[tuple[str, str], list[Key]], dict[tuple[str, str], list[Key]]]
    # (group 1, group 2) → the best pair of sites; group → the best site alone
    pair_sites: dict[tuple[tuple[str, str], tuple[str, str]], tuple[str, str]]
    alone_sites: tuple[dict[tuple[str, str], str], dict[tuple[str, str], str]]


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
    special |= _pin_keys(model)
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
            _add_pattern(model, (skeys[0], skeys[1]), key_groups, cost)
            continue
        used = {sk: _sum(model.x[x] for x in by_slot[sk]) for sk in skeys}
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
                        _name("leg", van_id, d, k1[2], s1, k2[2], s2), 0, 1, pulp.LpContinuous
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
                            >= _sum(model.x[x] for x in at[(k1, s1)])
                            + _sum(model.x[x] for x in at[(k2, s2)])
                            - 1
                            - pulp.lpSum(gap_used),
                            _name("leg_forced", van_id, d, k1[2], s1, k2[2], s2),
                        )
        for (sk, sid), legs in outs.items():
            model.prob += (
                _sum(legs) <= _sum(model.x[x] for x in at[(sk, sid)]),
                _name("leg_out", van_id, d, sk[2], sid),
            )
        for (sk, sid), legs in ins.items():
            model.prob += (
                _sum(legs) <= _sum(model.x[x] for x in at[(sk, sid)]),
                _name("leg_in", van_id, d, sk[2], sid),
            )
        for (a, b), legs in jumps.items():
            for c in range(a + 1, b):
                model.prob += (
                    _sum(legs) + used[skeys[c]] <= 1,
                    _name("leg_skip", van_id, d, skeys[a][2], skeys[c][2], skeys[b][2]),
                )
    return pulp.LpAffineExpression(cost)


def _add_pattern(
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
    budget = _budget(data, model.slots[k1].window, model.slots[k2].window)
    g1, g2 = key_groups(k1), key_groups(k2)
    dist = _distances(model)
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
            if minutes < _FAR:
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
            _name("pair", van_id, d, k1[2], *a, k2[2], *b), 0, 1, pulp.LpContinuous
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
                _name("alone", van_id, d, window, *g), 0, 1, pulp.LpContinuous
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
    used1 = {g: _sum(model.x[k] for k in ks) for g, ks in g1.items()}
    used2 = {g: _sum(model.x[k] for k in ks) for g, ks in g2.items()}
    for g in sorted(g1):
        model.prob += (
            _sum(v for (a, _b), v in pair.items() if a == g) + lone1[g] == used1[g],
            _name("pattern", van_id, d, k1[2], *g),
        )
    for g in sorted(g2):
        model.prob += (
            _sum(v for (_a, b), v in pair.items() if b == g) + lone2[g] == used2[g],
            _name("pattern", van_id, d, k2[2], *g),
        )
    # A stop is alone only when the other slot is empty.
    model.prob += (
        _sum(lone1.values()) + pulp.lpSum(used2.values()) <= 1,
        _name("pattern_alone", van_id, d, k1[2]),
    )
    model.prob += (
        _sum(lone2.values()) + pulp.lpSum(used1.values()) <= 1,
        _name("pattern_alone", van_id, d, k2[2]),
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
            var <= _sum(held) + _sum(model.x[k] for k in other.get((did, d), [])),
            _name("visit_cover", did, d),
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
            trip[key] = model.prob.add_variable(_name("trip", *key), 0, 1, pulp.LpContinuous)
            cost.append((trip[key], rate * base[(van_id, did)]))
        model.prob += trip[key] >= r[(van_id, d, w, did)], _name("trip", van_id, did, d, w)
    for k, var in model.x.items():
        van = data.van(k[0])
        detour = data.minutes(van.depot, k[3]) + data.minutes(k[3], van.depot)
        extra = detour - base[(k[0], data.site(k[3]).district_id)]
        if extra:
            cost.append((var, rate * 0.5 * extra))
    return pulp.LpAffineExpression(cost)


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


def build(data: PlanInput, *, elastic: bool = False) -> Model:
    """Build the model for ``data``.

    Args:
        data: The validated inputs.
        elastic: Build the diagnostic variant: every rule family that can conflict
            gets a slack and the objective only minimises the total slack. Used by
            :mod:`planner.solve` to name the rules behind an infeasible policy.

    Returns:
        The model, not yet solved.
    """
    sense = pulp.LpMinimize if elastic else pulp.LpMaximize
    prob = pulp.LpProblem("tour_plan" + ("_elastic" if elastic else ""), sense)
    model = Model(
        data=data,
        prob=prob,
        slots={},
        x={},
        fixed=set(),
        visit={},
        seg={},
        seg_value={},
        shortfall={},
        slack={f: {} for f in FAMILIES},
        announced=[],
        elastic=elastic,
    )
    _build_slots(model)
    add_forbids(model)
    add_pins(model)
    by_slot = _by_slot(model)
    add_slot_capacity(model, by_slot)
    add_fixed(model)
    r = add_district_slots(model, by_slot)
    patterns = pattern_days(model, by_slot)
    add_travel(model, by_slot, r, skip=patterns)
    add_visit_days(model, by_slot)
    add_min_max_visits(model)
    add_spacing(model)
    add_reservations(model)
    add_disaster_spread(model)
    value = add_demand(model)
    moves = add_moves(model)
    exact = data.policy.driving == "exact"
    travel = add_driving(model, by_slot, patterns) if exact else add_trips(model, r)
    add_visit_cover(model, by_slot, patterns)
    model.driving = travel
    if elastic:
        prob += pulp.lpSum(v for fam in model.slack.values() for v in fam.values())
    else:
        short = pulp.lpSum(data.policy.weights.shortfall * v for v in model.shortfall.values())
        objective = value - travel - moves - short
        # PuLP keeps an objective's constant to itself (HiGHS never sees it, so its
        # relative gap would be measured against another objective and it would stop
        # early). A variable fixed at 1 carries the constant into the solver.
        constant = float(objective.constant)
        if constant:
            one = prob.add_variable("objective_constant", 1, 1, pulp.LpContinuous)
            objective = objective - constant + constant * one
        prob += objective
    return model
