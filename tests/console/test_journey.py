"""The coordinator's month in a real browser (Playwright driving Debian's Chromium).

Log in, open next month, raise a district's minimum, create the plan and watch its
progress, look at the calendar and the map, pin one visit and move another,
re-solve keeping the pin, compare the two drafts, publish; then the demo van's
``odekake sync pull`` holds exactly the published stops. Screenshots of each step
go to ``docs/console/``.
"""

from __future__ import annotations

import os
import re
import sqlite3
import tempfile
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from playwright.sync_api import expect

from odekake.storage.db import connect
from planner import lifecycle
from tests.sync.conftest import HubProcess, cli

# The journeys' screenshots are refreshed in docs/console/ only when asked
# (ODEKAKE_SCREENSHOTS=1), so a test run leaves the tree as it was.
SHOTS = (
    Path(__file__).resolve().parents[2] / "docs" / "console"
    if os.environ.get("ODEKAKE_SCREENSHOTS") == "1"
    else Path(tempfile.gettempdir()) / "odekake-console-shots"
)
TIMEOUT = 300_000  # ms: a solve on a loaded 2-core machine


@pytest.fixture
def demo_hub(tmp_path: Path) -> Iterator[tuple[HubProcess, Path]]:
    """A fresh demo (today's date) served by a real ``odekake hub serve`` on loopback."""
    out = cli("demo", "--dir", str(tmp_path / "demo"), "--no-kiosk", "--force")
    assert out.returncode == 0, out.stderr
    hub = HubProcess(tmp_path / "demo" / "hub.db").start()
    yield hub, tmp_path / "demo"
    hub.stop()


def shot(page, name: str) -> None:  # type: ignore[no-untyped-def]
    from tests.browser import shot_path

    page.screenshot(path=str(shot_path(SHOTS, f"{name}.png")))


def wait_for_plan(page) -> str:  # type: ignore[no-untyped-def]
    """On a progress page: wait until the script takes us to the new plan; its id."""
    page.wait_for_url(re.compile(r".*/console/plans/[0-9a-f-]{36}(\?.*)?$"), timeout=TIMEOUT)
    return page.url.split("/plans/", 1)[1].split("?", 1)[0]


