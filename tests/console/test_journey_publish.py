"""Publishing in a real browser (Playwright driving Debian's Chromium).

The coordinator opens the demo's published plan (made by the planner: no violation),
moves a visit of a December draft onto a Sunday, is refused at 公開する, sees every
violation and what changes for residents per district, then publishes with a reason
(audited with the violations). Screenshots go to docs/screenshots/ only when
``ODEKAKE_SCREENSHOTS=1`` (elsewhere to the test's temporary folder).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from odekake.access import audit
from odekake.storage.db import connect
from planner import lifecycle
from tests.sync.conftest import HubProcess

DOCS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    """Where screenshots go: docs/screenshots when asked, else the test's folder."""
    return DOCS if os.environ.get("ODEKAKE_SCREENSHOTS") == "1" else tmp_path


@pytest.fixture
def served(planned_hub: tuple[Path, str]) -> Iterator[tuple[HubProcess, str]]:
    # the console's today: the planning month's first day (the journey's plan is December
    # 2026; publishing never rewrites days before today)
    hub = HubProcess(planned_hub[0], env={"ODEKAKE_CONSOLE_TEST_TODAY": "2026-12-01"}).start()
    yield hub, planned_hub[1]
    hub.stop()


def test_publish_is_refused_then_done_with_a_reason(chromium, served, shots) -> None:  # type: ignore[no-untyped-def]
    hub, draft_id = served
    page = chromium.new_page(viewport={"width": 1280, "height": 900}, locale="ja-JP")
    page.set_default_timeout(30_000)
    base = f"{hub.url}/console"
    page.goto(f"{base}/login")
    page.fill("input[name=login]", "coord")
    page.fill("input[name=password]", "coord-demo-2026")
    page.click("button[type=submit] >> text=ログイン")
    page.wait_for_selector("text=今日の車両")

    # The demo's published plan keeps every rule and expects residents.
    page.goto(f"{base}/plans?month=2026-11")
    page.click("td.in-force >> xpath=.. >> text=開く")
    page.wait_for_selector("text=設定のルールはすべて守られています")
    assert page.locator("ul.violations").count() == 0
    page.screenshot(path=str(shots / "publish-01-demo-plan.png"), full_page=False)

    # Move the draft's first visit onto a Sunday (a closed day): a new draft.
    page.goto(f"{base}/plans/{draft_id}")
    row = page.locator("table.day-visits tbody tr").first
    row.locator("summary").click()
    row.locator("input[name=date]").fill("2026-12-13")
    row.locator("form.move button[type=submit]").click()
    page.wait_for_selector("text=変更しました")
    edited = page.url.split("/plans/", 1)[1].split("?", 1)[0]
    assert page.locator("ul.violations li").count() > 0

    # 公開する… opens the confirmation: every violation, the residents' diff.
    page.click("#publish")
    page.wait_for_selector("h1 >> text=計画の公開")
    violations = page.locator("ol.violations li").all_inner_texts()
    assert violations and any("12月13日(日)" in v for v in violations)
    assert page.locator("table.resident-diff tbody tr").count() > 0
    assert "配り直す地区" in page.inner_text("#notices")
    page.screenshot(path=str(shots / "publish-02-confirm-violations.png"), full_page=True)

    # Without a reason: refused, nothing published.
    page.click("#confirm")
    page.wait_for_selector("#override_reason-error")
    assert lifecycle.summary(connect(hub.db), edited).status == "draft"
    page.screenshot(path=str(shots / "publish-03-reason-needed.png"), full_page=False)

    # With a reason: published, and the audit entry holds the reason and the violations.
    page.fill("#override_reason", "13日は地区の祭りで公民館を臨時に開けるため")
    page.click("#confirm")
    page.wait_for_selector("text=公開しました")
    assert lifecycle.summary(connect(hub.db), edited).status == "published"
    entry = [e for e in audit.entries(connect(hub.db)) if e.action == "plan.publish"][-1]
    assert entry.detail["override_reason"].startswith("13日は地区の祭り")
    assert entry.detail["violations"] == violations

    # The list says what is in force, per plan.
    page.goto(f"{base}/plans?month=2026-12")
    line = page.inner_text(f'td.in-force[data-plan="{edited}"]')
    assert line.startswith("有効 ")
    page.screenshot(path=str(shots / "publish-04-plan-list.png"), full_page=False)
