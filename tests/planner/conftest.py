"""Tiny planning instances solvable by hand, as named fixtures.

All share one shape: a depot ``D`` and a few sites with hand-set travel minutes,
districts whose expected users per visit are round numbers, consecutive weekdays
from Monday 2027-01-04 (no holidays), and setup/teardown of 0 unless stated.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date, timedelta
from typing import Any

import pytest

from planner.inputs import (
    Day,
    District,
    PinnedEvent,
    PlanInput,
    Policy,
    Site,
    Van,
    Weights,
    Window,
    depot_node,
)

MONDAY = date(2027, 1, 4)
AM = Window(600, 720)
PM = Window(810, 930)


def make_input(
    *,
    sites: dict[str, tuple[str, int]],
    demand: dict[str, float],
    n_days: int = 2,
    windows: tuple[Window, ...] = (AM,),
    between: dict[tuple[str, str], int] | None = None,
    rules: dict[str, dict[str, Any]] | None = None,
    diminishing: tuple[float, ...] = (1.0, 0.5),
    travel_weight: float = 0.0,
    setup: int = 0,
    events: tuple[PinnedEvent, ...] = (),
    n_vans: int = 1,
    **policy_kw: Any,
) -> PlanInput:
    """``sites``: site id → (district id, minutes from the depot, both ways);
    ``between``: minutes between two sites (default 10)."""
    vans = tuple(
        Van(f"v{k}", f"{k}号車", "市役所", 37.05, 140.88, 8 * 60 + 30, 17 * 60 + 15)
        for k in range(1, n_vans + 1)
    )
    site_objs = tuple(Site(sid, did, f"会場{sid}", 37.0, 140.8) for sid, (did, _m) in sites.items())
    districts = tuple(
        District(did, f"地区{did}", 37.0, 140.8, 1000, **(rules or {}).get(did, {}))
        for did in demand
    )
    travel: dict[tuple[str, str], int] = {}
    for v in vans:
        for sid, (_d, m) in sites.items():
            travel[(depot_node(v.id), sid)] = m
            travel[(sid, depot_node(v.id))] = m
    for a in sites:
        for b in sites:
            if a != b:
                travel[(a, b)] = (between or {}).get((a, b), (between or {}).get((b, a), 10))
    for v in vans:
        for w in vans:
            travel[(depot_node(v.id), depot_node(w.id))] = 0
    days = tuple(Day(MONDAY + timedelta(days=i), windows) for i in range(n_days))
    policy = Policy(
        horizon_start=days[0].date,
        horizon_end=days[-1].date,
        setup_minutes=setup,
        teardown_minutes=setup,
        diminishing=diminishing,
        weights=Weights(travel_per_minute=travel_weight),
        **policy_kw,
    )
    return PlanInput(
        policy=policy,
        districts=districts,
        sites=site_objs,
        vans=vans,
        days=days,
        travel=travel,
        demand=demand,
        events=events,
    )


@pytest.fixture(scope="session", autouse=True)
def every_plan_is_checked() -> Iterator[None]:
    """Every plan the planner tests produce goes through the independent checker.

    ``planner.solve.read_plan`` (which every solve ends with, the CLI's included) is
    wrapped: the plan's inputs are written out as a policy file, a database and a
    travel matrix, and the checker re-derives every hard rule from those files.
    """
    from planner import solve as solve_module
    from tests.planner.checker import check_plan

    real = solve_module.read_plan

    def checked(model, report):  # type: ignore[no-untyped-def]
        plan = real(model, report)
        errors = check_plan(plan.to_dict(), model.data)
        assert errors == [], errors
        return plan

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(solve_module, "read_plan", checked)
        yield


@pytest.fixture
def tiny() -> Callable[..., PlanInput]:
    """The instance factory (see :func:`make_input`)."""
    return make_input


@pytest.fixture
def two_districts_two_days() -> PlanInput:
    """A (10 users/visit, site a) and B (4, site b); 2 days × 1 window; 2nd visit 50%.

    By hand: AA = 10 + 5 = 15 beats AB = 14. Objective 15.
    """
    return make_input(sites={"a": ("A", 20), "b": ("B", 20)}, demand={"A": 10.0, "B": 4.0})


@pytest.fixture
def spaced_districts() -> PlanInput:
    """The same, but A needs 2 days between visits: A once, B once = 14."""
    return make_input(
        sites={"a": ("A", 20), "b": ("B", 20)},
        demand={"A": 10.0, "B": 4.0},
        rules={"A": {"min_days_between": 2}},
    )
