"""The coordinator's work on one plan, as the console offers it.

Each function is one thing a coordinator does, composed from the plan lifecycle
(:mod:`planner.lifecycle`), the rule check (:mod:`planner.check`), the month's
policy (:mod:`planner.policy_form`) and the solve worker (:mod:`planner.jobs`):

- :func:`plan_view` — a plan, its summary and every rule it breaks (re-checked on
  every look, so an edit or a new pin shows its consequences at once);
- :func:`apply_edit` — pin a visit or forbid a site or a day (rules added to the
  month's policy), move or remove a visit (a new draft whose parent is this one);
- :func:`resolve` — 「固定を守って再計算」: solve the month again with its pins and
  forbids, every visit of this draft counted as announced so that as few as
  possible move;
- :func:`replan_disaster` — add a disaster window from a date and re-plan the rest
  of the month from the published plan (the new draft lists the moved visits).
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import sqlite_utils

from odekake.errors import OdekakeError
from planner import jobs, lifecycle, policy_form
from planner.check import check_plan
from planner.inputs import PolicyError
from planner.plan import Plan
from planner.policy import policy_from_dict
from planner.tomlfile import dumps


@dataclass(frozen=True)
class PlanView:
    """What the plan page shows."""

    plan: Plan
    summary: Any
    violations: list[Any]
    month: str
    pins: list[dict[str, Any]]
    forbids: list[dict[str, Any]]


def month_of_plan(plan: Plan) -> str:
    """``YYYY-MM`` of the plan's first day (the month whose policy it uses)."""
    return plan.horizon_start[:7]


def _policy_doc(db: sqlite_utils.Database, month: str) -> dict[str, Any]:
    return policy_form.parse_text(policy_form.policy_text(db, month))


# Parsed policies by (database file, policy text, today, records mark): reading a
# policy forecasts demand from a year of records (~0.2 s); the plan page checks on
# every look, so the inputs are reused until the policy or the hub's records change.
_INPUTS: OrderedDict[tuple[str, str, str, str, tuple[int, int]], Any] = OrderedDict()
_INPUTS_MAX = 16


def policy_input(
    db: sqlite_utils.Database,
    month: str,
    today: date,
    *,
    text: str | None = None,
    replan_from: str | None = None,
) -> Any:
    """The month's policy (or ``text``) read with the hub's data (a ``PlanInput``), cached."""
    if text is None:
        text = policy_form.policy_text(db, month)
    row = db.execute("SELECT COUNT(*), COALESCE(MAX(rowid), 0) FROM records").fetchone()
    where = str(db.execute("PRAGMA database_list").fetchone()[2])
    key = (where, text, today.isoformat(), replan_from or "", (int(row[0]), int(row[1])))
    if key in _INPUTS:
        _INPUTS.move_to_end(key)
        return _INPUTS[key]
    data = policy_from_dict(
        policy_form.parse_text(text),
        db,
        today=today,
        replan_from=date.fromisoformat(replan_from) if replan_from else None,
    )
    _INPUTS[key] = data
    while len(_INPUTS) > _INPUTS_MAX:
        _INPUTS.popitem(last=False)
    return data


def plan_policy_text(db: sqlite_utils.Database, plan: Plan) -> str:
    """The policy a plan is checked against: the month's policy saved in the console
    (where pins and forbids are added), else the one the plan was made with (a plan
    made by ``odekake plan --policy FILE``), else the month's default."""
    month = month_of_plan(plan)
    return (
        policy_form.saved_policy(db, month)
        or lifecycle.policy_text_of(db, plan.id)
        or policy_form.default_policy(db, month)
    )


def check_input(db: sqlite_utils.Database, plan: Plan) -> Any:
    """The inputs :func:`check` uses for ``plan``, read as ``odekake plan check`` reads a
    policy for a stored plan (relative dates such as "next-month" mean the plan's month)."""
    start = date.fromisoformat(plan.horizon_start)
    return policy_input(
        db,
        month_of_plan(plan),
        start - timedelta(days=1),
        text=plan_policy_text(db, plan),
        replan_from=plan.replan_from,
    )


