"""計画を作成: the solver runs in a worker process with progress; a cancelled solve stores nothing."""

from __future__ import annotations

import time
from datetime import date
from pathlib import Path

import pytest

from odekake.access import audit
from odekake.storage.db import connect
from planner import jobs, policy_form
from tests.console.conftest import Browser

MONTH = "2026-12"


def _start(b: Browser, month: str = MONTH) -> str:
    r = b.post("/console/plans/solve", {"month": month}, page="/console/plans/policy")
    assert r.status_code == 303, r.text
    assert r.headers["location"].startswith("/console/plans/jobs/")
    return r.headers["location"].rsplit("/", 1)[1]


def _wait(b: Browser, job_id: str, until: set[str], timeout: float = 240) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        j = b.client.get(f"/console/plans/jobs/{job_id}/progress").json()
        if j["status"] in until or time.monotonic() > deadline:
            return j
        time.sleep(0.3)


def _drafts(hub_path: Path) -> int:
    return (
        connect(hub_path).execute("SELECT COUNT(*) FROM plans WHERE status = 'draft'").fetchone()[0]
    )


def test_solve_runs_in_a_worker_and_stores_a_draft(coordinator: Browser, hub_path: Path) -> None:
    before = _drafts(hub_path)
    job_id = _start(coordinator)
    page = coordinator.client.get(f"/console/plans/jobs/{job_id}")
    assert page.status_code == 200
    assert (
        "経過時間" in page.text and "最適解との差" in page.text and 'id="cancel-solve"' in page.text
    )
    # the worker is another process, not a thread of the hub
    proc = jobs._PROCS[job_id]
    assert proc.pid is not None and proc.args[1:3] == ["-m", "planner.jobs"]
    # while it runs, other pages answer
    assert coordinator.client.get("/console/").status_code == 200
    j = _wait(coordinator, job_id, {"done", "failed", "cancelled"})
    assert j["status"] == "done", j
    assert j["fields"]["gap"].endswith("%") and j["fields"]["objective"] != "まだありません"
    assert j["next"].startswith("/console/plans/")
    assert _drafts(hub_path) == before + 1
    assert "plan.solve" in [e.action for e in audit.entries(connect(hub_path))]


def test_cancelled_solve_stores_no_draft(coordinator: Browser, hub_path: Path) -> None:
    # A harder month (two months, no gap tolerance) so the solver is surely still running.
    db = connect(hub_path)
    text = policy_form.default_policy(db, MONTH).replace("months = 1", "months = 2")
    text = text.replace("min_days_between = 7", "min_days_between = 3")
    # exact driving: minutes to prove (docs/planner.md), so surely still running
    text = text + '\n[objective]\ndriving = "exact"\n' if "[objective]" not in text else text
    policy_form.save_policy(db, MONTH, text, actor="test")
    before = _drafts(hub_path)
    job_id = _start(coordinator)
    # Cancel while the worker process is surely alive (it still imports the solver); a
    # fixed wait raced a fast solve on an idle machine.
    proc = jobs._PROCS.get(job_id)
    assert proc is not None and proc.poll() is None
    r = coordinator.post(
        f"/console/plans/jobs/{job_id}/cancel", {}, page=f"/console/plans/jobs/{job_id}"
    )
    assert r.status_code == 303
    j = coordinator.client.get(f"/console/plans/jobs/{job_id}/progress").json()
    assert j["status"] == "cancelled", j
    page = coordinator.client.get(f"/console/plans/jobs/{job_id}")
    assert "下書きは保存していません" in page.text
    assert jobs._PROCS.get(job_id) is None
    time.sleep(1)
    assert _drafts(hub_path) == before
    assert audit.entries(connect(hub_path))[-1].action == "plan.cancel"


def test_a_manager_may_not_start_or_cancel_a_solve(browser: Browser, hub_path: Path) -> None:
    browser.login("mgr")
    r = browser.post("/console/plans/solve", {"month": MONTH})
    assert r.status_code == 403
    assert connect(hub_path).execute("SELECT COUNT(*) FROM plan_jobs").fetchone()[0] == 0


def test_solve_without_csrf_is_403(coordinator: Browser, hub_path: Path) -> None:
    r = coordinator.client.post("/console/plans/solve", data={"month": MONTH})
    assert r.status_code == 403
    assert connect(hub_path).execute("SELECT COUNT(*) FROM plan_jobs").fetchone()[0] == 0


def test_an_infeasible_policy_fails_in_japanese(coordinator: Browser, hub_path: Path) -> None:
    db = connect(hub_path)
    text = policy_form.default_policy(db, MONTH).replace("min_visits = 1", "min_visits = 4")
    text = text.replace("max_visits = 3", "max_visits = 4")
    policy_form.save_policy(db, MONTH, text, actor="test")
    job_id = _start(coordinator)
    j = _wait(coordinator, job_id, {"done", "failed", "cancelled"})
    assert j["status"] == "failed"
    assert "計画を作れません" in j["fields"]["error"]
    assert _drafts(hub_path) == 0
    page = coordinator.client.get(f"/console/plans/jobs/{job_id}")
    assert "計画を作れません" in page.text and "Traceback" not in page.text


def test_progress_reads_the_highs_log() -> None:
    log = (
        "Presolving model\n"
        "        Nodes      |    B&B Tree     |            Objective Bounds              |  Dynamic Constraints |       Work      \n"
        "Src  Proc. InQueue |  Leaves   Expl. | BestBound       BestSol              Gap |   Cuts   InLp Confl. | LpIters     Time\n"
        " J       0       0         0   0.00%   -inf            -123.1180651       Large        0      0      0         0     0.8s\n"
        " R       0       0         0   0.00%   -132.9884749    -127.560149        4.26%        0      0      0       614     1.1s\n"
    )
    phase, objective, bound, gap = jobs.read_log(log, sense=-1, offset=0.0)
    assert (phase, gap) == ("search", "4.26%")
    assert objective is not None and abs(objective - 127.560149) < 1e-6
    assert bound is not None and abs(bound - 132.9884749) < 1e-6
    assert jobs.read_log(log.splitlines()[0], -1, 0.0)[0] == "presolve"


def test_the_month_under_way_is_planned_from_today(
    coordinator: Browser, hub_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """計画を作成 for the console's current month plans from today on: the solver is asked
    to replan from today instead of failing on the month's past days."""
    asked: dict[str, object] = {}

    def start(*args: object, **kwargs: object) -> str:
        asked.update(kwargs)
        return "job-test"

    monkeypatch.setattr(jobs, "start_solve", start)
    r = coordinator.post("/console/plans/solve", {"month": "2026-11"}, page="/console/plans/policy")
    assert r.status_code == 303
    assert asked["replan_from"] == date(2026, 11, 20)
    asked.clear()
    coordinator.post("/console/plans/solve", {"month": MONTH}, page="/console/plans/policy")
    assert asked["replan_from"] is None  # next month: planned whole
