"""A draft in the console: calendar, map, districts, edits, publishing, comparing, files."""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path

from pypdf import PdfReader

from odekake.access import audit
from odekake.storage.db import connect
from planner import lifecycle
from tests.console.conftest import Browser

MONTH = "2026-12"


def _plan(hub: tuple[Path, str]):  # type: ignore[no-untyped-def]
    return lifecycle.load_plan(connect(hub[0]), hub[1])


def test_plans_list_shows_the_draft(
    planner_browser: Browser, planned_hub: tuple[Path, str]
) -> None:
    r = planner_browser.client.get(f"/console/plans?month={MONTH}")
    assert r.status_code == 200
    assert f'href="/console/plans/{planned_hub[1]}"' in r.text and "下書き" in r.text
    assert 'id="create-plan"' in r.text


def test_draft_page_shows_calendar_map_districts_and_the_gap(
    planner_browser: Browser, planned_hub: tuple[Path, str]
) -> None:
    plan = _plan(planned_hub)
    r = planner_browser.client.get(f"/console/plans/{planned_hub[1]}")
    assert r.status_code == 200
    assert re.search(r"最適解(です|との差は最大\d+\.\d\d%)", r.text)
    cal = r.text.split('id="calendar">', 1)[1].split("</svg>", 1)[0]
    # every visit of the plan is in the calendar with its window and site
    for v in plan.visits[:5]:
        assert f"{v.start}-{v.end}" in cal
        # the site's name is not cut to a few characters (several stores read alike)
        assert f"<title>{v.site_name}</title>{v.site_name[:14]}" in cal
    assert cal.count('data-day="2026-12-') == 31
    # the map of the first planned day: the depot and that day's sites in route order
    first = min(v.date for v in plan.visits)
    m = r.text.split('id="map">', 1)[1].split("</svg>", 1)[0]
    day_sites = [v.site_id for v in sorted(plan.visits, key=lambda v: v.order) if v.date == first]
    assert re.findall(r'data-site="([^"]+)"', m) == day_sites
    assert "(出発・帰着)" in m and "°N" in m
    # districts table: every district with its minimum and explanation
    table = r.text.split('class="districts"', 1)[1].split("</table>", 1)[0]
    for d in plan.districts:
        assert f"<th>{d.name}</th>" in table
    assert plan.explanations and next(iter(plan.explanations.values()))[:6] in table


def test_selecting_a_day_draws_its_route(
    planner_browser: Browser, planned_hub: tuple[Path, str]
) -> None:
    plan = _plan(planned_hub)
    day = sorted({v.date for v in plan.visits})[3]
    r = planner_browser.client.get(f"/console/plans/{planned_hub[1]}?day={day}")
    m = r.text.split('id="map">', 1)[1].split("</svg>", 1)[0]
    expected = [v.site_id for v in sorted(plan.visits, key=lambda v: v.order) if v.date == day]
    assert re.findall(r'data-site="([^"]+)"', m) == expected


def test_remove_makes_a_new_draft_and_is_audited(
    planner_browser: Browser, planned_hub: tuple[Path, str]
) -> None:
    plan = _plan(planned_hub)
    victim = plan.visits[0]
    r = planner_browser.post(
        f"/console/plans/{plan.id}/edit",
        {"op": "remove", "visit_id": victim.id, "day": victim.date},
        page=f"/console/plans/{plan.id}",
    )
    assert r.status_code == 303
    new_id = r.headers["location"].split("/plans/", 1)[1].split("?", 1)[0]
    assert new_id != plan.id
    db = connect(planned_hub[0])
    new = lifecycle.load_plan(db, new_id)
    assert len(new.visits) == len(plan.visits) - 1
    assert lifecycle.summary(db, new_id).parent_id == plan.id
    last = audit.entries(db)[-1]
    assert last.action == "plan.edit"  # a hand edit, not a plain plan.create
    assert last.detail["edit"] == [
        f"手で編集: 削除 {victim.date} {victim.start} {victim.site_name}"
    ]
    page = planner_browser.client.get(r.headers["location"])
    assert "変更しました" in page.text


