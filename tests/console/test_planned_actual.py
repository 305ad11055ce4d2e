"""Planned versus actual: the day's visits in force beside the stops the van opened,
their times, the residents served by service, and what was not served."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path

from odekake.operations.actual import JST, day_actual, days_actual
from odekake.services.stops import close_stop, open_planned
from odekake.storage import records as rec
from odekake.storage.db import connect
from planner.demo_plan import plan_start
from tests.console.conftest import Browser, copy_db

DAY = date(2026, 11, 20)  # the demo's today


def test_a_served_and_an_unserved_visit_on_the_demo_van(demo_dir: Path, tmp_path: Path) -> None:
    copy_db(demo_dir / "van.db", tmp_path / "van.db")
    van = connect(tmp_path / "van.db", role="van")
    visits = van.execute(
        "SELECT id FROM plan_visits WHERE date = ? ORDER BY start", [DAY.isoformat()]
    ).fetchall()
    assert len(visits) == 2
    opened = open_planned(
        van, visits[0][0], operator_id="op001", now=datetime(2026, 11, 20, 9, 50, tzinfo=JST)
    )
    stop_id = opened.payload["stop_id"]
    rec.append(
        van,
        "consultation.hold",
        {"stop_id": stop_id, "people": 2, "topic": "福祉"},
        now=datetime(2026, 11, 20, 10, 20, tzinfo=JST),
    )
    close_stop(van, stop_id, now=datetime(2026, 11, 20, 12, 5, tzinfo=JST))
    found = day_actual(van, DAY)
    assert (found.planned, found.served, found.not_served, found.unplanned) == (2, 1, 1, 0)
    first, second = found.stops
    assert (first.state, first.opened_at, first.closed_at) == ("実施", "09:50", "12:05")
    assert first.users == {"相談": 2} and found.users == 2
    assert second.state == "未実施" and second.total == 0


def test_the_month_and_day_pages(coordinator: Browser) -> None:
    month = coordinator.client.get("/console/plans/actual?month=2026-11")
    assert month.status_code == 200
    row = month.text.split(f'data-day="{DAY.isoformat()}"', 1)[1].split("</tr>", 1)[0]
    assert '<td class="num">2</td>' in row  # the demo's two visits today
    day = coordinator.client.get(f"/console/plans/actual?day={DAY.isoformat()}")
    assert day.status_code == 200 and "未実施" in day.text
    later = coordinator.client.get("/console/plans/actual?day=2026-11-24").text
    assert "予定" in later and "未実施" not in later.split('id="actual-day"', 1)[1]
    home = coordinator.client.get("/console/")
    assert f'href="/console/plans/actual?day={DAY.isoformat()}"' in home.text
    line = home.text.split('class="plan-vs-actual" data-van="van-1">', 1)[1].split("</p>", 1)[0]
    assert line.count("未実施") == 2  # nothing synced yet for today


def test_the_demo_van_served_days_of_its_published_plan(demo_dir: Path) -> None:
    """The demo's plan starts before its today and the van served it: on the van every
    past visit is 実施 (opened, closed, residents by service) but one; the hub holds the
    synced days, and nothing on them is 計画外."""
    first, last = plan_start(DAY), DAY - timedelta(days=1)
    van = connect(demo_dir / "van.db", role="van")
    on_van = [s for d in days_actual(van, first, last, DAY) for s in d.stops]
    assert [s.state for s in on_van].count("未実施") == 1
    assert {s.state for s in on_van} == {"実施", "未実施"} and len(on_van) >= 6
    for s in on_van:
        if s.served:
            assert s.opened_at and s.closed_at and s.users and s.total > 0
    hub = connect(demo_dir / "hub.db", role="hub")
    days = days_actual(hub, first, last, DAY)
    served_days = [d for d in days if d.served]
    assert len(served_days) >= 2  # synced to the hub
    assert not any(d.unplanned for d in days)
    skipped = next(s for d in days for s in d.stops if s.state == "未実施")
    assert [s.state for d in days for s in d.stops][:2] == ["実施", "未実施"]
    assert skipped.total == 0


def test_visitors_for_an_explanation_are_not_counted_as_users(
    demo_dir: Path, tmp_path: Path
) -> None:
    """利用者 in 計画と実績 is the usage report's 計: 説明/見学 visitors are shown in the
    breakdown but not added to it."""
    copy_db(demo_dir / "van.db", tmp_path / "van.db")
    van = connect(tmp_path / "van.db", role="van")
    visit = van.execute(
        "SELECT id FROM plan_visits WHERE date = ? ORDER BY start", [DAY.isoformat()]
    ).fetchone()[0]
    at = datetime(2026, 11, 20, 9, 50, tzinfo=JST)
    stop_id = open_planned(van, visit, operator_id="op001", now=at).payload["stop_id"]
    rec.append(van, "consultation.hold", {"stop_id": stop_id, "people": 2, "topic": "福祉"}, now=at)
    rec.append(van, "explanation.visit", {"stop_id": stop_id, "people": 5}, now=at)
    first = day_actual(van, DAY).stops[0]
    assert first.users == {"相談": 2, "説明/見学": 5}
    assert (first.total, first.visitors, day_actual(van, DAY).users) == (2, 5, 2)
