"""Publishing checks every rule first and says, in numbers, what changes for residents;
discarding, removing a visit and re-planning confirm first."""

from __future__ import annotations

import re
from pathlib import Path

from click.testing import CliRunner

from odekake.access import audit
from odekake.cli import main
from odekake.storage.db import connect
from planner import lifecycle
from planner.draft_edits import MoveVisit
from planner.publishing import preview
from tests.console.conftest import TODAY, Browser

SUNDAY = "2026-12-13"  # 日曜日: the demo's sites and the default policy rest on Sundays


def _violating_draft(hub: tuple[Path, str]) -> str:
    db = connect(hub[0])
    plan = lifecycle.load_plan(db, hub[1])
    v = plan.visits[0]
    return lifecycle.edit_draft(
        db, plan.id, [MoveVisit(v.id, date=SUNDAY)], actor="staff:coord", label="手で移動"
    )


def _published_entry(db_path: Path):  # type: ignore[no-untyped-def]
    return [e for e in audit.entries(connect(db_path)) if e.action == "plan.publish"][-1]


def test_a_violating_draft_is_refused_then_published_with_a_reason(
    planner_browser: Browser, planned_hub: tuple[Path, str]
) -> None:
    draft = _violating_draft(planned_hub)
    page = planner_browser.client.get(f"/console/plans/{draft}")
    assert f'href="/console/plans/{draft}/publish"' in page.text
    assert f'action="/console/plans/{draft}/publish"' not in page.text  # no one-click publish
    confirm = planner_browser.client.get(f"/console/plans/{draft}/publish")
    assert confirm.status_code == 200
    found = re.findall(r'<li class="error">([^<]+)</li>', confirm.text)
    assert found and any("12月13日(日)" in f for f in found)
    assert f"ルールに {len(found)} 件違反しています" in confirm.text
    assert 'name="override_reason"' in confirm.text

    refused = planner_browser.post(
        f"/console/plans/{draft}/publish", {}, page=f"/console/plans/{draft}/publish"
    )
    assert refused.status_code == 400
    assert "公開する理由を書いてください" in refused.text
    db = connect(planned_hub[0])
    assert lifecycle.summary(db, draft).status == "draft"

    reason = "12月13日は地区のお祭りで会場が特別に開くため"
    done = planner_browser.post(
        f"/console/plans/{draft}/publish",
        {"override_reason": reason},
        page=f"/console/plans/{draft}/publish",
    )
    assert done.status_code == 303
    assert lifecycle.summary(db, draft).status == "published"
    entry = _published_entry(planned_hub[0])
    assert entry.detail["override_reason"] == reason
    assert entry.detail["violations"] == found


def test_a_clean_draft_publishes_after_the_confirmation_with_no_reason(
    planner_browser: Browser, planned_hub: tuple[Path, str]
) -> None:
    plan_id = planned_hub[1]
    confirm = planner_browser.client.get(f"/console/plans/{plan_id}/publish")
    assert "違反 0 件" in confirm.text and 'name="override_reason"' not in confirm.text
    visits = len(lifecycle.load_plan(connect(planned_hub[0]), plan_id).visits)
    assert f"この計画の訪問 {visits} 件が公開中になり" in confirm.text
    # the demo's plan is in force until 12月17日: its districts' notices must be re-sent
    assert re.search(r"回覧板のお知らせを配り直す地区\([1-9][0-9]* 地区\)", confirm.text)
    r = planner_browser.post(
        f"/console/plans/{plan_id}/publish", {}, page=f"/console/plans/{plan_id}/publish"
    )
    assert r.status_code == 303
    entry = _published_entry(planned_hub[0])
    assert entry.detail["violations"] == [] and "override_reason" not in entry.detail


