"""Exact driving by day patterns (``[objective] driving = "exact"``, issue 13 item 6).

A two-slot van-day is priced by the pair of groups it serves (a district's regular
stops, or one site that matters on its own); the plan serves each district's stop at
the pair of sites the pattern was priced for, and a district's visit needs a pattern
that holds it, so half a morning and half an afternoon never make two visits.
"""

from __future__ import annotations

from collections.abc import Callable

import pulp
import pytest

from planner.inputs import PlanInput
from planner.model import build, settle_sites
from planner.solve import solve
from planner.solvers import _highs
from tests.planner.conftest import AM, MONDAY, PM


def _near_and_next(tiny: Callable[..., PlanInput]) -> PlanInput:
    # District X: x1 is nearest the depot (10), x2 is farther (20) but 5 minutes from y
    # (Y, 30 from the depot). Depot → x1 → y → depot = 10 + 30 + 30 = 70;
    # depot → x2 → y → depot = 20 + 5 + 30 = 55. Alone, X's best site is x1 (20).
    return tiny(
        sites={"x1": ("X", 10), "x2": ("X", 20), "y": ("Y", 30)},
        demand={"X": 10.0, "Y": 10.0},
        n_days=1,
        windows=(AM, PM),
        between={("x1", "x2"): 12, ("x1", "y"): 30, ("x2", "y"): 5},
        travel_weight=0.1,
        driving="exact",
    )


def test_a_two_stop_day_is_served_at_the_pair_of_sites_it_was_priced_for(
    tiny: Callable[..., PlanInput],
) -> None:
    plan = solve(build(_near_and_next(tiny)), time_limit=30, gap=0)
    # (x2 then y, or y then x2: 55 minutes either way)
    assert sorted(v.site_id for v in plan.visits) == ["x2", "y"]
    assert plan.to_dict()["driving_minutes"]["total"] == 55
    assert plan.solver.objective == pytest.approx(20.0 - 5.5)
    assert plan.solver.status == "optimal"


def test_settling_moves_a_districts_stop_to_the_priced_site(
    tiny: Callable[..., PlanInput],
) -> None:
    # Whatever site of X the solver left on (x1 and x2 cost the same inside the model),
    # the plan names the one the day's pattern was priced for.
    model = build(_near_and_next(tiny))
    assert len(model.patterns) == 1
    for v in model.prob.variables():
        v.varValue = 0.0
    model.x[("v1", MONDAY, 0, "x1", "regular", "")].varValue = 1.0
    model.x[("v1", MONDAY, 1, "y", "regular", "")].varValue = 1.0
    settle_sites(model)
    on = sorted(k[2:4] for k, v in model.x.items() if (v.varValue or 0) > 0.5)
    assert on == [(0, "x2"), (1, "y")]
    # Alone in the morning, X's stop is at its nearest site.
    for v in model.x.values():
        v.varValue = 0.0
    model.x[("v1", MONDAY, 0, "x2", "regular", "")].varValue = 1.0
    settle_sites(model)
    assert sorted(k[2:4] for k, v in model.x.items() if (v.varValue or 0) > 0.5) == [(0, "x1")]


def _relaxation(data: PlanInput) -> float:
    model = build(data)
    for v in model.prob.variables():
        v.cat = pulp.LpContinuous
    model.prob.solve(_highs(30, 0, None))
    assert model.prob.status == pulp.LpStatusOptimal
    return float(pulp.value(model.prob.objective))


def test_half_a_morning_and_half_an_afternoon_are_not_two_visits(
    tiny: Callable[..., PlanInput],
) -> None:
    # One day. A (worth 1) must be visited once; B (worth 10) cannot follow or precede
    # A in time (200 minutes apart). The only plan: A morning and afternoon,
    # 1 + 0.5 − 0.1 × 60 = −4.5. Without the pattern cover the relaxation would count
    # A as visited with half of each slot and give the other halves to B.
    data = tiny(
        sites={"a": ("A", 30), "b": ("B", 30)},
        demand={"A": 1.0, "B": 10.0},
        n_days=1,
        windows=(AM, PM),
        between={("a", "b"): 200},
        rules={"A": {"min_visits": 1}},
        travel_weight=0.1,
        driving="exact",
    )
    plan = solve(build(data), time_limit=30, gap=0)
    assert [v.site_id for v in plan.visits] == ["a", "a"]
    assert plan.solver.objective == pytest.approx(1.5 - 6.0)
    assert _relaxation(data) == pytest.approx(plan.solver.objective)


def test_groups_that_cannot_follow_each_other_have_no_pattern(
    tiny: Callable[..., PlanInput],
) -> None:
    # A and B 200 minutes apart: no day may serve both, in either order; the travel rule
    # lives in the patterns (no separate travel constraint on these days).
    data = tiny(
        sites={"a": ("A", 30), "b": ("B", 30)},
        demand={"A": 10.0, "B": 10.0},
        n_days=1,
        windows=(AM, PM),
        between={("a", "b"): 200},
        travel_weight=0.1,
        driving="exact",
    )
    model = build(data)
    names = {c.name for c in model.prob.constraints()}
    assert not any(n.startswith("travel_") for n in names)
    plan = solve(model, time_limit=30, gap=0)
    assert len({v.site_id for v in plan.visits}) == 1
    assert plan.solver.objective == pytest.approx(15.0 - 6.0)
