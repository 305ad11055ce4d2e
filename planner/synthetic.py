"""Synthetic planning instances around Iwaki (benchmarks and tests; no database needed)."""

from __future__ import annotations

import random
from datetime import date, timedelta

import jpholiday

from odekake.masterdata import master
from planner.demand import prior
from planner.inputs import (
    ACTIVITY_DISASTER,
    ACTIVITY_RESERVATION,
    ACTIVITY_VOTING,
    Day,
    District,
    PinnedEvent,
    PlanInput,
    Policy,
    Site,
    Stop,
    Van,
    Window,
    depot_node,
)
from planner.travel import straight_line_matrix

DEFAULT_WINDOWS = (Window(600, 720), Window(810, 930))
_PATTERNS = (
    frozenset(range(5)),
    frozenset(range(5)),
    frozenset(range(5)),
    frozenset({0, 2, 4}),
    frozenset({1, 3}),
)


def working_days(start: date, n: int, windows: tuple[Window, ...] = DEFAULT_WINDOWS) -> list[Day]:
    """The first ``n`` weekdays from ``start`` that are not public holidays."""
    out: list[Day] = []
    d = start
    while len(out) < n:
        if d.weekday() < 5 and not jpholiday.is_holiday(d):
            out.append(Day(d, windows))
        d += timedelta(days=1)
    return out


def instance(
    *,
    n_sites: int = 52,
    n_days: int = 22,
    n_vans: int = 1,
    start: date = date(2027, 1, 4),
    seed: int = 1,
    min_visits: int = 1,
    max_visits: int = 3,
    min_days_between: int = 7,
    events: bool = False,
    sites_per_district: int = 0,
    drop_dominated: bool = True,
    driving: str = "approximate",
) -> PlanInput:
    """An Iwaki-like instance: the 13 districts, ``n_sites`` sites spread over them.

    With ``events``: an early-voting day (van 1, three short stops), a disaster window
    of ten working days (the last van, at four halls) and two reservation visits.
    """
    rng = random.Random(seed)
    base = master.IWAKI_DISTRICTS
    sites: list[Site] = []
    for i in range(n_sites):
        d = base[i % len(base)]
        sites.append(
            Site(
                id=f"{d.id}-{i // len(base) + 1:02d}",
                district_id=d.id,
                name=f"{d.name}会場{i // len(base) + 1}",
                lat=round(d.lat + rng.uniform(-0.03, 0.03), 5),
                lon=round(d.lon + rng.uniform(-0.03, 0.03), 5),
                open_weekdays=rng.choice(_PATTERNS),
            )
        )
    districts = tuple(
        District(
            id=d.id,
            name=d.name,
            lat=d.lat,
            lon=d.lon,
            population=d.population,
            min_visits=min_visits,
            max_visits=max_visits,
            min_days_between=min_days_between,
        )
        for d in base
    )
    hall = master.CITY_HALL
    vans = tuple(
        Van(f"van-{k}", f"{k}号車", hall[0], hall[1], hall[2]) for k in range(1, n_vans + 1)
    )
    days = working_days(start, n_days)
    branches = [d for d in districts if d.id != "chuodai"]
    demand = {
        d.id: prior(d, [s for s in sites if s.district_id == d.id], branches) for d in districts
    }
    points = {s.id: (s.lat, s.lon) for s in sites} | {
        depot_node(v.id): (v.depot_lat, v.depot_lon) for v in vans
    }
    travel = straight_line_matrix(points, 1.4, 35.0)
    evs: list[PinnedEvent] = []
    if events:
        by_d: dict[str, list[Site]] = {}
        for s in sites:
            by_d.setdefault(s.district_id, []).append(s)
        vote_day = days[len(days) // 3].date
        ogawa = [s for s in by_d["ogawa"] if vote_day.weekday() in s.open_weekdays][:3]
        stops = tuple(Stop(s.id, Window(600 + 120 * k, 660 + 120 * k)) for k, s in enumerate(ogawa))
        evs.append(
            PinnedEvent(
                "vote-1",
                ACTIVITY_VOTING,
                vote_day,
                vote_day,
                "移動期日前投票所",
                "van-1",
                stops=stops,
                services=("voting",),
            )
        )
        first = days[len(days) // 2].date
        last = days[min(len(days) - 1, len(days) // 2 + 9)].date
        halls = tuple(
            s.id
            for d in ("tabito", "nakoso", "uchigo", "yoshima")
            for s in by_d[d]
            if s.open_weekdays == frozenset(range(5))
        )[:4] or tuple(s.id for s in by_d["nakoso"][:2])
        evs.append(
            PinnedEvent(
                "flood-1",
                ACTIVITY_DISASTER,
                first,
                last,
                "り災証明書出張申請受付",
                vans[-1].id,
                site_ids=halls,
                services=("disaster",),
            )
        )
        for k, did in enumerate(("miwa", "kawamae")):
            s = by_d[did][0]
            evs.append(
                PinnedEvent(
                    f"resv-{k + 1}",
                    ACTIVITY_RESERVATION,
                    days[2 + 5 * k].date,
                    days[8 + 5 * k].date,
                    "予約訪問(フレイル予防)",
                    None,
                    site_ids=(s.id,),
                    services=("consultation", "frailty"),
                )
            )
    policy = Policy(
        horizon_start=days[0].date,
        horizon_end=days[-1].date,
        sites_per_district=sites_per_district,
        drop_dominated=drop_dominated,
        driving=driving,
    )
    return PlanInput(
        policy=policy,
        districts=districts,
        sites=tuple(sites),
        vans=vans,
        days=tuple(days),
        travel=travel,
        demand=demand,
        events=tuple(evs),
    )
