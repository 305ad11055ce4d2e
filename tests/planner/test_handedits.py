"""Hand edits: ``[[pins]]`` and ``[[forbid]]`` in the model and the policy file, and
``planner.check.check_plan`` naming every broken rule of an edited plan."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import sqlite_utils

from odekake.masterdata import master
from odekake.storage.db import memory_db, write
from planner.check import check_plan
from planner.inputs import (
    ACTIVITY_VOTING,
    Forbid,
    Pin,
    PinnedEvent,
    PlanInput,
    PolicyError,
    Site,
    Stop,
)
from planner.model import build
from planner.plan import Plan
from planner.policy import policy_from_dict
from planner.solve import InfeasiblePolicy, solve
from tests.planner.checker import check_plan as independent_check
from tests.planner.conftest import AM, MONDAY, PM

DAY1, DAY2 = MONDAY, date(2027, 1, 5)


def _solve(data: PlanInput) -> Plan:
    plan = solve(build(data), solver="highs", time_limit=30, gap=0)
    assert independent_check(plan.to_dict(), data) == []
    assert check_plan(None, data, plan) == []
    return plan


def _where(plan: Plan) -> list[tuple[str, str, str]]:
    return [(v.date, v.start, v.site_id) for v in plan.visits]


def test_a_pin_puts_its_visit_in_the_plan(two_districts_two_days: PlanInput) -> None:
    # Without the pin: a, a (15). Pinned b on day 1: b then a (4 + 10 = 14).
    data = dataclasses.replace(two_districts_two_days, pins=(Pin("b", DAY1, AM),))
    plan = _solve(data)
    assert _where(plan) == [("2027-01-04", "10:00", "b"), ("2027-01-05", "10:00", "a")]
    assert plan.solver.objective == pytest.approx(14.0)


def test_a_pin_brings_back_a_dominated_site(tiny: Callable[..., PlanInput]) -> None:
    # a1 is nearer than a2 in the same district, so dominance drops a2; the pin wins.
    data = tiny(sites={"a1": ("A", 10), "a2": ("A", 30)}, demand={"A": 10.0}, n_days=1)
    assert [v.site_id for v in _solve(data).visits] == ["a1"]
    pinned = dataclasses.replace(data, pins=(Pin("a2", DAY1, AM),))
    assert [v.site_id for v in _solve(pinned).visits] == ["a2"]


@pytest.mark.parametrize(
    ("pin", "site_kw", "reason"),
    [
        (Pin("b", date(2027, 1, 9), AM), {}, "稼働日ではありません"),
        (Pin("b", DAY1, PM), {}, "受付時間帯ではありません(受付時間帯: 10:00-12:00)"),
        (Pin("b", DAY1, AM), {"open_from": 13 * 60}, "会場の利用可能時間外です"),
        (Pin("far", DAY1, AM), {}, "勤務時間(08:30-17:15)内に車庫から往復できません"),
    ],
)
def test_a_pin_no_van_can_serve_says_why(
    tiny: Callable[..., PlanInput], pin: Pin, site_kw: dict[str, Any], reason: str
) -> None:
    data = tiny(
        sites={"a": ("A", 20), "b": ("B", 20), "far": ("B", 200)}, demand={"A": 10.0, "B": 4.0}
    )
    sites = tuple(dataclasses.replace(s, **site_kw) if s.id == "b" else s for s in data.sites)
    data = dataclasses.replace(data, sites=sites, pins=(pin,))
    with pytest.raises(InfeasiblePolicy) as exc:
        solve(build(data), time_limit=30)
    assert "固定した訪問" in str(exc.value)
    assert reason in str(exc.value)


def test_pins_against_spacing_name_both(spaced_districts: PlanInput) -> None:
    # A needs 2 days between visits; pinning A on both days cannot hold.
    data = dataclasses.replace(spaced_districts, pins=(Pin("a", DAY1, AM), Pin("a", DAY2, AM)))
    with pytest.raises(InfeasiblePolicy) as exc:
        solve(build(data), time_limit=30)
    text = str(exc.value)
    assert "固定した訪問(1月" in text and "会場a)" in text
    assert "地区Aの訪問間隔(2日以上)" in text


def test_a_forbidden_site_and_day_is_not_visited(two_districts_two_days: PlanInput) -> None:
    data = dataclasses.replace(
        two_districts_two_days, forbids=(Forbid(frozenset({DAY1}), site_ids=frozenset({"a"})),)
    )
    assert _where(_solve(data)) == [("2027-01-04", "10:00", "b"), ("2027-01-05", "10:00", "a")]
    whole = dataclasses.replace(
        two_districts_two_days,
        forbids=(Forbid(frozenset({DAY1, DAY2}), district_ids=frozenset({"A"})),),
    )
    assert [v.site_id for v in _solve(whole).visits] == ["b", "b"]


def test_forbidding_the_dominating_site_keeps_the_other(tiny: Callable[..., PlanInput]) -> None:
    data = tiny(
        sites={"a1": ("A", 10), "a2": ("A", 30), "b": ("B", 10)},
        demand={"A": 10.0, "B": 1.0},
        n_days=1,
    )
    data = dataclasses.replace(
        data, forbids=(Forbid(frozenset({DAY1}), site_ids=frozenset({"a1"})),)
    )
    assert [v.site_id for v in _solve(data).visits] == ["a2"]


def test_a_forbidden_voting_stop_is_a_conflict(tiny: Callable[..., PlanInput]) -> None:
    voting = PinnedEvent(
        id="v1",
        kind=ACTIVITY_VOTING,
        date_from=DAY1,
        date_to=DAY1,
        label="期日前投票",
        stops=(Stop("a", AM),),
        services=("voting",),
    )
    data = tiny(sites={"a": ("A", 20), "b": ("B", 20)}, demand={"A": 1.0, "B": 1.0})
    data = dataclasses.replace(
        data,
        events=(voting,),
        forbids=(Forbid(frozenset({DAY1}), site_ids=frozenset({"a"})),),
    )
    with pytest.raises(InfeasiblePolicy, match=r"\[\[forbid\]\] で訪問を禁止した会場・日です"):
        solve(build(data), time_limit=30)


# --- check_plan on hand-edited plans ------------------------------------------------


def test_check_names_each_broken_rule(tiny: Callable[..., PlanInput]) -> None:
    data = tiny(
        sites={"a": ("A", 20), "b": ("B", 20), "c": ("A", 20)},
        demand={"A": 10.0, "B": 4.0},
        n_days=5,
        windows=(AM, PM),
        n_vans=2,
        rules={"A": {"min_days_between": 2, "max_visits": 1}},
    )
    plan = solve(build(data), solver="highs", time_limit=30, gap=0)
    v0 = plan.visits[0]
    edited = dataclasses.replace(
        plan,
        visits=[
            # van 1 and van 2 both serve district A on Monday; A again on Tuesday.
            dataclasses.replace(v0, date="2027-01-04", van_id="v1", site_id="a", district_id="A"),
            dataclasses.replace(
                v0, date="2027-01-04", van_id="v2", site_id="c", district_id="A", order=1
            ),
            dataclasses.replace(v0, date="2027-01-05", van_id="v1", site_id="a", district_id="A"),
            # A Saturday.
            dataclasses.replace(v0, date="2027-01-09", van_id="v1", site_id="b", district_id="B"),
        ],
    )
    codes = {v.code for v in check_plan(None, data, edited)}
    assert {"district_two_vans", "spacing", "max_visits", "closed_day"} <= codes
    messages = [v.message for v in check_plan(None, data, edited)]
    assert any("1月4日(月) 地区Aに複数の車両(v1、v2)" in m for m in messages)
    assert any(
        m.startswith("1月9日(土) v1 ") and "会場b: 稼働日ではありません" in m for m in messages
    )


def test_check_pins_forbids_hours_and_travel(tiny: Callable[..., PlanInput]) -> None:
    data = tiny(
        sites={"a": ("A", 20), "b": ("B", 20)},
        demand={"A": 10.0, "B": 4.0},
        windows=(AM, PM),
        between={("a", "b"): 120},
        setup=15,
    )
    plan = _solve(data)
    data2 = dataclasses.replace(
        data,
        pins=(Pin("b", DAY2, PM),),
        forbids=(Forbid(frozenset({DAY1}), site_ids=frozenset({"a"})),),
        sites=tuple(
            Site(s.id, s.district_id, s.name, s.lat, s.lon, frozenset({1, 2, 3, 4}))
            if s.id == "b"
            else s
            for s in data.sites
        ),
    )
    am = next(v for v in plan.visits if v.date == "2027-01-04" and v.start == "10:00")
    edited = dataclasses.replace(
        plan,
        visits=[
            dataclasses.replace(am, site_id="a", district_id="A"),
            dataclasses.replace(
                am,
                start="13:30",
                end="15:30",
                window="13:30-15:30",
                arrive="13:15",
                depart="15:45",
                site_id="b",
                district_id="B",
                order=2,
            ),
        ],
    )
    found = check_plan(None, data2, edited)
    codes = [v.code for v in found]
    assert "pin_missing" in codes and "forbidden" in codes
    assert "site_hours" in codes  # b is closed on Mondays now
    assert "travel" in codes  # 120 minutes between a and b
    travel = next(v for v in found if v.code == "travel")
    assert "移動 120分では、到着 13:15 に間に合いません" in travel.message
    assert travel.site_id == "b" and travel.date == "2027-01-04"


# --- the policy file ----------------------------------------------------------------


@pytest.fixture
def hub() -> Iterator[sqlite_utils.Database]:
    db = memory_db("hub", device_id="hub")
    master.seed_city(db)
    with write(db):
        for sid, did in (("kawamae-01", "kawamae"), ("tabito-01", "tabito")):
            master.upsert_site(
                db,
                {
                    "id": sid,
                    "district_id": did,
                    "name": f"{sid}会館",
                    "kind": "公民館",
                    "lat": 37.2,
                    "lon": 140.7,
                    "open_weekdays": "月火水木金",
                    "open_from": "09:00",
                    "open_to": "17:00",
                    "notes": "",
                },
            )
    master.add_van(db, "van-1", "1号車")
    yield db
    db.close()


def _read(db: sqlite_utils.Database, extra: dict[str, Any]) -> PlanInput:
    doc = {"horizon": {"start": "2026-12-01", "end": "2026-12-31"}} | extra
    return policy_from_dict(doc, db, today=date(2026, 11, 20), base_dir=Path("."))


def test_policy_reads_pins_and_forbids(hub: sqlite_utils.Database) -> None:
    data = _read(
        hub,
        {
            "pins": [
                {"site": "kawamae-01", "date": "2026-12-08", "window": "10:00-12:00"},
                {"site": "tabito-01", "date": 10, "window": "13:30-15:30", "van": "van-1"},
            ],
            "forbid": [
                {"site": "tabito-01", "dates": ["2026-12-02", "2026-12-03"], "note": "祭り"},
                {"district": ["川前"], "from": "2026-12-20", "to": "2027-01-05"},
            ],
        },
    )
    assert data.pins == (
        Pin("kawamae-01", date(2026, 12, 8), AM),
        Pin("tabito-01", date(2026, 12, 10), PM, "van-1"),
    )
    first, second = data.forbids
    assert first.site_ids == {"tabito-01"} and first.dates == {date(2026, 12, 2), date(2026, 12, 3)}
    assert second.district_ids == {"kawamae"}
    assert min(second.dates) == date(2026, 12, 20) and max(second.dates) == date(2026, 12, 31)
    assert data.forbidden("kawamae-01", date(2026, 12, 24))
    assert not data.forbidden("kawamae-01", date(2026, 12, 19))


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (
            {"pins": [{"site": "kawamae-01", "date": "2026-12-08"}]},
            "[[pins]] の1番目に window がありません",
        ),
        (
            {"pins": [{"site": "x-99", "date": "2026-12-08", "window": "10:00-12:00"}]},
            "[[pins]] の会場 x-99 がありません",
        ),
        (
            {"pins": [{"site": "kawamae-01", "date": "2027-01-08", "window": "10:00-12:00"}]},
            "[[pins]] の1番目の日付 2027-01-08 が計画期間(2026-12-01〜2026-12-31)の外です",
        ),
        (
            {"pins": [{"site": "kawamae-01", "date": 8, "window": "10:00-12:00", "vn": "a"}]},
            "[[pins]] に不明な項目 vn があります(van のことですか?)",
        ),
        ({"forbid": [{"site": "kawamae-01"}]}, "[[forbid]] には dates か from(と to)を書きます"),
        ({"forbid": [{"dates": ["2026-12-02"]}]}, "[[forbid]] には site か district を書きます"),
        (
            {"forbid": [{"district": "どこか", "dates": ["2026-12-02"]}]},
            "[[forbid]] の1番目の地区 どこか がマスタにありません",
        ),
        (
            {"forbid": [{"site": "kawamae-01", "from": "2026-12-05"}]},
            "期間は from と to を両方書きます",
        ),
        (
            {"forbid": [{"site": "kawamae-01", "from": "2027-02-01", "to": "2027-02-05"}]},
            "計画期間(2026-12-01〜2026-12-31)の外です",
        ),
        ({"pins": {"site": "kawamae-01"}}, "[[pins]] は表の並びで書きます"),
    ],
)
def test_policy_refuses_bad_pins_and_forbids(
    hub: sqlite_utils.Database, extra: dict[str, Any], message: str
) -> None:
    with pytest.raises(PolicyError) as exc:
        _read(hub, extra)
    assert message in str(exc.value)