def test_move_changes_the_visit(planner_browser: Browser, planned_hub: tuple[Path, str]) -> None:
    plan = _plan(planned_hub)
    v = plan.visits[0]
    other = next(s for s in ("kawamae-01", "miwa-01") if s != v.site_id)
    r = planner_browser.post(
        f"/console/plans/{plan.id}/edit",
        {
            "op": "move",
            "visit_id": v.id,
            "date": v.date,
            "window": f"{v.start}-{v.end}",
            "site_id": other,
        },
        page=f"/console/plans/{plan.id}",
    )
    assert r.status_code == 303, r.text
    new_id = r.headers["location"].split("/plans/", 1)[1].split("?", 1)[0]
    new = lifecycle.load_plan(connect(planned_hub[0]), new_id)
    moved = [
        w for w in new.visits if w.date == v.date and w.start == v.start and w.van_id == v.van_id
    ]
    assert [w.site_id for w in moved] == [other]


def test_bad_move_is_refused_in_japanese(
    planner_browser: Browser, planned_hub: tuple[Path, str]
) -> None:
    plan = _plan(planned_hub)
    v = plan.visits[0]
    r = planner_browser.post(
        f"/console/plans/{plan.id}/edit",
        {"op": "move", "visit_id": v.id, "date": "2026-12-99", "window": "", "site_id": ""},
        page=f"/console/plans/{plan.id}",
    )
    assert r.status_code == 400
    assert "エラー" in r.text and "Traceback" not in r.text


def test_publish_by_the_coordinator(
    planner_browser: Browser, planned_hub: tuple[Path, str]
) -> None:
    r = planner_browser.post(
        f"/console/plans/{planned_hub[1]}/publish", {}, page=f"/console/plans/{planned_hub[1]}"
    )
    assert r.status_code == 303
    db = connect(planned_hub[0])
    assert lifecycle.summary(db, planned_hub[1]).status == "published"
    assert audit.entries(db)[-1].action == "plan.publish"
    page = planner_browser.client.get(r.headers["location"])
    assert "公開しました" in page.text and 'id="publish"' not in page.text


def test_a_manager_may_look_but_not_publish(planned_hub: tuple[Path, str]) -> None:
    from starlette.testclient import TestClient

    from odekake.sync.hub import make_app

    with TestClient(make_app(planned_hub[0])) as client:
        b = Browser(client)
        b.login("mgr")
        assert client.get(f"/console/plans/{planned_hub[1]}").status_code == 200
        r = b.post(f"/console/plans/{planned_hub[1]}/publish", {})
        assert r.status_code == 403 and "企画担当" in r.text
        r = b.post(f"/console/plans/{planned_hub[1]}/edit", {"op": "remove", "visit_id": "x"})
        assert r.status_code == 403
    assert lifecycle.summary(connect(planned_hub[0]), planned_hub[1]).status == "draft"


def test_publish_without_csrf_is_403(
    planner_browser: Browser, planned_hub: tuple[Path, str]
) -> None:
    r = planner_browser.client.post(f"/console/plans/{planned_hub[1]}/publish", data={})
    assert r.status_code == 403
    assert lifecycle.summary(connect(planned_hub[0]), planned_hub[1]).status == "draft"


def test_compare_two_drafts(planner_browser: Browser, planned_hub: tuple[Path, str]) -> None:
    plan = _plan(planned_hub)
    victim = plan.visits[0]
    r = planner_browser.post(
        f"/console/plans/{plan.id}/edit",
        {"op": "remove", "visit_id": victim.id},
        page=f"/console/plans/{plan.id}",
    )
    new_id = r.headers["location"].split("/plans/", 1)[1].split("?", 1)[0]
    page = planner_browser.client.get(f"/console/plans/compare?id={plan.id}&id={new_id}")
    assert page.status_code == 200
    only_a = page.text.split('class="only-a"', 1)[1].split("</table>", 1)[0]
    assert victim.site_name in only_a and victim.date in only_a
    only_b = page.text.split('class="only-b"', 1)[1].split("</table>", 1)[0]
    assert "なし" in only_b
    assert "見込み利用者" in page.text and "移動時間" in page.text
    assert planner_browser.client.get("/console/plans/compare?id=x").status_code == 400


