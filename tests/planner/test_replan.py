"""Re-planning keeps the past fixed and moves few announced visits."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from planner.inputs import KeptVisit, PinnedEvent, PlanInput, Window, parse_hhmm
from planner.model import build
from planner.plan import Plan
from planner.solve import solve
from planner.synthetic import instance
from tests.planner.checker import check_plan


@pytest.fixture(scope="module")
def month() -> tuple[PlanInput, Plan]:
    """A small month (20 sites, 12 days) and its plan."""
    data = instance(n_sites=20, n_days=12, seed=3, min_visits=0, max_visits=2)
    plan = solve(build(data), time_limit=30, gap=0)
    assert check_plan(plan.to_dict(), data) == []
    return data, plan


def _keep(plan: Plan) -> tuple[KeptVisit, ...]:
    return tuple(
        KeptVisit(
            date.fromisoformat(v.date),
            v.van_id,
            Window(parse_hhmm(v.start), parse_hhmm(v.end)),
            v.site_id,
            v.activity,
            v.event_id or None,
        )
        for v in plan.visits
    )


def _key(v) -> tuple[str, str, str, str]:  # type: ignore[no-untyped-def]
    return (v.date, v.van_id, v.start, v.site_id)


def test_replan_with_nothing_new_moves_nothing(month: tuple[PlanInput, Plan]) -> None:
    data, plan = month
    cut = data.days[6].date
    again = replace(data, policy=replace(data.policy, replan_from=cut), keep=_keep(plan))
    new = solve(build(again), time_limit=30, gap=0)
    assert check_plan(new.to_dict(), again) == []
    assert new.moved == []
    assert {_key(v) for v in new.visits} == {_key(v) for v in plan.visits}


def test_disaster_mid_month_moves_few_visits(month: tuple[PlanInput, Plan]) -> None:
    data, plan = month
    cut = data.days[5].date
    flood = PinnedEvent(
        "flood",
        "disaster",
        data.days[6].date,
        data.days[7].date,
        "り災証明書出張申請受付",
        "van-1",
        site_ids=tuple(s.id for s in data.sites if len(s.open_weekdays) == 5)[:3],
    )
    again = replace(
        data, policy=replace(data.policy, replan_from=cut), keep=_keep(plan), events=(flood,)
    )
    new = solve(build(again), time_limit=30, gap=0)
    assert check_plan(new.to_dict(), again) == []
    before = {_key(v) for v in plan.visits if v.date < cut.isoformat()}
    assert before == {_key(v) for v in new.visits if v.date < cut.isoformat()}
    flood_days = {data.days[6].date.isoformat(), data.days[7].date.isoformat()}
    displaced = [v for v in plan.visits if v.date in flood_days]
    # Only the visits on the flood days had to move (their districts may come back later).
    assert {(m["date"], m["site_id"]) for m in new.moved} == {
        (v.date, v.site_id) for v in displaced
    }
    assert len(new.moved) == len(displaced) > 0
    # The note a coordinator reads names the list in Japanese, not a JSON key.
    note = next(n for n in new.notes if "告知済みの訪問" in n)
    assert "moved_visits" not in note and "「変更した告知済みの訪問」" in note
    # Without the move penalty the solver may reshuffle freely; with it, it does not.
    free = replace(
        again, policy=replace(again.policy, weights=replace(again.policy.weights, moved_visit=0.0))
    )
    loose = solve(build(free), time_limit=30, gap=0)
    assert len(loose.moved) >= len(new.moved)
