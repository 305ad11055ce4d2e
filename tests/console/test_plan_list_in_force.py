"""The plan list says which visits of each plan are in force and what replaced the rest."""

from __future__ import annotations

import re
from pathlib import Path

from odekake.storage.db import connect
from planner import lifecycle
from planner.draft_edits import MoveVisit, RemoveVisit
from tests.console.conftest import Browser


def _row(page: str, plan_id: str) -> str:
    m = re.search(rf'<td class="in-force" data-plan="{plan_id}">(.*?)</td>', page, re.S)
    assert m, f"no row for {plan_id}"
    return re.sub(r"<[^>]+>", "", m.group(1))


def test_after_two_publishes_the_list_says_what_is_in_force(
    planner_browser: Browser, planned_hub: tuple[Path, str]
) -> None:
    db = connect(planned_hub[0])
    first = lifecycle.load_plan(db, planned_hub[1])
    lifecycle.publish(db, first.id, actor="staff:coord")
    v = first.visits[-1]
    other = next(s for s in ("kawamae-01", "miwa-01") if s != v.site_id)
    second = lifecycle.edit_draft(db, first.id, [MoveVisit(v.id, site_id=other)], actor="t")
    edited_draft = lifecycle.edit_draft(db, first.id, [RemoveVisit(first.visits[0].id)], actor="t")
    lifecycle.publish(db, second, actor="staff:coord")
    n = len(first.visits)
    page = planner_browser.client.get("/console/plans?month=2026-12").text
    # the demo's own plan already had some of these visits, identical: they stay in
    # force under the demo's ids, and the line says so
    same = lifecycle.force_lines(db, [first.id])[first.id].same_as
    assert _row(page, first.id).startswith(f"有効 {n - 1 - sum(same.values())} / {n} 件")
    assert f"1 件は計画 {second[:8]} で差し替え" in _row(page, first.id)
    assert _row(page, second).startswith(f"有効 1 / {n} 件")
    kept = n - 1 - sum(same.values())
    assert f"{kept} 件は同じ訪問が計画 {first.id[:8]} で有効" in _row(page, second)
    assert _row(page, edited_draft) == f"{n - 1} 件(公開前)"
    edited_line = page.split(f'data-plan="{edited_draft}"', 1)[1].split("</tr>", 1)[0]
    assert "手で変更(評価なし)" in edited_line and "0.00%" not in edited_line