def check(db: sqlite_utils.Database, plan: Plan, today: date | None = None) -> list[Any]:
    """Every rule the plan breaks (``planner.check``) under :func:`plan_policy_text`.

    ``today`` is not needed (kept for callers): the policy is read as of the plan's start.
    """
    return list(check_plan(db, check_input(db, plan), plan))


def plan_view(db: sqlite_utils.Database, plan_id: str, today: date) -> PlanView:
    """A stored plan with its summary, its broken rules and the month's pins and forbids."""
    plan = lifecycle.load_plan(db, plan_id)
    summary = lifecycle.summary(db, plan_id)
    month = month_of_plan(plan)
    doc = _policy_doc(db, month)
    try:
        violations = check(db, plan, today)
    except PolicyError as exc:
        violations = [exc]
    return PlanView(
        plan=plan,
        summary=summary,
        violations=violations,
        month=month,
        pins=list(doc.get("pins", [])),
        forbids=list(doc.get("forbid", [])),
    )


def _add_rule(
    db: sqlite_utils.Database, month: str, key: str, rule: dict[str, Any], actor: str, today: date
) -> None:
    doc = _policy_doc(db, month)
    rules = list(doc.get(key, []))
    if rule not in rules:
        rules.append(rule)
    doc[key] = rules
    policy_form.check_policy(db, doc, today)
    policy_form.save_policy(
        db, month, dumps(doc, f"巡回計画の設定 {month}(管理画面で保存)"), actor=actor
    )


def apply_edit(
    db: sqlite_utils.Database,
    plan_id: str,
    fields: dict[str, str],
    *,
    actor: str,
    today: date | None = None,
) -> str:
    """One hand edit; returns the id of the plan to show next (a new draft for move/remove).

    ``fields["op"]`` is ``pin``, ``forbid_site``, ``forbid_day``, ``move`` or ``remove``;
    ``visit_id`` names the visit; a move takes ``date``, ``window`` and ``site_id``.
    """
    plan = lifecycle.load_plan(db, plan_id)
    summary = lifecycle.summary(db, plan_id)
    op = fields.get("op", "")
    visit = next((v for v in plan.visits if v.id == fields.get("visit_id")), None)
    if visit is None:
        raise OdekakeError("指定された訪問がこの計画にありません")
    month = month_of_plan(plan)
    today = today or date.today()
    if op == "pin":
        _add_rule(
            db,
            month,
            "pins",
            {"site": visit.site_id, "date": visit.date, "window": f"{visit.start}-{visit.end}"},
            actor,
            today,
        )
        return plan_id
    if op == "forbid_site":
        rule = {"site": visit.site_id, "from": plan.horizon_start, "to": plan.horizon_end}
        _add_rule(db, month, "forbid", rule, actor, today)
        return plan_id
    if op == "forbid_day":
        _add_rule(db, month, "forbid", {"site": visit.site_id, "dates": [visit.date]}, actor, today)
        return plan_id
    if summary.status != "draft":
        raise OdekakeError("公開済みの計画は直接変更できません。下書きを作って変更してください")
    if op == "remove":
        return str(
            lifecycle.edit_draft(db, plan_id, [lifecycle.RemoveVisit(visit.id)], actor=actor)
        )
    if op == "move":
        move = lifecycle.MoveVisit(
            visit.id,
            date=fields.get("date") or None,
            window=fields.get("window") or None,
            site_id=fields.get("site_id") or None,
        )
        return str(lifecycle.edit_draft(db, plan_id, [move], actor=actor))
    raise OdekakeError(f"不明な操作です: {op}")


def resolve(
    db: sqlite_utils.Database, db_path: Path, plan_id: str, *, actor: str, today: date
) -> str:
    """Start 「固定を守って再計算」 for a plan; returns the solve job's id."""
    plan = lifecycle.load_plan(db, plan_id)
    month = month_of_plan(plan)
    running = jobs.running_job(db, month)
    if running:
        return running
    return jobs.start_solve(
        db,
        db_path,
        month,
        policy_form.policy_text(db, month),
        actor=actor,
        today=today,
        replan_from=max(date.fromisoformat(plan.horizon_start), today),  # never the past
        keep=jobs.keep_from_plan(plan),
        parent_id=plan_id,
    )


