"""The independent checker: plans with every kind of event pass it, and broken plans fail it."""

from __future__ import annotations

import copy
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from planner.inputs import PlanInput
from planner.model import build
from planner.solve import solve
from planner.synthetic import instance
from tests.planner.checker import check_plan, read_rules


@pytest.fixture(scope="module")
def eventful() -> tuple[PlanInput, dict[str, Any]]:
    """Two vans, 26 sites, 14 days, an early-voting day, a disaster window, reservations."""
    data = instance(n_sites=26, n_days=14, n_vans=2, events=True, seed=5, max_visits=4)
    plan = solve(build(data), time_limit=30, gap=1e-3)
    return data, plan.to_dict()


def test_plan_with_events_keeps_every_rule(eventful: tuple[PlanInput, dict[str, Any]]) -> None:
    data, doc = eventful
    assert check_plan(doc, data) == []
    acts = {v["activity"] for v in doc["visits"]}
    assert acts == {"regular", "voting", "disaster", "reservation"}
    assert {v["van_id"] for v in doc["visits"]} == {"van-1", "van-2"}


def _broken(doc: dict[str, Any], **change: Any) -> dict[str, Any]:
    out = copy.deepcopy(doc)
    reg = next(v for v in out["visits"] if v["activity"] == "regular")
    reg.update(change)
    return out


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"date": "2027-01-09"}, "not a working day"),
        ({"start": "09:00", "window": "09:00-12:00"}, "not a service window"),
        ({"arrive": "09:59"}, "arrives too late"),
        ({"end": "18:30", "window": "10:00-18:30", "depart": "18:45"}, "outside the site's hours"),
    ],
)
def test_checker_catches_broken_visits(
    eventful: tuple[PlanInput, dict[str, Any]], change: dict[str, Any], expected: str
) -> None:
    data, doc = eventful
    errors = check_plan(_broken(doc, **change), data)
    assert any(expected in e for e in errors), errors


def test_checker_catches_rule_breaks(eventful: tuple[PlanInput, dict[str, Any]]) -> None:
    data, doc = eventful
    bad = copy.deepcopy(doc)
    bad["visits"] = [v for v in bad["visits"] if v["activity"] != "voting"]
    assert any("voting stop" in e for e in check_plan(bad, data))
    bad = copy.deepcopy(doc)
    bad["visits"] = [v for v in bad["visits"] if v["activity"] != "reservation"]
    assert any("reservation" in e for e in check_plan(bad, data))
    bad = copy.deepcopy(doc)
    for v in bad["visits"]:
        if v["activity"] == "disaster":
            v["activity"] = "regular"
            break
    assert any("disaster day" in e for e in check_plan(bad, data))
    # Two visits of one district on consecutive days break its 7-day spacing.
    bad = copy.deepcopy(doc)
    regs = [v for v in bad["visits"] if v["activity"] == "regular"]
    a = regs[0]
    other = next(v for v in regs if v["date"] != a["date"] and v["van_id"] == a["van_id"])
    other.update(site_id=a["site_id"], district_id=a["district_id"])
    errors = check_plan(bad, data)
    assert any("closer than" in e or "cannot" in e or "site closed" in e for e in errors)
    bad = copy.deepcopy(doc)
    bad["solver"]["objective"] = bad["solver"]["bound"] + 1
    assert "objective above the proven bound" in check_plan(bad, data)


def test_checker_catches_two_vans_in_one_district_a_day(
    eventful: tuple[PlanInput, dict[str, Any]],
) -> None:
    data, doc = eventful
    bad = copy.deepcopy(doc)
    regs = [v for v in bad["visits"] if v["activity"] == "regular"]
    a = regs[0]
    other = next(v for v in regs if v["van_id"] != a["van_id"])
    other.update(date=a["date"], district_id=a["district_id"], site_id=a["site_id"])
    assert any("vans on one day" in e for e in check_plan(bad, data))


def test_checker_recomputes_driving(eventful: tuple[PlanInput, dict[str, Any]]) -> None:
    data, doc = eventful
    bad = copy.deepcopy(doc)
    bad["driving_minutes"]["days"][0]["minutes"] -= 1
    assert any("driving minutes per day differ" in e for e in check_plan(bad, data))


def test_checker_reads_the_policy_file_itself(tmp_path: Path) -> None:
    # A policy the checker parses on its own: "+N" dates, closed days, a shift.
    import sqlite3

    db = sqlite3.connect(":memory:")
    db.executescript(
        "CREATE TABLE holidays(date TEXT);"
        "CREATE TABLE districts(id TEXT, name TEXT);"
        "CREATE TABLE sites(id TEXT, district_id TEXT, lat REAL, lon REAL,"
        " open_weekdays TEXT, open_from TEXT, open_to TEXT);"
        "CREATE TABLE vans(id TEXT, depot_lat REAL, depot_lon REAL, shift_start TEXT,"
        " shift_end TEXT);"
        "INSERT INTO holidays VALUES ('2026-12-02');"
        "INSERT INTO districts VALUES ('d1', '一');"
        "INSERT INTO sites VALUES ('s1', 'd1', 37.0, 140.9, '月火水木金', '09:00', '17:00');"
        "INSERT INTO vans VALUES ('van-1', 37.05, 140.88, '08:30', '17:15');"
    )
    policy = tmp_path / "plan.toml"
    policy.write_text(
        '[horizon]\nstart = "2026-12-01"\nend = "+4"\n[calendar]\nclosed = ["+2"]\n',
        encoding="utf-8",
    )
    rules = read_rules(policy, db, date(2026, 11, 20))
    # Working days: Dec 1, 3 (Dec 2 is a holiday), 4, 7 → end Dec 7; "+2" closes Dec 3.
    assert rules.end == date(2026, 12, 7)
    assert sorted(rules.days) == [date(2026, 12, 1), date(2026, 12, 4), date(2026, 12, 7)]


def test_checker_reads_pins_forbids_and_the_driving_mode(
    eventful: tuple[PlanInput, dict[str, Any]],
) -> None:
    from dataclasses import replace

    from planner.inputs import Forbid, Pin, Window

    data, doc = eventful
    reg = next(v for v in doc["visits"] if v["activity"] == "regular")
    day = date.fromisoformat(reg["date"])
    # Forbid the site of a regular visit that day: the plan breaks the forbid.
    forbidden = replace(data, forbids=(Forbid(frozenset([day]), frozenset([reg["site_id"]])),))
    errors = check_plan(doc, forbidden)
    assert any("[[forbid]]" in e and reg["site_id"] in e for e in errors), errors
    # Pin a visit the plan does not have (the same site and window another day).
    had = {v["date"] for v in doc["visits"] if v["site_id"] == reg["site_id"]}
    free = next(d.date for d in data.days if d.date.isoformat() not in had)
    pinned = replace(data, pins=(Pin(reg["site_id"], free, Window.parse(reg["window"])),))
    errors = check_plan(doc, pinned)
    assert any(e.startswith(f"pin {reg['site_id']}") for e in errors), errors
    # A pin the plan keeps passes.
    kept = replace(data, pins=(Pin(reg["site_id"], day, Window.parse(reg["window"])),))
    assert check_plan(doc, kept) == []
    # The plan must say the driving model its policy chose.
    other = "approximate" if data.policy.driving == "exact" else "exact"
    errors = check_plan(doc, replace(data, policy=replace(data.policy, driving=other)))
    assert any("driving_mode" in e for e in errors), errors