def test_the_residents_diff_names_the_moved_visit_and_the_notice_to_resend(
    planner_browser: Browser, planned_hub: tuple[Path, str]
) -> None:
    db = connect(planned_hub[0])
    lifecycle.publish(db, planned_hub[1], actor="staff:coord")
    plan = lifecycle.load_plan(db, planned_hub[1])
    v = plan.visits[0]
    other = next(w for w in plan.visits if w.district_id != v.district_id)
    removed = next(
        w for w in plan.visits if w.district_id not in (v.district_id, other.district_id)
    )
    later = next(
        s
        for s in lifecycle._names(db)[0]
        if s.startswith(v.site_id.split("-")[0]) and s != v.site_id
    )
    draft = lifecycle.edit_draft(
        db,
        plan.id,
        [MoveVisit(v.id, site_id=later), lifecycle.RemoveVisit(removed.id)],
        actor="staff:coord",
    )
    p = preview(db, draft, TODAY.date())
    changed = {d.district_id: d for d in p.changed_districts}
    assert set(changed) == {v.district_id, removed.district_id}
    assert len(changed[v.district_id].moved) == 1 and not changed[v.district_id].added
    assert len(changed[removed.district_id].removed) == 1
    assert p.unchanged == len(plan.visits) - 2 and p.superseded_visits == 2
    page = planner_browser.client.get(f"/console/plans/{draft}/publish")
    diff = page.text.split('class="resident-diff"', 1)[1].split("</table>", 1)[0]
    assert f'data-district="{v.district_id}"' in diff and "変更:" in diff and "取りやめ:" in diff
    assert "回覧板のお知らせを配り直す地区(2 地区)" in page.text
    assert "うち有効" not in page.text and "moved_visits" not in page.text


def test_discard_and_remove_confirm_first_saying_how_many(
    planner_browser: Browser, planned_hub: tuple[Path, str]
) -> None:
    plan = lifecycle.load_plan(connect(planned_hub[0]), planned_hub[1])
    page = planner_browser.client.get(f"/console/plans/{plan.id}")
    assert f'action="/console/plans/{plan.id}/discard"' not in page.text
    confirm = planner_browser.client.get(f"/console/plans/{plan.id}/discard")
    assert f"訪問 {len(plan.visits)} 件)を破棄します" in confirm.text
    assert lifecycle.summary(connect(planned_hub[0]), plan.id).status == "draft"
    v = plan.visits[0]
    confirm = planner_browser.client.get(f"/console/plans/{plan.id}/remove?visit_id={v.id}")
    assert "訪問 1 件を除いた新しい下書き" in confirm.text and v.site_name in confirm.text
    assert 'name="op" value="remove"' in confirm.text


def test_replan_confirms_in_numbers_and_a_bad_site_keeps_what_was_typed(
    planner_browser: Browser, planned_hub: tuple[Path, str]
) -> None:
    plan = lifecycle.load_plan(connect(planned_hub[0]), planned_hub[1])
    bad = planner_browser.client.get(
        f"/console/plans/{plan.id}/replan",
        params={"from": "2026-12-14", "to": "2026-12-18", "sites": "tabito-01, nosuch-99"},
    )
    assert bad.status_code == 400
    assert "会場IDが登録されていません: nosuch-99" in bad.text
    assert 'value="tabito-01, nosuch-99"' in bad.text and 'value="2026-12-14"' in bad.text
    good = planner_browser.client.get(
        f"/console/plans/{plan.id}/replan",
        params={"from": "2026-12-14", "to": "2026-12-18", "sites": "tabito-01"},
    )
    later = [v for v in plan.visits if v.date >= "2026-12-14"]
    assert good.status_code == 200
    assert f"までの訪問 {len(later)} 件" in good.text
    assert not [j for j in connect(planned_hub[0]).execute("SELECT id FROM plan_jobs")]


def test_plan_publish_cli_refuses_violations_without_a_reason(
    planned_hub: tuple[Path, str],
) -> None:
    draft = _violating_draft(planned_hub)
    db_path = str(planned_hub[0])
    runner = CliRunner()
    today = ["--today", "2026-12-01"]  # the fixture plans December 2026 from its first day
    r = runner.invoke(main, ["plan", "publish", "--db", db_path, draft, *today])
    assert r.exit_code == 1
    assert "NG: " in r.output and "12月13日(日)" in r.output
    assert lifecycle.summary(connect(planned_hub[0]), draft).status == "draft"
    r = runner.invoke(
        main, ["plan", "publish", "--db", db_path, draft, *today, "--override-reason", "臨時の開所"]
    )
    assert r.exit_code == 0, r.output
    entry = _published_entry(planned_hub[0])
    assert entry.detail["override_reason"] == "臨時の開所" and entry.detail["violations"]


def test_the_residents_diff_lists_districts_in_the_citys_order(
    planned_hub: tuple[Path, str],
) -> None:
    from odekake.masterdata import master

    db = connect(planned_hub[0])
    p = preview(db, planned_hub[1], TODAY.date())
    order = [d.id for d in master.districts(db)]
    listed = [d.district_id for d in p.districts]
    assert len(listed) >= 3
    assert listed == sorted(listed, key=order.index)