def replan_disaster(
    db: sqlite_utils.Database,
    db_path: Path,
    plan_id: str,
    fields: dict[str, str],
    *,
    actor: str,
    today: date,
) -> str:
    """Add a disaster window (``from``, ``to``, ``sites``) and re-plan from ``from``."""
    plan = lifecycle.load_plan(db, plan_id)
    month = month_of_plan(plan)
    try:
        start = date.fromisoformat(fields.get("from", "").strip())
        end = date.fromisoformat(fields.get("to", "").strip() or fields.get("from", "").strip())
    except ValueError as exc:
        raise OdekakeError("災害対応の期間は 2026-12-08 の形で入力してください") from exc
    sites = [s for s in fields.get("sites", "").replace("、", ",").split(",") if s.strip()]
    if not sites:
        raise OdekakeError("災害対応の会場IDを1つ以上入力してください")
    doc = _policy_doc(db, month)
    events = doc.setdefault("events", {})
    events.setdefault("disaster", []).append(
        {
            "id": f"disaster-{start.isoformat()}",
            "label": fields.get("label", "").strip() or "り災証明書出張申請受付",
            "start": start.isoformat(),
            "end": end.isoformat(),
            "sites": [s.strip() for s in sites],
        }
    )
    policy_form.check_policy(db, doc, today)
    text = dumps(doc, f"巡回計画の設定 {month}(災害対応を追加)")
    policy_form.save_policy(db, month, text, actor=actor)
    return jobs.start_solve(
        db,
        db_path,
        month,
        text,
        actor=actor,
        today=today,
        replan_from=start,
        keep=jobs.keep_from_plan(plan),
        parent_id=plan_id,
    )


@dataclass(frozen=True)
class ReplanScope:
    """What a disaster re-plan would touch, said before it starts."""

    start: date
    end: date
    sites: tuple[str, ...]
    site_names: tuple[str, ...]
    visits_from: int
    days_from: int
    districts_from: int
    horizon_end: str


def replan_scope(
    db: sqlite_utils.Database, plan_id: str, fields: dict[str, str]
) -> tuple[dict[str, str], ReplanScope | None]:
    """Check the re-plan form's fields, each message by its field (``from``, ``to``,
    ``sites``); with none, how many of the plan's visits the re-plan may move."""
    plan = lifecycle.load_plan(db, plan_id)
    errors: dict[str, str] = {}
    start = end = None
    raw_from = fields.get("from", "").strip()
    raw_to = fields.get("to", "").strip() or raw_from
    try:
        start = date.fromisoformat(raw_from)
    except ValueError:
        errors["from"] = "開始日は 2026-12-08 の形で入力してください"
    try:
        end = date.fromisoformat(raw_to)
    except ValueError:
        errors["to"] = "終了日は 2026-12-08 の形で入力してください"
    if start and end:
        if end < start:
            errors["to"] = "終了日は開始日と同じか後の日にしてください"
        elif not (plan.horizon_start <= start.isoformat() <= plan.horizon_end):
            errors["from"] = (
                f"開始日はこの計画の期間({plan.horizon_start}〜{plan.horizon_end})の中の日に"
                "してください"
            )
    wanted = [s.strip() for s in fields.get("sites", "").replace("、", ",").split(",") if s.strip()]
    names = {r[0]: r[1] for r in db.execute("SELECT id, name FROM sites")}
    unknown = [s for s in wanted if s not in names]
    if not wanted:
        errors["sites"] = "災害対応の会場IDを1つ以上入力してください"
    elif unknown:
        errors["sites"] = (
            f"会場IDが登録されていません: {'、'.join(unknown)}(「地点・地区」の一覧にあるIDです)"
        )
    if errors or start is None or end is None:
        return errors, None
    later = [v for v in plan.visits if v.date >= start.isoformat()]
    return {}, ReplanScope(
        start=start,
        end=end,
        sites=tuple(wanted),
        site_names=tuple(names[s] for s in wanted),
        visits_from=len(later),
        days_from=len({v.date for v in later}),
        districts_from=len({v.district_id for v in later}),
        horizon_end=plan.horizon_end,
    )
