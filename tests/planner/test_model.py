"""Tiny instances solved by hand: objective and key assignments."""

from __future__ import annotations

from collections.abc import Callable

import pulp
import pytest

from planner.inputs import PlanInput, Window
from planner.model import build
from planner.solve import solve
from tests.planner.checker import check_plan
from tests.planner.conftest import AM, PM


def _solve(data: PlanInput):  # type: ignore[no-untyped-def]
    plan = solve(build(data), solver="highs", time_limit=30, gap=0)
    assert check_plan(plan.to_dict(), data) == []
    return plan


def _where(plan) -> list[tuple[str, str, str]]:  # type: ignore[no-untyped-def]
    return [(v.date, v.start, v.site_id) for v in plan.visits]


def test_two_districts_repeat_the_busy_one(two_districts_two_days: PlanInput) -> None:
    plan = _solve(two_districts_two_days)
    assert plan.solver.objective == pytest.approx(15.0)
    assert [v.site_id for v in plan.visits] == ["a", "a"]
    assert plan.solver.status == "optimal"
    assert plan.solver.bound == pytest.approx(15.0)
    assert plan.solver.gap == pytest.approx(0.0, abs=1e-9)
    totals = {t.district_id: t for t in plan.districts}
    assert totals["A"].visits == 2 and totals["A"].expected_users == pytest.approx(15.0)


def test_spacing_moves_the_second_visit_elsewhere(spaced_districts: PlanInput) -> None:
    plan = _solve(spaced_districts)
    assert plan.solver.objective == pytest.approx(14.0)
    assert sorted(v.site_id for v in plan.visits) == ["a", "b"]
    assert "訪問の間を2日以上あける条件のため" in plan.explanations["A"]
    assert "見込み利用者は 10.0人" in plan.explanations["A"]


def test_binding_minimum(tiny: Callable[..., PlanInput]) -> None:
    # B must be visited on both days: 4 + 2 = 6, A gets nothing.
    data = tiny(
        sites={"a": ("A", 20), "b": ("B", 20)},
        demand={"A": 10.0, "B": 4.0},
        rules={"B": {"min_visits": 2}},
    )
    plan = _solve(data)
    assert plan.solver.objective == pytest.approx(6.0)
    assert [v.site_id for v in plan.visits] == ["b", "b"]
    assert "最低訪問回数(2回)の下限" in plan.explanations["B"]


def test_maximum_caps_visits(tiny: Callable[..., PlanInput]) -> None:
    data = tiny(
        sites={"a": ("A", 20), "b": ("B", 20)},
        demand={"A": 10.0, "B": 4.0},
        n_days=3,
        rules={"A": {"max_visits": 1}},
    )
    plan = _solve(data)
    # A once (10), B twice (4 + 2): 16.
    assert plan.solver.objective == pytest.approx(16.0)
    assert sum(v.site_id == "a" for v in plan.visits) == 1
    assert "上限(1回)" in plan.explanations["A"]


def test_travel_between_windows_rules_out_a_far_site(tiny: Callable[..., PlanInput]) -> None:
    # One day, AM and PM 90 minutes apart, 30 minutes setup + 30 teardown leave 30 for
    # driving. x (10) and y (9) are 40 minutes apart; z (3) is 5 minutes from x.
    # A 2nd stop in the same district is worth nothing, so the best pair is x + y = 19,
    # but it cannot be driven: x + z = 13.
    data = tiny(
        sites={"x": ("X", 20), "y": ("Y", 20), "z": ("Z", 20)},
        demand={"X": 10.0, "Y": 9.0, "Z": 3.0},
        n_days=1,
        windows=(AM, PM),
        between={("x", "y"): 40, ("x", "z"): 5, ("y", "z"): 40},
        diminishing=(1.0, 0.0),
        setup=30,
    )
    plan = _solve(data)
    assert plan.solver.objective == pytest.approx(13.0)
    assert sorted(v.site_id for v in plan.visits) == ["x", "z"]


def test_shift_excludes_a_site_too_far_from_the_depot(tiny: Callable[..., PlanInput]) -> None:
    # Shift starts 08:30; the AM window opens 10:00 with 15 minutes' setup: a site 80
    # minutes away cannot be reached (08:30 + 80 = 09:50 > 09:45).
    data = tiny(
        sites={"far": ("F", 80), "near": ("N", 10)},
        demand={"F": 50.0, "N": 1.0},
        n_days=1,
        setup=15,
    )
    plan = _solve(data)
    assert [v.site_id for v in plan.visits] == ["near"]
    assert plan.solver.objective == pytest.approx(1.0)


