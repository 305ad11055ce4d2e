"""The van's schedule for residents: by district, from the published plan, rebuilt at
every publish, read on a phone (390×844) in Chromium — large, high-contrast, offline."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from odekake.cli import main
from odekake.masterdata import master
from odekake.plans import today_jst
from odekake.storage.db import connect, write
from planner import lifecycle
from planner.plan import Plan, PlanVisit, SolverReport
from tests.browser import SHOTS

TODAY = today_jst()


def _visit(days: int, start: str, end: str, site: str, district: str, activity: str,
           services: tuple[str, ...]) -> PlanVisit:  # fmt: skip
    return PlanVisit(
        date=(TODAY + timedelta(days=days)).isoformat(), van_id="van-1", window=f"{start}-{end}",
        start=start, end=end, site_id=site, site_name=site, district_id=district,
        district_name=district, activity=activity, arrive=start, depart=end, order=1,
        opened_day=False, travel_minutes=0, services=services,
    )  # fmt: skip


def _publish(hub: Path, visits: list[PlanVisit]) -> lifecycle.PublishResult:
    days = sorted(v.date for v in visits)
    plan = Plan(
        id=str(uuid.uuid4()), created_at="2026-12-01T00:00:00+00:00", horizon_start=days[0],
        horizon_end=days[-1], visits=visits, districts=[],
        solver=SolverReport("highs", "Optimal", 0.0, None, None, 0.0),
    )  # fmt: skip
    db = connect(hub)
    try:
        pid = lifecycle.save_draft(db, plan, van_ids=["van-1"])
        return lifecycle.publish(db, pid, actor="test")
    finally:
        db.close()


REGULAR = ("certificate", "mynumber", "consultation")


@pytest.fixture
def hub(tmp_path: Path) -> Path:
    path = tmp_path / "hub.db"
    db = connect(path, role="hub", create=True)
    master.seed_city(db)
    with write(db):
        for sid, did, name in (("kawamae-01", "kawamae", "川前公民館 (旧小学校体育館)"),
                               ("tabito-01", "tabito", "田人ふれあいセンター")):  # fmt: skip
            master.upsert_site(db, {
                "id": sid, "district_id": did, "name": name, "kind": "公民館", "lat": 37.1,
                "lon": 140.7, "open_weekdays": "月火水木金土日", "open_from": "08:00",
                "open_to": "18:00", "notes": "",
            })  # fmt: skip
    master.add_van(db, "van-1", "1号車")
    db.close()
    _publish(path, [
        _visit(-1, "10:00", "12:00", "kawamae-01", "kawamae", "regular", REGULAR),
        _visit(2, "10:00", "12:00", "kawamae-01", "kawamae", "regular", REGULAR),
        _visit(3, "09:30", "12:00", "tabito-01", "tabito", "voting", ("voting",)),
        _visit(4, "13:30", "15:30", "tabito-01", "tabito", "reservation", ("frailty",)),
    ])  # fmt: skip
    return path


@pytest.fixture
def phone(tmp_path: Path) -> Iterator[Any]:
    from tests.browser import launch

    with launch() as chromium:
        context = chromium.new_context(
            viewport={"width": 390, "height": 844}, locale="ja-JP", device_scale_factor=1
        )
        yield context.new_page()
        context.close()


def _shot(page: Any, name: str) -> None:
    """Screenshots (their dates are today's) go to docs/screenshots only when asked
    (``ODEKAKE_SCREENSHOTS=1``), so an ordinary run leaves the tree as it was."""
    if os.environ.get("ODEKAKE_SCREENSHOTS"):
        page.screenshot(path=str(SHOTS / name), full_page=True)


def _jp(days: int) -> str:
    d = TODAY + timedelta(days=days)
    return f"{d.month}月{d.day}日({'月火水木金土日'[d.weekday()]})"


# Every element with its own text: font size, colours (text and the nearest background),
# and the size of links.
MEASURE = """() => {
  const rgb = (s) => (s.match(/[\\d.]+/g) || []).map(Number);
  const lum = (c) => { const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 :
    Math.pow((v + 0.055) / 1.055, 2.4); }; return 0.2126 * f(c[0]) + 0.7152 * f(c[1]) + 0.0722 * f(c[2]); };
  const bg = (el) => { for (; el; el = el.parentElement) { const c = rgb(getComputedStyle(el).backgroundColor);
    if (c.length === 3 || (c.length === 4 && c[3] > 0)) return c.slice(0, 3); } return [255, 255, 255]; };
  const out = { texts: [], links: [] };
  document.querySelectorAll("body *").forEach((el) => {
    const own = Array.from(el.childNodes).some((n) => n.nodeType === 3 && n.textContent.trim());
    if (own && el.offsetParent !== null) {
      const s = getComputedStyle(el);
      const a = lum(rgb(s.color)), b = lum(bg(el));
      out.texts.push([el.tagName, el.textContent.trim().slice(0, 20), parseFloat(s.fontSize),
        (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05)]);
    }
  });
  document.querySelectorAll("a").forEach((a) => {
    const r = a.getBoundingClientRect(); out.links.push([a.textContent.trim(), r.height, r.width]);
  });
  out.scripts = document.scripts.length;
  out.overflow = document.documentElement.scrollWidth > window.innerWidth;
  return out;
}"""


def _readable(page: Any) -> None:
    m = page.evaluate(MEASURE)
    small = [t for t in m["texts"] if t[2] < 16]
    faint = [t for t in m["texts"] if t[3] < 4.5]
    tiny = [link for link in m["links"] if link[1] < 44]
    assert small == [] and faint == [] and tiny == [], (small, faint, tiny)
    assert m["scripts"] == 0 and not m["overflow"]


def test_the_schedule_by_district_on_a_phone(phone: Any, hub: Path, tmp_path: Path) -> None:
    site = tmp_path / "site"
    res = CliRunner().invoke(main, ["prefill", "site", "--db", str(hub), "--out", str(site)])
    assert res.exit_code == 0, res.output
    assert "地区別の予定" in res.output
    requests: list[str] = []
    phone.on("request", lambda r: requests.append(r.url))
    phone.goto((site / "schedule" / "index.html").as_uri())
    _readable(phone)
    assert "次の予定 1件" in phone.inner_text("a[href='kawamae.html']")
    _shot(phone, "schedule-districts.png")
    phone.click("a[href='kawamae.html']")
    text = phone.inner_text("body")
    assert _jp(2) in text and "10:00〜12:00" in text and "川前公民館 (旧小学校体育館)" in text
    assert "住民票の写しなどの証明書の発行" in text and "マイナンバーカードの申請のお手伝い" in text
    assert _jp(-1) not in text  # a past visit is not announced
    assert "時点のものです" in text and "変更はこのページと回覧板でお知らせします" in text
    _readable(phone)
    _shot(phone, "schedule-district.png")
    phone.goto((site / "schedule" / "tabito.html").as_uri())
    text = phone.inner_text("body")
    assert _jp(3) in text and "期日前投票ができます" in text
    assert _jp(4) not in text  # a reservation is a group's own visit, not announced
    _readable(phone)
    _shot(phone, "schedule-voting.png")
    assert requests and all(u.startswith("file://") for u in requests), requests
    ics = (site / "schedule" / "kawamae.ics").read_text(encoding="utf-8")
    day = (TODAY + timedelta(days=2)).strftime("%Y%m%d")
    assert ics.count("BEGIN:VEVENT") == 1
    assert f"DTSTART;TZID=Asia/Tokyo:{day}T100000" in ics and "LOCATION:川前公民館" in ics
    # The next publish rebuilds the pages where the site was written.
    later = _publish(
        hub, [_visit(9, "13:30", "15:30", "kawamae-01", "kawamae", "regular", REGULAR)]
    )
    assert later.site == str(site.resolve()) and later.site_error == ""
    page = (site / "schedule" / "kawamae.html").read_text(encoding="utf-8")
    assert _jp(9) in page and _jp(2) in page
    assert (site / "schedule" / "kawamae.ics").read_text(encoding="utf-8").count(
        "BEGIN:VEVENT"
    ) == 2


def test_an_unwritable_site_folder_does_not_undo_a_publish(hub: Path, tmp_path: Path) -> None:
    site = tmp_path / "site"
    assert (
        CliRunner()
        .invoke(main, ["prefill", "site", "--db", str(hub), "--out", str(site)])
        .exit_code
        == 0
    )
    (site / "schedule").rename(tmp_path / "moved")
    (site / "schedule").write_text("not a folder", encoding="utf-8")
    r = _publish(hub, [_visit(9, "13:30", "15:30", "kawamae-01", "kawamae", "regular", REGULAR)])
    assert r.site == "" and "更新できません" in r.site_error
    db = connect(hub)
    assert lifecycle.summary(db, r.plan_id).status == "published"
    db.close()
    assert date.fromisoformat(r.published_at[:10])
