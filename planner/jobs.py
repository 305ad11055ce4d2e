"""Solving a plan in a worker process, with progress read from the solver's log.

The console never solves on its event loop (nor in one of its threads: HiGHS holds
the CPU for seconds to minutes). :func:`start_solve` records a job in ``plan_jobs``
and starts a separate **process**; the process reads the policy, builds and solves
the model with HiGHS writing its log to a file, and stores the draft together with
``status = 'done'`` in one transaction. :func:`progress` reads that log (the last
branch-and-bound line: best bound, best plan, gap) while the solver runs;
:func:`cancel` stops the process and marks the job cancelled — a cancelled job
stores no draft, because the draft and the job's completion commit together and a
job is only marked cancelled while it is still running.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import time
import tomllib
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import sqlite_utils

from odekake.access import audit
from odekake.errors import NotFound, OdekakeError
from odekake.storage.db import connect, write
from planner.inputs import KeptVisit, Window, parse_hhmm
from planner.plan import Plan, SolverReport
from planner.plan_store import save_draft

# Worker processes started by this (hub) process, by job id.
_PROCS: dict[str, subprocess.Popen[bytes]] = {}

PHASES = {
    "queued": "開始を待っています",
    "reading": "設定と過去の利用実績を読み込んでいます",
    "building": "計算モデルを組み立てています",
    "presolve": "ソルバーが問題を整理しています(前処理)",
    "search": "ソルバーがよりよい計画を探しています",
    "finishing": "計画を保存しています",
}
STATUS_LABELS = {
    "running": "計算中",
    "done": "完了",
    "failed": "失敗",
    "cancelled": "中止しました",
}
_BB = re.compile(
    r"^\s*[A-Za-z]?\s+\d+\s+\d+\s+\d+\s+[\d.]+%\s+(\S+)\s+(\S+)\s+(\S+)\s+.*?([\d.]+)s\s*$"
)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def keep_from_plan(plan: Plan) -> tuple[KeptVisit, ...]:
    """The visits of an announced plan, to keep where possible when re-planning."""
    return tuple(
        KeptVisit(
            date=date.fromisoformat(v.date),
            van_id=v.van_id,
            window=Window(parse_hhmm(v.start), parse_hhmm(v.end)),
            site_id=v.site_id,
            activity=v.activity,
            event_id=v.event_id or None,
        )
        for v in plan.visits
    )


@dataclass(frozen=True)
class SolveRequest:
    """What the worker process needs (picklable)."""

    job_id: str
    db_path: str
    policy_text: str
    today: str
    actor: str
    time_limit: float
    gap: float
    log_path: str
    replan_from: str | None = None
    keep: tuple[KeptVisit, ...] = ()
    parent_id: str | None = None

    def to_json(self) -> str:
        """The request as the worker process reads it."""
        d = dict(self.__dict__)
        d["keep"] = [
            {
                "date": k.date.isoformat(),
                "van_id": k.van_id,
                "start": k.window.start,
                "end": k.window.end,
                "site_id": k.site_id,
                "activity": k.activity,
                "event_id": k.event_id,
            }
            for k in self.keep
        ]
        return json.dumps(d, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> SolveRequest:
        """The inverse of :meth:`to_json`."""
        d = json.loads(text)
        d["keep"] = tuple(
            KeptVisit(
                date=date.fromisoformat(k["date"]),
                van_id=k["van_id"],
                window=Window(int(k["start"]), int(k["end"])),
                site_id=k["site_id"],
                activity=k["activity"],
                event_id=k["event_id"],
            )
            for k in d["keep"]
        )
        return cls(**d)


def _set(db: sqlite_utils.Database, job_id: str, **values: Any) -> None:
    cols = ", ".join(f"{k} = ?" for k in values)
    with write(db):
        db.execute(
            f"UPDATE plan_jobs SET {cols} WHERE id = ? AND status = 'running'",
            [*values.values(), job_id],
        )


def store_draft(
    db: sqlite_utils.Database, plan: Plan, policy_text: str, *, actor: str, parent_id: str | None
) -> str:
    """Store a solved plan as a draft (the plan lifecycle's own store, audited there)."""
    return save_draft(db, plan, policy_text=policy_text, parent_id=parent_id, actor=actor)


def run_job(req: SolveRequest) -> None:
    """The worker process: read, build, solve, store the draft (or record the failure)."""
    from planner.model import build
    from planner.policy import policy_from_dict, refuse_past_start
    from planner.solve import solve

    db = connect(req.db_path, role="hub")
    try:
        _set(db, req.job_id, phase="reading")
        doc = tomllib.loads(req.policy_text)
        data = policy_from_dict(
            doc,
            db,
            today=date.fromisoformat(req.today),
            replan_from=date.fromisoformat(req.replan_from) if req.replan_from else None,
            keep=req.keep,
        )
        refuse_past_start(data.policy, date.fromisoformat(req.today))
        _set(db, req.job_id, phase="building")
        model = build(data)
        constant = float(model.prob.objective.constant) if model.prob.objective is not None else 0
        _set(
            db,
            req.job_id,
            phase="presolve",
            objective_offset=constant,
            objective_sense=int(model.prob.sense),
        )
        plan = solve(
            model,
            solver="highs",
            time_limit=req.time_limit,
            gap=req.gap,
            progress_log=Path(req.log_path),
        )
        with write(db):
            row = db.execute("SELECT status FROM plan_jobs WHERE id = ?", [req.job_id]).fetchone()
            if row is None or row[0] != "running":
                return  # cancelled while the solver finished: store nothing
            plan_id = store_draft(
                db, plan, req.policy_text, actor=req.actor, parent_id=req.parent_id
            )
            db.execute(
                "UPDATE plan_jobs SET status = 'done', phase = 'finishing', plan_id = ?, "
                "finished_at = ? WHERE id = ?",
                [plan_id, _now(), req.job_id],
            )
    except OdekakeError as exc:
        _finish(db, req.job_id, "failed", str(exc))
    except Exception as exc:  # a bug: say so in one line, never a traceback on the page
        _finish(db, req.job_id, "failed", f"想定外のエラーです({type(exc).__name__}: {exc})")
    finally:
        db.close()


def _finish(db: sqlite_utils.Database, job_id: str, status: str, error: str) -> None:
    with write(db):
        db.execute(
            "UPDATE plan_jobs SET status = ?, error = ?, finished_at = ? "
            "WHERE id = ? AND status = 'running'",
            [status, error, _now(), job_id],
        )


def start_solve(
    db: sqlite_utils.Database,
    db_path: Path,
    month: str,
    policy_text: str,
    *,
    actor: str,
    today: date,
    time_limit: float = 60.0,
    gap: float = 0.001,
    replan_from: date | None = None,
    keep: tuple[KeptVisit, ...] = (),
    parent_id: str | None = None,
) -> str:
    """Record a solve job and start its worker process; return the job id."""
    if not 0 < time_limit <= 3600 or not 0 <= gap < 1:
        raise OdekakeError("制限時間は1〜3600秒、ギャップは0以上1未満で指定してください")
    job_id = uuid.uuid4().hex
    log_path = Path(tempfile.gettempdir()) / f"odekake-solve-{job_id}.log"
    with write(db):
        db.execute(
            "INSERT INTO plan_jobs(id, month, actor, status, phase, started_at, log_path) "
            "VALUES (?,?,?,?,?,?,?)",
            [job_id, month, actor, "running", "queued", _now(), str(log_path)],
        )
        audit.log(db, actor, "plan.solve", month, {"job": job_id})
    req = SolveRequest(
        job_id=job_id,
        db_path=str(db_path),
        policy_text=policy_text,
        today=today.isoformat(),
        actor=actor,
        time_limit=time_limit,
        gap=gap,
        log_path=str(log_path),
        replan_from=replan_from.isoformat() if replan_from else None,
        keep=keep,
        parent_id=parent_id,
    )
    # A fresh interpreter (not a fork of the hub, which has threads): python -m planner.jobs.
    request_path = log_path.with_suffix(".json")
    request_path.write_text(req.to_json(), encoding="utf-8")
    _PROCS[job_id] = subprocess.Popen(
        [sys.executable, "-m", "planner.jobs", str(request_path)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return job_id


@dataclass(frozen=True)
class Progress:
    """A solve job as the progress page shows it."""

    job_id: str
    month: str
    status: str
    phase: str
    elapsed: float
    objective: float | None
    bound: float | None
    gap: str
    plan_id: str | None
    error: str

    @property
    def done(self) -> bool:
        """The job has ended (done, failed or cancelled)."""
        return self.status != "running"

    def fields(self) -> dict[str, str]:
        """The figures in Japanese, as shown on the page."""
        return {
            "status": STATUS_LABELS.get(self.status, self.status),
            "phase": PHASES.get(self.phase, self.phase) if self.status == "running" else "",
            "elapsed": f"{self.elapsed:.0f}秒",
            "objective": "まだありません" if self.objective is None else f"{self.objective:.2f}",
            "bound": "まだありません" if self.bound is None else f"{self.bound:.2f}",
            "gap": self.gap or "まだありません",
            "error": self.error,
        }


def _num(text: str, sense: int, offset: float) -> float | None:
    try:
        v = float(text)
    except ValueError:
        return None
    if v != v or v in (float("inf"), float("-inf")):
        return None
    # PuLP hands HiGHS the negated objective of a maximisation, without its constant.
    return (-v if sense == -1 else v) + offset


def read_log(text: str, sense: int, offset: float) -> tuple[str, float | None, float | None, str]:
    """(phase, objective, bound, gap text) from a HiGHS log written so far."""
    phase, objective, bound, gap = "", None, None, ""
    if "Presolving model" in text:
        phase = "presolve"
    for line in text.splitlines():
        m = _BB.match(line)
        if m:
            phase = "search"
            bound = _num(m.group(1), sense, offset)
            objective = _num(m.group(2), sense, offset)
            g = m.group(3)
            gap = g if g.endswith("%") else ("大きい" if g == "Large" else "")
    return phase, objective, bound, gap


_JOB_SQL = (
    "SELECT month, status, phase, started_at, finished_at, log_path, objective_offset, "
    "objective_sense, plan_id, error FROM plan_jobs WHERE id = ?"
)


def progress(db: sqlite_utils.Database, job_id: str) -> Progress:
    """The job's state, and the solver's latest figures while it runs."""
    row = db.execute(_JOB_SQL, [job_id]).fetchone()
    if row is None:
        raise NotFound(f"計算の記録がありません: {job_id}")
    if row[1] == "running":
        proc = _PROCS.get(job_id)
        if proc is None or proc.poll() is not None:
            row = db.execute(_JOB_SQL, [job_id]).fetchone()
            if row[1] == "running":
                # The worker is gone without a word (killed, or the hub restarted).
                _finish(
                    db,
                    job_id,
                    "failed",
                    "計算が途中で止まりました(ハブの再起動など)。もう一度作成してください",
                )
                row = db.execute(_JOB_SQL, [job_id]).fetchone()
    return _progress_of(row, job_id)


def _progress_of(row: tuple, job_id: str) -> Progress:
    month, status, phase, started, finished, log_path, offset, sense, plan_id, error = row
    t0 = datetime.fromisoformat(started)
    t1 = datetime.fromisoformat(finished) if finished else datetime.now(UTC)
    objective = bound = None
    gap = ""
    path = Path(log_path) if log_path else None
    if path is not None and path.exists():
        log_phase, objective, bound, gap = read_log(
            path.read_text(errors="replace"), int(sense), float(offset)
        )
        if status == "running" and log_phase and phase in ("presolve", "search"):
            phase = log_phase
    return Progress(
        job_id=job_id,
        month=month,
        status=status,
        phase=phase,
        elapsed=max(0.0, (t1 - t0).total_seconds()),
        objective=objective,
        bound=bound,
        gap=gap,
        plan_id=plan_id,
        error=error,
    )


def cancel(db: sqlite_utils.Database, job_id: str, *, actor: str) -> bool:
    """Stop a running job; True when it was cancelled (False: it had already ended)."""
    proc = _PROCS.pop(job_id, None)
    if proc is not None and proc.poll() is None:
        proc.kill()
        proc.wait(timeout=10)
    with write(db):
        cur = db.execute(
            "UPDATE plan_jobs SET status = 'cancelled', finished_at = ? "
            "WHERE id = ? AND status = 'running'",
            [_now(), job_id],
        )
        cancelled = cur.rowcount == 1
        if cancelled:
            audit.log(db, actor, "plan.cancel", job_id)
    return cancelled


def running_job(db: sqlite_utils.Database, month: str) -> str | None:
    """The month's running job, if any (one solve per month at a time)."""
    row = db.execute(
        "SELECT id FROM plan_jobs WHERE month = ? AND status = 'running' ORDER BY started_at DESC",
        [month],
    ).fetchone()
    return None if row is None else str(row[0])


def wait(db: sqlite_utils.Database, job_id: str, timeout: float = 300.0) -> Progress:
    """Block until the job ends (for the command line and tests, never the console)."""
    deadline = time.monotonic() + timeout
    while True:
        p = progress(db, job_id)
        if p.done or time.monotonic() > deadline:
            return p
        time.sleep(0.2)


def solver_words(report: SolverReport) -> str:
    """The solver's figures in words a coordinator reads."""
    if report.status == "edited":
        return "手で変更した計画です(ソルバーの評価は変更前のものです。「固定を守って再計算」で計算し直せます)"
    if report.gap is None:
        return "最適解との差は分かりません(ソルバーが上界を示しませんでした)"
    pct = 100 * report.gap
    if report.status == "optimal" and pct < 0.005:
        return f"最適解です(計算 {report.seconds:.0f}秒)"
    return f"最適解との差は最大{pct:.2f}%(計算 {report.seconds:.0f}秒)"


def main(argv: list[str]) -> int:
    """Worker entry point: ``python -m planner.jobs REQUEST.json``."""
    path = Path(argv[1])
    if hasattr(os, "nice"):
        # The hub's pages come first: the solver gets the CPU the pages leave.
        os.nice(10)
    req = SolveRequest.from_json(path.read_text(encoding="utf-8"))
    path.unlink(missing_ok=True)
    run_job(req)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