def test_travel_cost_can_make_a_visit_not_worth_it(tiny: Callable[..., PlanInput]) -> None:
    # Round trip 60 minutes at 0.1 per minute costs 6: a 10-user visit nets 4,
    # a 5-user visit would lose 1 and is not made.
    data = tiny(sites={"a": ("A", 30)}, demand={"A": 10.0}, n_days=1, travel_weight=0.1)
    plan = _solve(data)
    assert plan.solver.objective == pytest.approx(4.0)
    data = tiny(sites={"a": ("A", 30)}, demand={"A": 5.0}, n_days=1, travel_weight=0.1)
    plan = _solve(data)
    assert plan.visits == []
    assert plan.solver.objective == pytest.approx(0.0)


def test_site_weekday_and_hours(tiny: Callable[..., PlanInput]) -> None:
    from dataclasses import replace

    data = tiny(sites={"a": ("A", 20), "b": ("B", 20)}, demand={"A": 10.0, "B": 4.0})
    # Site a opens only on Tuesdays (weekday 1); b closes at 11:00 (before the AM end).
    a = replace(data.sites[0], open_weekdays=frozenset({1}))
    data = replace(data, sites=(a, data.sites[1]))
    plan = _solve(data)
    # Monday only b is possible; Tuesday a (10) beats a 2nd b (2).
    assert _where(plan) == [("2027-01-04", "10:00", "b"), ("2027-01-05", "10:00", "a")]
    assert plan.solver.objective == pytest.approx(14.0)
    b = replace(data.sites[1], open_to=11 * 60)
    a2 = replace(a, open_weekdays=frozenset({0, 1}))
    plan = _solve(replace(data, sites=(a2, b)))
    assert [v.site_id for v in plan.visits] == ["a", "a"]


def test_every_constraint_is_named(two_districts_two_days: PlanInput) -> None:
    model = build(two_districts_two_days)
    names = [c.name for c in model.prob.constraints()]
    assert all(names) and len(names) == len(set(names))
    assert any(n.startswith("slot_v1_20270104_0") for n in names)
    assert any(n.startswith("visit_link_A_") for n in names)
    assert model.prob.sense == pulp.LpMaximize


def test_short_voting_stops_in_a_day(tiny: Callable[..., PlanInput]) -> None:
    from planner.inputs import PinnedEvent, Stop

    stops = (Stop("a", Window(570, 630)), Stop("b", Window(660, 720)), Stop("a", Window(780, 840)))
    ev = PinnedEvent(
        "vote",
        "voting",
        tiny.__globals__["MONDAY"],
        tiny.__globals__["MONDAY"],
        "移動期日前投票所",
        "v1",
        stops=stops,
    )
    data = tiny(
        sites={"a": ("A", 20), "b": ("B", 20)},
        demand={"A": 10.0, "B": 4.0},
        events=(ev,),
    )
    plan = _solve(data)
    first_day = [v for v in plan.visits if v.date == "2027-01-04"]
    assert [(v.start, v.site_id, v.activity) for v in first_day] == [
        ("09:30", "a", "voting"),
        ("11:00", "b", "voting"),
        ("13:00", "a", "voting"),
    ]
    # The regular visit goes to the other day.
    assert [(v.date, v.site_id) for v in plan.visits if v.activity == "regular"] == [
        ("2027-01-05", "a")
    ]


def test_dropping_dominated_sites_is_exact() -> None:
    from dataclasses import replace

    from planner.synthetic import instance

    data = instance(n_sites=39, n_days=4, seed=2, min_visits=0)
    full = replace(data, policy=replace(data.policy, drop_dominated=False))
    reduced_model, full_model = build(data), build(full)
    assert len(reduced_model.x) < len(full_model.x)
    a = solve(reduced_model, time_limit=30, gap=0)
    b = solve(full_model, time_limit=30, gap=0)
    assert a.solver.objective == pytest.approx(b.solver.objective, abs=1e-6)
    assert check_plan(a.to_dict(), data) == []
