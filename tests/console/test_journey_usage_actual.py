"""The demo's planned versus actual and the usage table in a real browser (Debian's
Chromium through Playwright) against a real ``odekake hub serve`` over a copy of the demo
hub. Screenshots go to docs/screenshots/ only when ``ODEKAKE_SCREENSHOTS=1``."""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from pypdf import PdfReader

from odekake.operations.actual import days_actual
from odekake.storage.db import connect
from planner.demo_plan import plan_start
from tests.console.conftest import PASSWORDS, TODAY
from tests.sync.conftest import HubProcess

DOCS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
DAY = TODAY.date()  # the demo's today


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    return DOCS if os.environ.get("ODEKAKE_SCREENSHOTS") == "1" else tmp_path


@pytest.fixture
def served(hub_path: Path) -> Iterator[HubProcess]:
    hub = HubProcess(hub_path).start()
    yield hub
    hub.stop()


def _login(page, base: str, login: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{base}/login")
    page.fill("input[name=login]", login)
    page.fill("input[name=password]", PASSWORDS[login])
    page.click("button[type=submit] >> text=ログイン")
    page.wait_for_selector("text=今日の車両")


def test_planned_versus_actual_on_the_demo(chromium, served, hub_path: Path, shots: Path) -> None:  # type: ignore[no-untyped-def]
    first = plan_start(DAY)
    db = connect(hub_path, role="hub")
    expected = {d.day: d for d in days_actual(db, first, DAY, DAY)}
    db.close()
    page = chromium.new_page(viewport={"width": 1280, "height": 900}, locale="ja-JP")
    page.set_default_timeout(30_000)
    base = f"{served.url}/console"
    _login(page, base, "coord")
    page.goto(f"{base}/plans/actual?month={first:%Y-%m}")
    page.wait_for_selector("#actual-month")
    # The month: the plan's first days were served (synced), one visit was not.
    rows = page.locator("#actual-month tbody tr")
    by_day: dict[date, list[str]] = {}
    for i in range(rows.count()):
        cells = rows.nth(i).locator("td").all_inner_texts()
        by_day[date.fromisoformat(cells[0])] = cells[1:6]
    served_days = [d for d, c in sorted(by_day.items()) if first <= d < DAY and int(c[1]) > 0]
    assert len(served_days) >= 2
    for d in served_days:
        e = expected[d]
        assert by_day[d] == [str(e.planned), str(e.served), str(e.not_served), "0", str(e.users)]
    page.screenshot(path=str(shots / "actual-demo-month.png"), full_page=False)
    # The first served day: each visit's opened and closed times and users by service.
    page.locator(f'#actual-month tr[data-day="{served_days[0]}"] a').click()
    page.wait_for_selector("#actual-day")
    lines = page.locator("#actual-day tbody tr")
    shown = [lines.nth(i).locator("td").all_inner_texts() for i in range(lines.count())]
    e = expected[served_days[0]]
    assert len(shown) == len(e.stops)
    for cells, stop in zip(shown, e.stops, strict=True):
        van, window, site, _district, state, opened, closed, total, users = cells
        assert (van, window, site, state) == (stop.van_id, stop.window, stop.site_name, stop.state)
        if stop.served:
            assert (opened, closed) == (stop.opened_at, stop.closed_at) and ":" in opened
            assert int(total) == stop.total > 0
            assert users == "、".join(f"{k} {n}" for k, n in stop.users.items())
        else:
            assert (state, opened, closed, total) == ("未実施", "—", "—", "0")
    states = [c[4] for c in shown]
    assert "実施" in states and "未実施" in states  # one planned visit the van did not reach
    page.screenshot(path=str(shots / "actual-demo-day.png"), full_page=False)


def _pdf_month(pdf: bytes, month_label: str, n: int) -> list[str]:
    """The ``n`` figures the PDF's 月別・分野別 table prints on the row of ``month_label``."""
    reader = PdfReader(io.BytesIO(pdf))
    text = next(
        p.extract_text() for p in reader.pages if "月別・分野別の利用者数" in p.extract_text()
    )
    tokens = [t.strip() for t in text.split("月別・分野別の利用者数", 1)[1].splitlines()]
    at = tokens.index(month_label)
    return tokens[at + 1 : at + 1 + n]


def test_usage_table_cells_are_the_pdf_figures(chromium, served, shots: Path) -> None:  # type: ignore[no-untyped-def]
    page = chromium.new_page(viewport={"width": 1400, "height": 900}, locale="ja-JP")
    page.set_default_timeout(60_000)
    base = f"{served.url}/console"
    _login(page, base, "mgr")
    page.click("nav >> text=利用実績")
    page.fill("#period-fy input[name=fy]", "2026")
    page.click("#period-fy button")
    page.wait_for_selector("#usage-months")
    assert "2026年度" in page.inner_text("h1")
    # The main table reads as the PDF's: 地区定期巡回 once, values with their units.
    assert page.locator("#usage-sheet th[rowspan]", has_text="地区定期巡回").count() == 1
    assert page.locator("#usage-sheet tbody td.num").first.inner_text().endswith("回")
    page.locator("#usage-report").scroll_into_view_if_needed()
    page.screenshot(path=str(shots / "usage-table.png"), full_page=False)
    # Categories down, months across: October's column, read back from the page.
    months = page.locator("#usage-months thead th").all_inner_texts()
    col = months.index("2026年10月")
    rows = page.locator("#usage-months tbody tr")
    labels = rows.locator("th").all_inner_texts()
    october = [rows.nth(i).locator("td").nth(col - 1).inner_text() for i in range(rows.count())]
    assert labels[0] == "回数" and labels[-1] == "計" and int(october[0]) > 0
    with page.expect_download() as got:
        page.click("#dl-pdf")
    pdf = Path(got.value.path()).read_bytes()
    assert _pdf_month(pdf, "2026年10月", len(october)) == october
    page.locator("#usage-months-card").scroll_into_view_if_needed()
    page.screenshot(path=str(shots / "usage-months.png"), full_page=False)
    # A month typed while the fiscal year is shown, then Enter: that month, not the year.
    page.fill("#period-month input[name=month]", "2026-10")
    page.press("#period-month input[name=month]", "Enter")
    page.wait_for_url("**kind=month**")
    assert "2026年10月" in page.inner_text("h1") and "年度" not in page.inner_text("h1")
    one = page.locator("#usage-months tbody tr")
    assert page.locator("#usage-months thead th").all_inner_texts()[1] == "2026年10月"
    alone = {
        one.nth(i).locator("th").inner_text(): one.nth(i).locator("td").first.inner_text()
        for i in range(one.count())
    }
    # The same figures; a category not offered that month ("–") has no row of its own.
    in_year = dict(zip(labels, october, strict=True))
    assert alone == {k: v for k, v in in_year.items() if k in alone}
    assert all(in_year[k] == "–" for k in in_year if k not in alone)
