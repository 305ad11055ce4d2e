"""``plan check`` agrees with the planner on pinned events that share a day."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import timedelta

from planner.check import check_plan
from planner.inputs import (
    ACTIVITY_DISASTER,
    ACTIVITY_VOTING,
    PinnedEvent,
    PlanInput,
    Stop,
)
from planner.model import build
from planner.solve import solve
from tests.planner.conftest import AM, MONDAY, PM


def test_a_voting_day_inside_the_same_vans_disaster_window_is_not_a_violation(
    tiny: Callable[..., PlanInput],
) -> None:
    voting_day = MONDAY + timedelta(days=1)
    voting = PinnedEvent(
        id="v1",
        kind=ACTIVITY_VOTING,
        date_from=voting_day,
        date_to=voting_day,
        label="期日前投票",
        stops=(Stop("b", AM),),
        services=("voting",),
    )
    disaster = PinnedEvent(
        id="d1",
        kind=ACTIVITY_DISASTER,
        date_from=MONDAY,
        date_to=MONDAY + timedelta(days=2),
        label="災害対応",
        site_ids=("a",),
    )
    data = tiny(
        sites={"a": ("A", 20), "b": ("B", 20)},
        demand={"A": 1.0, "B": 1.0},
        n_days=3,
        windows=(AM, PM),
    )
    data = dataclasses.replace(data, events=(voting, disaster))
    plan = solve(build(data), solver="highs", time_limit=30, gap=0)
    on_voting_day = [v.activity for v in plan.visits if v.date == voting_day.isoformat()]
    assert on_voting_day == [ACTIVITY_VOTING]  # the voting day takes that day
    assert check_plan(None, data, plan) == []
    # A missing disaster session on a day without voting is still named.
    monday = MONDAY.isoformat()
    broken = dataclasses.replace(
        plan, visits=[v for v in plan.visits if not (v.date == monday and v.start == "13:30")]
    )
    assert [x.code for x in check_plan(None, data, broken)] == ["disaster_missing"]