def test_downloads(planner_browser: Browser, planned_hub: tuple[Path, str]) -> None:
    plan = _plan(planned_hub)
    base = f"/console/plans/{plan.id}"
    csv = planner_browser.client.get(f"{base}/plan.csv")
    assert csv.content.startswith("\ufeff日付,曜日,車両".encode())
    assert csv.content.decode("utf-8-sig").count("\r\n") == len(plan.visits) + 1
    ics = planner_browser.client.get(f"{base}/ics/van-1.ics").text
    assert ics.startswith("BEGIN:VCALENDAR") and ics.count("BEGIN:VEVENT") == len(plan.visits)
    pdf = planner_browser.client.get(f"{base}/calendar.pdf")
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.content)).pages)
    assert plan.visits[0].site_name[:4] in text
    z = zipfile.ZipFile(io.BytesIO(planner_browser.client.get(f"{base}/notices.zip").content))
    names = z.namelist()
    assert names and all(n.startswith("notice-") and n.endswith(".pdf") for n in names)
    assert len(names) == len({v.district_id for v in plan.visits})


def test_unknown_plan_is_a_japanese_404(planner_browser: Browser) -> None:
    r = planner_browser.client.get("/console/plans/nonexistent-plan")
    assert r.status_code == 404 and "計画" in r.text


def _policy(hub: tuple[Path, str]) -> dict:
    import tomllib

    from planner import policy_form

    return tomllib.loads(policy_form.policy_text(connect(hub[0]), MONTH))


def test_pin_adds_a_rule_and_the_check_holds(
    planner_browser: Browser, planned_hub: tuple[Path, str]
) -> None:
    plan = _plan(planned_hub)
    v = plan.visits[2]
    r = planner_browser.post(
        f"/console/plans/{plan.id}/edit",
        {"op": "pin", "visit_id": v.id, "day": v.date},
        page=f"/console/plans/{plan.id}",
    )
    assert r.status_code == 303, r.text
    assert r.headers["location"].startswith(f"/console/plans/{plan.id}?")
    pins = _policy(planned_hub)["pins"]
    assert pins == [{"site": v.site_id, "date": v.date, "window": f"{v.start}-{v.end}"}]
    page = planner_browser.client.get(r.headers["location"])
    rules = page.text.split("<h2>ルールの確認</h2>", 1)[1].split("</section>", 1)[0]
    assert f"{v.site_id} {v.date}" in rules
    assert "設定のルールはすべて守られています" in rules


def test_forbid_a_site_is_rechecked_in_japanese(
    planner_browser: Browser, planned_hub: tuple[Path, str]
) -> None:
    plan = _plan(planned_hub)
    v = plan.visits[1]
    r = planner_browser.post(
        f"/console/plans/{plan.id}/edit",
        {"op": "forbid_site", "visit_id": v.id},
        page=f"/console/plans/{plan.id}",
    )
    assert r.status_code == 303, r.text
    assert {"site": v.site_id, "from": plan.horizon_start, "to": plan.horizon_end} in _policy(
        planned_hub
    )["forbid"]
    page = planner_browser.client.get(r.headers["location"])
    rules = page.text.split("<h2>ルールの確認</h2>", 1)[1].split("</section>", 1)[0]
    assert '<li class="error">' in rules and v.site_name in rules


