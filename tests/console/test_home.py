"""Home: today's vans — stops in force, last sync, records at the hub, alerts."""

from __future__ import annotations

from pathlib import Path

from odekake.storage.db import connect, write
from tests.console.conftest import Browser


def test_home_shows_todays_stops_devices_and_records(coordinator: Browser, hub_path: Path) -> None:
    r = coordinator.client.get("/console/")
    assert r.status_code == 200
    assert "今日の車両" in r.text and "2026年11月20日(令和8年11月20日)(金)" in r.text
    db = connect(hub_path)
    stops = db.execute(
        "SELECT s.name FROM plan_visits v JOIN sites s ON s.id = v.site_id "
        "WHERE v.date = '2026-11-20' AND v.van_id = 'van-1' ORDER BY v.start"
    ).fetchall()
    assert stops, "the demo plans today"
    for (name,) in stops:
        assert name in r.text
    records = db.execute("SELECT COUNT(*) FROM records WHERE device_id = 'van-1'").fetchone()[0]
    assert f'<td class="num">{records}</td>' in r.text
    assert "⚠" not in r.text  # no alert on a clean hub


def test_home_raises_quarantine_and_gap_alerts(coordinator: Browser, hub_path: Path) -> None:
    db = connect(hub_path)
    top = db.execute("SELECT MAX(seq) FROM records WHERE device_id = 'van-1'").fetchone()[0]
    with write(db):
        db.execute(
            "INSERT INTO sync_quarantine(device_id, seq, record_id, hash, existing_hash, reason, "
            "line, received_at) VALUES ('van-1', 5, 'r5', 'h2', 'h1', '内容が違う', '{}', "
            "'2026-11-20T01:00:00+00:00')"
        )
        db.execute(
            "INSERT INTO sync_held(device_id, seq, id, hash, prev_hash, line, received_at) "
            "VALUES ('van-1', ?, 'r-later', 'hx', 'hy', '{}', '2026-11-20T01:00:00+00:00')",
            [top + 3],
        )
    r = coordinator.client.get("/console/")
    assert "隔離された記録が 1 件あります" in r.text
    assert f"記録の欠番 {top + 1}〜{top + 2} 番" in r.text


def test_home_is_for_every_staff_role(browser: Browser) -> None:
    for login in ("mgr", "elec", "admin"):
        browser.client.cookies.clear()
        assert browser.login(login).status_code == 303
        assert browser.client.get("/console/").status_code == 200


def test_the_demos_published_plan_keeps_every_rule_and_expects_users(coordinator) -> None:  # type: ignore[no-untyped-def]
    """The demo publishes a plan made by the planner: no wall of red for a newcomer."""
    import re

    plans = coordinator.client.get("/console/plans?month=2026-11").text
    plan_id = re.search(r'data-plan="([0-9a-f-]{36})">有効', plans)
    assert plan_id, "the demo's published plan is in the list"
    page = coordinator.client.get(f"/console/plans/{plan_id.group(1)}").text
    assert "設定のルールはすべて守られています" in page and 'class="error"' not in page
    users = float(re.search(r"見込み利用者 ([0-9.]+) 人", page).group(1))  # type: ignore[union-attr]
    assert users > 50


def test_a_device_of_a_van_not_in_the_master_data_is_on_the_home_page(
    coordinator: Browser, hub_path: Path
) -> None:
    """An enrolment code may name a new van id: its device is on the home page too."""
    from odekake.sync.keys import generate_key, public_key_text, register_device

    db = connect(hub_path, role="hub")
    register_device(db, "dev-77", public_key_text(generate_key()), van_id="van-77")
    db.close()
    home = coordinator.client.get("/console/").text
    assert "van-77" in home and "dev-77" in home and "車両マスタにない車両" in home
