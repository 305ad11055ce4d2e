"""The policy file: dates, windows, opened/closed days, maintenance, travel matrix, events."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
import sqlite_utils

from odekake.masterdata import master
from planner.inputs import PolicyError, Window, depot_node
from planner.model import build
from planner.policy import load_policy, policy_from_dict
from planner.solve import solve
from tests.planner.checker import check_files

TODAY = date(2026, 11, 20)


@pytest.fixture
def hub(city_db: sqlite_utils.Database) -> sqlite_utils.Database:
    """A seeded database with a van and three sites."""
    master.add_van(city_db, "van-1", "1号車")
    for sid, did, lat, lon, days in (
        ("k1", "kawamae", 37.2072, 140.7512, "月火水木金"),
        ("o1", "ogawa", 37.1273, 140.8610, "月水金"),
        ("c1", "chuodai", 37.03, 140.903, "月火水木金土"),
    ):
        master.upsert_site(
            city_db,
            {
                "id": sid,
                "district_id": did,
                "name": f"{sid}会場",
                "kind": "公民館",
                "lat": lat,
                "lon": lon,
                "open_weekdays": days,
                "open_from": "09:00",
                "open_to": "17:00",
                "notes": "",
            },
        )
    return city_db


def test_next_month_working_days_and_windows(hub: sqlite_utils.Database) -> None:
    doc = {
        "windows": {"days": [{"date": "+2", "windows": ["09:30-10:15", "11:00-11:45"]}]},
        "calendar": {"opened": ["2026-12-05"], "closed": [3]},
        "vans": [{"id": "van-1", "maintenance": ["+4"]}],
    }
    data = policy_from_dict(doc, hub, today=TODAY)
    days = {d.date: d for d in data.days}
    assert data.policy.horizon_start == date(2026, 12, 1)
    assert data.policy.horizon_end == date(2026, 12, 31)
    assert date(2026, 12, 3) not in days  # closed by number (3rd calendar day)
    assert date(2026, 12, 6) not in days  # Sunday
    assert date(2026, 12, 29) not in days  # 年末年始 closure from the holidays table
    assert days[date(2026, 12, 5)].opened  # an opened Saturday
    # "+2" is the 2nd working day: Dec 1 (Tue), then Dec 2 (Wed).
    assert days[date(2026, 12, 2)].windows == (Window(570, 615), Window(660, 705))
    assert days[date(2026, 12, 1)].windows == (Window(600, 720), Window(810, 930))
    # "+4": Dec 1, 2, 4 (3rd is closed), 7 → maintenance on Monday Dec 7.
    assert data.vans[0].maintenance == frozenset({date(2026, 12, 7)})
    plan = solve(build(data), time_limit=20, gap=0)
    assert check_files(plan.to_dict(), doc, hub, today=TODAY) == []
    assert not [v for v in plan.visits if v.date == "2026-12-07"]
    sat = [v for v in plan.visits if v.date == "2026-12-05"]
    assert sat and all(v.opened_day and v.site_id == "c1" for v in sat)


def test_travel_matrix_csv(hub: sqlite_utils.Database, tmp_path: Path) -> None:
    nodes = ["k1", "o1", "c1", depot_node("van-1")]
    lines = ["from,to,minutes"] + [
        f"{a},{b},25" for i, a in enumerate(nodes) for b in nodes[i + 1 :]
    ]
    (tmp_path / "travel.csv").write_text("\ufeff" + "\n".join(lines), encoding="utf-8")
    (tmp_path / "plan.toml").write_text('[travel]\nmatrix = "travel.csv"\n', encoding="utf-8")
    data = load_policy(tmp_path / "plan.toml", hub, today=TODAY)
    assert data.minutes("k1", "o1") == 25 and data.minutes("o1", "k1") == 25
    (tmp_path / "travel.csv").write_text("from,to,minutes\nk1,o1,25\n", encoding="utf-8")
    with pytest.raises(PolicyError, match="移動時間の表に"):
        load_policy(tmp_path / "plan.toml", hub, today=TODAY)


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ({"horizon": {"start": "2026-13-01"}}, "日付は"),
        ({"windows": {"default": ["10:00-09:00"]}}, "受付時間帯"),
        ({"districts": {"どこか": {"min_visits": 1}}}, "[districts.どこか]"),
        (
            {"districts": {"川前": {"min_visits": 4, "max_visits": 2}}},
            "川前の最低訪問回数(4回)が上限(2回)",
        ),
        ({"vans": [{"id": "van-9"}]}, "車両 'van-9' がマスタにありません"),
        (
            {
                "events": {
                    "voting": [
                        {"date": "+1", "stops": [{"site": "zz", "start": "10:00", "end": "11:00"}]}
                    ]
                }
            },
            "会場 zz がありません",
        ),
        ({"horizn": {}}, "不明な項目"),
    ],
)
def test_policy_errors_are_japanese(hub: sqlite_utils.Database, doc: dict, message: str) -> None:  # type: ignore[type-arg]
    with pytest.raises(PolicyError) as info:
        policy_from_dict(doc, hub, today=TODAY)
    assert message in str(info.value)


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ({"vans": [{"id": "van-1", "maintainance": ["+2"]}]}, "maintainance"),
        ({"vans": [{"id": "van-1", "maintainance": ["+2"]}]}, "(maintenance のことですか?)"),
        ({"windows": {"setup_minute": 10}}, "(setup_minutes のことですか?)"),
        ({"horizn": {}}, "(horizon のことですか?)"),
        ({"districts": {"default": {"min_visit": 1}}}, "(min_visits のことですか?)"),
        (
            {"events": {"disaster": [{"start": "+1", "end": "+2", "sites": ["k1"], "sprad": 1}]}},
            "(spread のことですか?)",
        ),
        ({"districts": {"default": {"min_visits": "three"}}}, "min_visits は整数で書きます"),
        (
            {"vans": [{"id": "van-1", "maintenance": ["2027-01-05"]}]},
            "整備日 2027-01-05 が計画期間",
        ),
        (
            {
                "events": {
                    "voting": [
                        {"date": "2027-02-01", "stops": [{"site": "k1", "window": "10:00-12:00"}]}
                    ]
                }
            },
            "期日前投票(移動期日前投票所)の日付 2027-02-01 が計画期間",
        ),
        (
            {
                "events": {
                    "disaster": [{"start": "2027-01-10", "end": "2027-01-20", "sites": ["k1"]}]
                }
            },
            "の期間 2027-01-10〜2027-01-20 が計画期間",
        ),
        (
            {"vans": [{"id": "van-1", "shift": "08:30-09:30"}]},
            "がどれも車両の勤務時間(1号車 08:30-09:30)",
        ),
        ({"objective": {"drivng": "exact"}}, "(driving のことですか?)"),
        ({"objective": {"driving": "exakt"}}, "objective.driving は approximate か exact です"),
        (
            {"pins": [{"site": "k1", "date": "+1", "windw": "10:00-12:00"}]},
            "[[pins]] に不明な項目 windw があります(window のことですか?)",
        ),
        (
            {"forbid": [{"site": "k1", "date": ["+1"]}]},
            "[[forbid]] に不明な項目 date があります(dates のことですか?)",
        ),
    ],
)
def test_policy_mistakes_are_refused(hub: sqlite_utils.Database, doc: dict, message: str) -> None:  # type: ignore[type-arg]
    with pytest.raises(PolicyError) as info:
        policy_from_dict(doc, hub, today=TODAY)
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_pins_and_forbid_are_valid_sections(hub: sqlite_utils.Database) -> None:
    # Read by the hand-edit readers; the unknown-key check must let them through.
    policy_from_dict({"pins": [], "forbid": []}, hub, today=TODAY)


def test_driving_mode_is_read_with_approximate_as_default(hub: sqlite_utils.Database) -> None:
    assert policy_from_dict({}, hub, today=TODAY).policy.driving == "approximate"
    doc = {"objective": {"driving": "exact"}}
    assert policy_from_dict(doc, hub, today=TODAY).policy.driving == "exact"


def test_relative_dates_in_closed_and_horizon_end(hub: sqlite_utils.Database) -> None:
    data = policy_from_dict(
        {"horizon": {"start": "2026-12-01", "end": "+5"}, "calendar": {"closed": ["+3"]}},
        hub,
        today=TODAY,
    )
    # Working days Dec 1, 2, 3, 4, 7: the 5th is Monday Dec 7; "+3" closes Dec 3.
    assert data.policy.horizon_end == date(2026, 12, 7)
    assert [d.date.day for d in data.days] == [1, 2, 4, 7]


def test_relative_dates_do_not_leak_between_policies(hub: sqlite_utils.Database) -> None:
    # Two policies read in one process: the second's "+2" counts its own working days.
    first = policy_from_dict(
        {
            "horizon": {"start": "2026-12-01", "days": 10},
            "vans": [{"id": "van-1", "maintenance": ["+2"]}],
        },
        hub,
        today=TODAY,
    )
    second = policy_from_dict(
        {
            "horizon": {"start": "2027-01-04", "days": 10},
            "vans": [{"id": "van-1", "maintenance": ["+2"]}],
        },
        hub,
        today=TODAY,
    )
    assert first.vans[0].maintenance == frozenset({date(2026, 12, 2)})
    assert second.vans[0].maintenance == frozenset({date(2027, 1, 5)})
    from planner import policy

    assert not hasattr(policy, "_WORKDAYS")


def test_range_overlapping_the_horizon_is_noted(hub: sqlite_utils.Database) -> None:
    data = policy_from_dict(
        {
            "horizon": {"start": "2026-12-01", "days": 10},
            "events": {"disaster": [{"start": "2026-12-08", "end": "2026-12-20", "sites": ["c1"]}]},
        },
        hub,
        today=TODAY,
    )
    assert data.events[0].date_to == date(2026, 12, 10)
    assert any("2026-12-08〜2026-12-20 のうち計画期間" in n for n in data.notes)
    plan = solve(build(data), time_limit=20, gap=0)
    assert any("のうち計画期間" in n for n in plan.notes)


def test_windows_outside_one_vans_shift_are_said_once(hub: sqlite_utils.Database) -> None:
    data = policy_from_dict(
        {
            "horizon": {"start": "2026-12-01", "days": 3},
            "vans": [{"id": "van-1", "shift": "08:30-12:45"}],
        },
        hub,
        today=TODAY,
    )
    notes = [n for n in data.notes if "勤務時間" in n]
    assert notes == [
        "1号車の勤務時間 08:30-12:45 には受付時間帯 13:30-15:30 が収まりません"
        "(準備15分・片付け15分を含む)。この時間帯にはこの車両を使いません"
    ]


def test_voting_site_closed_that_day_says_so(hub: sqlite_utils.Database) -> None:
    from planner.solve import InfeasiblePolicy

    # o1 is open Mon/Wed/Fri; Dec 1 2026 is a Tuesday.
    doc = {
        "horizon": {"start": "2026-12-01", "days": 3},
        "events": {
            "voting": [{"date": "2026-12-01", "stops": [{"site": "o1", "window": "10:00-12:00"}]}]
        },
    }
    data = policy_from_dict(doc, hub, today=TODAY)
    with pytest.raises(InfeasiblePolicy) as info:
        solve(build(data), time_limit=20)
    assert "会場はこの日(火曜日)は使えません(利用可能曜日: 月水金)" in str(info.value)


def test_reservation_window_that_is_not_a_service_window(hub: sqlite_utils.Database) -> None:
    from planner.solve import InfeasiblePolicy

    doc = {
        "horizon": {"start": "2026-12-01", "days": 3},
        "events": {
            "reservation": [{"site": "k1", "from": "+1", "to": "+2", "window": "09:00-10:00"}]
        },
    }
    data = policy_from_dict(doc, hub, today=TODAY)
    with pytest.raises(InfeasiblePolicy) as info:
        solve(build(data), time_limit=20)
    assert "時間帯 09:00-10:00 は受付時間帯(10:00-12:00、13:30-15:30)のどれでもありません" in str(
        info.value
    )
