"""An infeasible policy is reported as the conflicting rules, in Japanese."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta

import pytest

from planner.diagnose import diagnose
from planner.inputs import PinnedEvent, PlanInput, Stop, Window
from planner.model import build
from planner.solve import InfeasiblePolicy, solve
from tests.planner.conftest import MONDAY


def test_minimum_visits_do_not_fit_the_spacing(tiny: Callable[..., PlanInput]) -> None:
    # A 20-day horizon: 3 visits 10 days apart need days 1, 11 and 21.
    data = tiny(
        sites={"k": ("kawamae", 30), "a": ("A", 10)},
        demand={"kawamae": 5.0, "A": 5.0},
        n_days=20,
        rules={"kawamae": {"min_visits": 3, "min_days_between": 10}},
    )
    with pytest.raises(InfeasiblePolicy) as info:
        solve(build(data))
    text = str(info.value)
    assert "地区kawamaeは20日間の計画期間" in text
    assert "最低3回" in text and "10日以上" in text
    assert "最大2回" in text
    assert "Infeasible" not in text and "status" not in text


def test_more_minimums_than_slots(tiny: Callable[..., PlanInput]) -> None:
    data = tiny(
        sites={"a": ("A", 10), "b": ("B", 10), "c": ("C", 10)},
        demand={"A": 1.0, "B": 1.0, "C": 1.0},
        n_days=2,
        rules={d: {"min_visits": 1} for d in "ABC"},
    )
    with pytest.raises(
        InfeasiblePolicy, match=re.escape("最低訪問回数の合計(3回)が、計画期間の受付枠の数(2枠)")
    ):
        solve(build(data))


def test_conflict_found_by_relaxing_rule_families(tiny: Callable[..., PlanInput]) -> None:
    # 4 days, 1 window: A and B each need 2 visits 3 days apart; each can only use
    # days 1 and 4, and a day holds one of them. No single-district check sees it.
    data = tiny(
        sites={"a": ("A", 10), "b": ("B", 10)},
        demand={"A": 1.0, "B": 1.0},
        n_days=4,
        rules={d: {"min_visits": 2, "min_days_between": 3} for d in "AB"},
    )
    with pytest.raises(InfeasiblePolicy) as info:
        solve(build(data))
    reasons = info.value.reasons
    assert "地区Aの最低訪問回数(2回)" in reasons
    assert "地区Bの最低訪問回数(2回)" in reasons
    assert all("地区A" in r or "地区B" in r for r in reasons)
    assert diagnose(data) == reasons


def test_voting_stops_too_close_together(tiny: Callable[..., PlanInput]) -> None:
    stops = (Stop("a", Window(600, 660)), Stop("b", Window(665, 720)))
    ev = PinnedEvent("v", "voting", MONDAY, MONDAY, "移動期日前投票所", "v1", stops=stops)
    data = tiny(
        sites={"a": ("A", 10), "b": ("B", 10)},
        demand={"A": 1.0, "B": 1.0},
        between={("a", "b"): 20},
        events=(ev,),
    )
    with pytest.raises(InfeasiblePolicy, match="間に合いません"):
        solve(build(data))


def test_reservation_without_a_possible_day(tiny: Callable[..., PlanInput]) -> None:
    ev = PinnedEvent(
        "r1",
        "reservation",
        MONDAY + timedelta(days=5),
        MONDAY + timedelta(days=6),
        "予約訪問",
        site_ids=("a",),
    )
    data = tiny(sites={"a": ("A", 10)}, demand={"A": 1.0}, events=(ev,))
    with pytest.raises(InfeasiblePolicy, match="予約訪問「予約訪問」"):
        solve(build(data))


def test_disaster_takes_priority_over_minimums(tiny: Callable[..., PlanInput]) -> None:
    ev = PinnedEvent("f", "disaster", MONDAY, MONDAY, "り災", "v1", site_ids=("a",))
    data = tiny(
        sites={"a": ("A", 10), "b": ("B", 10)},
        demand={"A": 1.0, "B": 1.0},
        rules={"B": {"min_visits": 2}},
        events=(ev,),
    )
    plan = solve(build(data))
    assert [(v.date, v.activity) for v in plan.visits] == [
        ("2027-01-04", "disaster"),
        ("2027-01-05", "regular"),
    ]
    totals = {t.district_id: t for t in plan.districts}
    assert totals["B"].shortfall == 1
    assert any("災害対応を優先" in n for n in plan.notes)
