"""Dates a coordinator reads and the past: ``plan list`` in Japan time, no plan that
starts in the past, no publish that rewrites a day gone by."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from odekake.cli import main
from odekake.masterdata import master
from odekake.storage.db import connect, write
from planner import lifecycle
from planner.plan import Plan, SolverReport

POLICY = """
[horizon]
start = "2027-01-04"
days = 2
[[vans]]
id = "van-1"
shift = "08:30-17:15"
[windows]
default = ["10:00-12:00", "13:30-15:30"]
[districts.default]
min_visits = 0
max_visits = 1
[districts.kawamae]
min_visits = 1
[districts.tabito]
min_visits = 1
"""


def cli(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


@pytest.fixture
def hub(tmp_path: Path) -> Path:
    path = tmp_path / "hub.db"
    db = connect(path, role="hub", create=True)
    master.seed_city(db)
    with write(db):
        for k, did in enumerate(("kawamae", "tabito", "miwa")):
            master.upsert_site(db, {
                "id": f"{did}-01", "district_id": did, "name": f"{did}公民館", "kind": "公民館",
                "lat": 37.1 + k / 50, "lon": 140.7 + k / 50, "open_weekdays": "月火水木金",
                "open_from": "09:00", "open_to": "17:00", "notes": "",
            })  # fmt: skip
    master.add_van(db, "van-1", "1号車")
    db.close()
    (tmp_path / "plan.toml").write_text(POLICY, encoding="utf-8")
    return path


def _plan(hub: Path, today: str, *extra: str) -> Result:
    return cli("plan", "--db", str(hub), "--policy", str(hub.parent / "plan.toml"),
               "--today", today, "--time-limit", "20", *extra)  # fmt: skip


def _plan_id(result: Result) -> str:
    m = re.search(r"計画ID ([0-9a-f-]{36})", result.output)
    assert m, result.output
    return m.group(1)


def test_plan_list_shows_japan_time(hub: Path) -> None:
    db = connect(hub)
    plan = Plan(
        id=str(uuid.uuid4()), created_at="2026-12-05T19:57:00+00:00",
        horizon_start="2027-01-04", horizon_end="2027-01-05", visits=[], districts=[],
        solver=SolverReport("highs", "Optimal", 0.0, None, None, 0.0),
    )  # fmt: skip
    lifecycle.save_draft(db, plan)
    out = cli("plan", "list", "--db", str(hub)).output
    assert "作成 2026-12-06 04:57" in out and "19:57" not in out


def test_a_horizon_in_the_past_is_refused_before_planning(hub: Path) -> None:
    late = _plan(hub, "2027-01-05")
    assert late.exit_code == 1
    assert "計画する最初の日 2027-01-04 が今日(2027-01-05)より前です" in late.output
    assert "--replan-from 2027-01-05" in late.output
    over = _plan(hub, "2027-01-10")
    assert over.exit_code == 1 and "もう終わっています" in over.output
    assert cli("plan", "list", "--db", str(hub)).output.strip() == "計画はありません。"


def test_publish_never_rewrites_a_day_gone_by(hub: Path) -> None:
    first = _plan(hub, "2027-01-01")
    assert first.exit_code == 0, first.output
    pid = _plan_id(first)
    # Published too late: its 4 January visits would reach the van after the day.
    late = cli("plan", "publish", "--db", str(hub), pid, "--today", "2027-01-05")
    assert late.exit_code == 1
    assert "今日(2027-01-05)より前の日の訪問を変えます" in late.output
    assert "Traceback" not in late.output
    db = connect(hub)
    assert lifecycle.summary(db, pid).status == "draft"
    ok = cli("plan", "publish", "--db", str(hub), pid, "--today", "2027-01-04")
    assert ok.exit_code == 0, ok.output
    # A re-plan from today keeps the past as it was: publishable.
    again = _plan(hub, "2027-01-05", "--replan-from", "2027-01-05")
    assert again.exit_code == 0, again.output
    replan = _plan_id(again)
    ok = cli("plan", "publish", "--db", str(hub), replan, "--today", "2027-01-05")
    assert ok.exit_code == 0, ok.output
    # A hand edit that removes a 4 January visit is refused, and nothing changes.
    before = lifecycle.published_visits(db, "van-1", "2027-01-04", "2027-01-05")
    past = next(v for v in lifecycle.load_plan(db, replan).visits if v.date == "2027-01-04")
    edited = lifecycle.edit_draft(db, replan, [lifecycle.RemoveVisit(past.id)], actor="test")
    refused = cli("plan", "publish", "--db", str(hub), edited, "--today", "2027-01-05")
    assert refused.exit_code == 1 and "より前の日の訪問を変えます" in refused.output
    assert lifecycle.published_visits(db, "van-1", "2027-01-04", "2027-01-05") == before
