"""The two driving models (``[objective] driving``) with the hand edits of plan-life.

Exact driving keeps only the candidates and legs that can be best; a pinned site must
survive that reduction and a forbidden site must go before it (so the next-best site
of its district stays). Small instances only: month-size exact solves belong in
``benchmarks/``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import pytest

from planner.inputs import Forbid, Pin, PlanInput
from planner.model import build
from planner.solve import solve
from tests.planner.conftest import AM, MONDAY, PM


def _pinned_far_site(tiny: Callable[..., PlanInput], driving: str) -> PlanInput:
    # x1 (10 from the depot) is always the better site of district X, so exact driving
    # would drop x2 (30 from the depot); y is 30 from the depot, 5 from x2, 24 from x1.
    data = tiny(
        sites={"x1": ("X", 10), "x2": ("X", 30), "y": ("Y", 30)},
        demand={"X": 10.0, "Y": 10.0},
        n_days=1,
        windows=(AM, PM),
        between={("x1", "x2"): 25, ("x1", "y"): 24, ("x2", "y"): 5},
        travel_weight=0.1,
        driving=driving,
    )
    return replace(data, pins=(Pin("x2", MONDAY, AM),))


def test_exact_driving_keeps_a_pinned_site_it_would_drop(
    tiny: Callable[..., PlanInput],
) -> None:
    # Pinned x2 in the morning, then y: depot → x2 → y → depot = 30 + 5 + 30 = 65
    # minutes; 20 users − 0.1 × 65 = 13.5.
    plan = solve(build(_pinned_far_site(tiny, "exact")), time_limit=30, gap=0)
    assert [(v.site_id, v.start) for v in plan.visits] == [("x2", "10:00"), ("y", "13:30")]
    assert plan.to_dict()["driving_minutes"]["total"] == 65
    assert plan.solver.objective == pytest.approx(20.0 - 6.5)
    assert plan.solver.status == "optimal"


def test_approximate_driving_keeps_the_same_pin(tiny: Callable[..., PlanInput]) -> None:
    # Approximate: one round trip per district and day (X: 20 minutes, to x1) plus half
    # of each site's extra detour (x2: (60 − 20) / 2 = 20). A second stop in X the same
    # afternoon (x1, worth 5) then looks cheaper than y: 15 − 0.1 × 40 = 11 against
    # 20 − 0.1 × (20 + 20 + 60) = 10. The day's real driving is reported all the same:
    # depot → x2 → x1 → depot = 30 + 25 + 10 = 65 minutes.
    plan = solve(build(_pinned_far_site(tiny, "approximate")), time_limit=30, gap=0)
    assert [(v.site_id, v.start) for v in plan.visits] == [("x2", "10:00"), ("x1", "13:30")]
    assert plan.to_dict()["driving_minutes"]["total"] == 65
    assert plan.solver.objective == pytest.approx(11.0)
    assert plan.to_dict()["solver"]["driving_mode"] == "approximate"


@pytest.mark.parametrize(("driving", "objective"), [("exact", 4.0), ("approximate", 6.0)])
def test_a_forbidden_best_site_leaves_the_next_best(
    tiny: Callable[..., PlanInput], driving: str, objective: float
) -> None:
    # x1 is X's best site but forbidden that day: the visit goes to x2 (round trip 60).
    # Exact: 10 − 0.1 × 60 = 4. Approximate: X's round trip (20, to x1) plus half of
    # x2's extra detour (20): 10 − 0.1 × 40 = 6.
    data = tiny(
        sites={"x1": ("X", 10), "x2": ("X", 30)},
        demand={"X": 10.0},
        n_days=1,
        travel_weight=0.1,
        driving=driving,
    )
    data = replace(data, forbids=(Forbid(frozenset([MONDAY]), frozenset(["x1"])),))
    plan = solve(build(data), time_limit=30, gap=0)
    assert [v.site_id for v in plan.visits] == ["x2"]
    assert plan.solver.objective == pytest.approx(objective)
    assert plan.to_dict()["driving_minutes"]["total"] == 60