def test_coordinator_month_in_the_browser(chromium, demo_hub) -> None:  # type: ignore[no-untyped-def]
    hub, demo = demo_hub
    page = chromium.new_page(viewport={"width": 1280, "height": 860}, locale="ja-JP")
    page.set_default_timeout(30_000)
    base = f"{hub.url}/console"

    # 1. Log in as the coordinator.
    page.goto(f"{base}/")
    assert "/console/login" in page.url
    page.fill("input[name=login]", "coord")
    page.fill("input[name=password]", "coord-demo-2026")
    shot(page, "01-login")
    page.click("button[type=submit] >> text=ログイン")
    page.wait_for_selector("text=今日の車両")
    shot(page, "02-home")

    # 2. Open next month (the default) and its policy; raise 川前's minimum to 2.
    page.click("nav >> text=巡回計画")
    page.wait_for_selector("h1 >> text=巡回計画")
    month_label = page.inner_text("h1 small")
    page.click("text=設定を開く")
    page.fill("input[name='d.kawamae.min_visits']", "2")
    shot(page, "03-policy")
    page.click("#save-policy")
    page.wait_for_selector("text=設定を保存しました")

    # 3. Create the plan and watch its progress.
    page.click("#create-plan")
    page.wait_for_selector("#p-status")
    assert page.inner_text("#p-status") in ("計算中", "完了")
    # (a locator, not wait_for_function: the console's CSP allows no eval)
    # the elapsed time is shown (a fast solve may finish within its first second)
    expect(page.locator("#p-elapsed")).to_have_text(re.compile("[0-9]+秒"), timeout=TIMEOUT)
    shot(page, "04-progress")
    first_id = wait_for_plan(page)

    # 4. Calendar and map of the draft.
    page.wait_for_selector("#calendar svg")
    assert page.locator("#calendar svg [data-day]").count() >= 28
    assert page.locator("#map svg [data-site]").count() >= 1
    shot(page, "05-draft")
    page.locator("#map").scroll_into_view_if_needed()
    shot(page, "06-map")
    db = connect(demo / "hub.db")
    first = lifecycle.load_plan(db, first_id)
    kawamae = next(d for d in first.districts if d.district_id == "kawamae")
    assert kawamae.min_visits == 2 and kawamae.visits >= 2

    # 5. Pin one visit of the shown day, move another to another day.
    rows = page.locator("table.day-visits tbody tr[data-visit]")
    pinned_id = rows.nth(0).get_attribute("data-visit")
    pinned = next(v for v in first.visits if v.id == pinned_id)
    rows.nth(0).locator("button[value=pin]").click()
    page.wait_for_selector("text=変更しました")
    assert "固定" in page.inner_text("section:has(h2:text('ルールの確認'))")
    rows = page.locator("table.day-visits tbody tr[data-visit]")
    moved_id = rows.nth(rows.count() - 1).get_attribute("data-visit")
    moved = next(v for v in first.visits if v.id == moved_id)
    from odekake.masterdata import master

    weekday = "月火水木金土日"[date.fromisoformat(moved.date).weekday()]
    other_site = next(
        x["id"]
        for x in master.sites(db, moved.district_id)
        if x["id"] != moved.site_id
        and weekday in x["open_weekdays"]
        and x["open_from"] <= moved.start
        and moved.end <= x["open_to"]
    )
    last = rows.nth(rows.count() - 1)
    last.locator("summary").click()
    last.locator("select[name=site_id]").select_option(other_site)
    other_site_name = next(x["name"] for x in master.sites(db) if x["id"] == other_site)
    last.locator("form.move button[type=submit]").click()
    page.wait_for_selector("text=変更しました")
    edited_id = page.url.split("/plans/", 1)[1].split("?", 1)[0]
    assert edited_id != first_id
    edited = lifecycle.load_plan(db, edited_id)
    assert (moved.date, moved.start, other_site) in {
        (v.date, v.start, v.site_id) for v in edited.visits
    }
    shot(page, "07-edited")

    # 6. Re-solve keeping the pin.
    page.click("#resolve")
    second_id = wait_for_plan(page)
    second = lifecycle.load_plan(db, second_id)
    assert any(
        v.site_id == pinned.site_id and v.date == pinned.date and v.start == pinned.start
        for v in second.visits
    ), "the pinned visit must stay"
    assert lifecycle.summary(db, second_id).parent_id == edited_id

    # 7. Compare the two drafts.
    page.goto(f"{base}/plans/compare?id={first_id}&id={second_id}")
    page.wait_for_selector("h1 >> text=計画の比較")
    only_b = page.inner_text("table.only-b")
    assert other_site_name in only_b  # the moved visit is kept by the re-solve
    shot(page, "08-compare")

    # 8. Publish the re-solved draft.
    page.goto(f"{base}/plans/{second_id}")
    page.click("#publish")
    page.wait_for_selector("h1 >> text=計画の公開")
    assert "違反 0 件" in page.inner_text("main")
    page.click("#confirm")
    page.wait_for_selector("text=公開しました")
    shot(page, "09-published")
    assert month_label

    # 9. The demo van pulls: it holds exactly the published stops of the month.
    out = cli("sync", "pull", "--db", str(demo / "van.db"), "--hub", hub.url)
    assert out.returncode == 0, out.stderr
    published = {
        (v.date, v.start, v.end, v.site_id)
        for v in lifecycle.published_visits(db, "van-1", second.horizon_start, second.horizon_end)
    }
    assert published == {(v.date, v.start, v.end, v.site_id) for v in second.visits}
    van = sqlite3.connect(demo / "van.db")
    from odekake.plans import IN_FORCE

    on_van = {
        tuple(r)
        for r in van.execute(
            f'SELECT date, start, "end", site_id FROM plan_visits WHERE {IN_FORCE} '
            "AND van_id = 'van-1' AND date BETWEEN ? AND ?",
            [second.horizon_start, second.horizon_end],
        )
    }
    assert on_van == published
    assert date.fromisoformat(second.horizon_start).day == 1