def test_resolve_keeps_the_pin_and_avoids_the_forbidden_site(
    planner_browser: Browser, planned_hub: tuple[Path, str]
) -> None:
    import time

    plan = _plan(planned_hub)
    pin, banned = plan.visits[4], plan.visits[0]
    assert pin.site_id != banned.site_id
    for op, v in (("pin", pin), ("forbid_site", banned)):
        planner_browser.post(
            f"/console/plans/{plan.id}/edit",
            {"op": op, "visit_id": v.id},
            page=f"/console/plans/{plan.id}",
        )
    r = planner_browser.post(
        f"/console/plans/{plan.id}/resolve", {}, page=f"/console/plans/{plan.id}"
    )
    assert r.status_code == 303 and "/plans/jobs/" in r.headers["location"]
    job = r.headers["location"].rsplit("/", 1)[1]
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        j = planner_browser.client.get(f"/console/plans/jobs/{job}/progress").json()
        if j["done"]:
            break
        time.sleep(0.5)
    assert j["status"] == "done", j
    new_id = j["next"].rsplit("/", 1)[1]
    db = connect(planned_hub[0])
    new = lifecycle.load_plan(db, new_id)
    assert lifecycle.summary(db, new_id).parent_id == plan.id
    assert any(
        (w.site_id, w.date, w.start) == (pin.site_id, pin.date, pin.start) for w in new.visits
    )
    assert all(w.site_id != banned.site_id for w in new.visits)


def test_replan_after_a_disaster_lists_the_moved_visits(
    planner_browser: Browser, planned_hub: tuple[Path, str]
) -> None:
    import time

    plan = _plan(planned_hub)
    planner_browser.post(f"/console/plans/{plan.id}/publish", {}, page=f"/console/plans/{plan.id}")
    r = planner_browser.post(
        f"/console/plans/{plan.id}/replan",
        {"from": "2026-12-14", "to": "2026-12-18", "sites": "tabito-01, nakoso-02"},
        page=f"/console/plans/{plan.id}",
    )
    assert r.status_code == 303, r.text
    job = r.headers["location"].rsplit("/", 1)[1]
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        j = planner_browser.client.get(f"/console/plans/jobs/{job}/progress").json()
        if j["done"]:
            break
        time.sleep(0.5)
    assert j["status"] == "done", j
    new_id = j["next"].rsplit("/", 1)[1]
    new = lifecycle.load_plan(connect(planned_hub[0]), new_id)
    assert new.replan_from == "2026-12-14"
    assert new.moved, "announced visits in the disaster days had to move"
    assert {v.date for v in new.visits if v.date < "2026-12-14"} == {
        v.date for v in plan.visits if v.date < "2026-12-14"
    }
    assert any(v.activity == "disaster" for v in new.visits)
    page = planner_browser.client.get(j["next"])
    moved = page.text.split('class="moved"', 1)[1].split("</table>", 1)[0]
    assert new.moved[0]["date"] in moved
    assert "disaster" in _policy(planned_hub)["events"]


def test_a_plan_over_several_months_pages_its_calendar(
    coordinator: Browser, hub_path: Path
) -> None:
    """The demo's published plan runs over three months: the calendar shows the month of
    the chosen day and links to the months before and after inside the plan."""
    db = connect(hub_path)
    published = next(p for p in lifecycle.list_plans(db) if p.status == "published")
    plan = lifecycle.load_plan(db, published.id)
    db.close()
    months = sorted({v.date[:7] for v in plan.visits})
    assert len(months) >= 2
    day = min(v.date for v in plan.visits if v.date[:7] == months[1])
    page = coordinator.client.get(f"/console/plans/{plan.id}?day={day}").text
    cal = page.split('id="calendar">', 1)[1].split("</svg>", 1)[0]
    assert f'data-day="{months[1]}-01"' in cal and f'data-day="{months[0]}-15"' not in cal
    year, month = (int(x) for x in months[1].split("-"))
    assert f'id="calendar-month">{year}年{month}月' in page
    back = re.search(r'id="month-prev" href="\?day=([0-9-]+)"', page)
    assert back and back.group(1)[:7] == months[0]
    assert 'id="month-next"' in page or months[-1] == months[1]


def test_comparing_fewer_than_two_plans_leads_back_to_the_list(
    planner_browser: Browser, planned_hub: tuple[Path, str]
) -> None:
    page = planner_browser.client.get(f"/console/plans/compare?id={planned_hub[1]}")
    assert page.status_code == 400
    assert "2つ選んで" in page.text and 'href="/console/plans"' in page.text
    assert "<h1>計画の比較</h1>" in page.text
