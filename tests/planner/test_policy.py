"""The policy file: dates, windows, opened/closed days, maintenance, travel matrix, events."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
import sqlite_utils

from odekake import master
from planner.inputs import PolicyError, Window, depot_node
from planner.model import build
from planner.policy import load_policy, policy_from_dict
from planner.solve import solve
from tests.planner.checker import check_plan

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
    data = policy_from_dict(
        {
            "windows": {"days": [{"date": "+2", "windows": ["09:30-10:15", "11:00-11:45"]}]},
            "calendar": {"opened": ["2026-12-05"], "closed": [3]},
            "vans": [{"id": "van-1", "maintenance": ["+4"]}],
        },
        hub,
        today=TODAY,
    )
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
    assert check_plan(plan.to_dict(), data) == []
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
