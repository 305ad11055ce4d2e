"""Plans as stored at the hub: saving a solved plan as a draft, the plan list and one
plan's summary, a stored plan read back with its visits, and the policy it was made with."""

from __future__ import annotations

import json
import uuid
from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import sqlite_utils

from odekake.access import audit
from odekake.errors import NotFound, OdekakeError
from odekake.plans import IN_FORCE, STATUSES
from odekake.storage.db import write
from planner.plan import DistrictTotal, Plan, PlanVisit, SolverReport, plan_from_dict


@dataclass(frozen=True)
class PlanSummary:
    """One line of the plan list."""

    id: str
    created_at: str
    horizon_start: str
    horizon_end: str
    status: str
    van_ids: tuple[str, ...]
    visits: int
    in_force: int
    expected_users: float
    label: str
    notes: str
    published_at: str | None
    published_by: str | None
    parent_id: str | None
    replan_from: str | None
    created_by: str
    solver_status: str
    gap: float | None

    @property
    def status_label(self) -> str:
        """Japanese name of the status (下書き, 公開中, 差し替え済み, 破棄)."""
        return STATUSES.get(self.status, self.status)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def visit_id(plan_id: str, v: PlanVisit) -> str:
    """The stored id of a plan's visit (stable: the same plan and slot give the same id)."""
    try:
        ns = uuid.UUID(plan_id)
    except ValueError:
        ns = uuid.uuid5(uuid.NAMESPACE_URL, f"odekake:plan:{plan_id}")
    return str(uuid.uuid5(ns, f"{v.date}/{v.van_id}/{v.start}"))


def _short(plan_id: str) -> str:
    return plan_id[:8]


def _row(db: sqlite_utils.Database, plan_id: str) -> dict[str, Any]:
    cur = db.execute("SELECT * FROM plans WHERE id = ?", [plan_id])
    cols = [c[0] for c in cur.description]
    row = cur.fetchone()
    if row is None:
        # Allow the 8-character prefix the lists print.
        cur = db.execute("SELECT * FROM plans WHERE id LIKE ? || '%'", [plan_id])
        rows = cur.fetchall()
        if len(rows) == 1 and len(plan_id) >= 4:
            return dict(zip(cols, rows[0], strict=True))
        if len(rows) > 1 and len(plan_id) >= 4:
            raise OdekakeError(
                f"計画ID {plan_id} に当てはまる計画が複数あります。長く指定してください"
            )
        raise NotFound(f"計画がありません: {plan_id}")
    return dict(zip(cols, row, strict=True))


def save_draft(
    db: sqlite_utils.Database,
    plan: Plan,
    *,
    policy_text: str = "",
    van_ids: list[str] | tuple[str, ...] | None = None,
    parent_id: str | None = None,
    label: str = "",
    actor: str = "",
) -> str:
    """Store a plan as a draft (plans, plan_visits, plan_documents); returns its id.

    Args:
        plan: The plan (solved, edited or imported).
        policy_text: The policy TOML it was made with (kept for the record).
        van_ids: The vans the plan speaks for: publishing supersedes their visits
            on every day of the horizon (default: the vans that have visits).
        parent_id: The plan this one re-plans or edits.
        label: A coordinator's note shown in the list.
        actor: Who made it (audited when given).
    """
    vans = sorted(set(van_ids) if van_ids is not None else {v.van_id for v in plan.visits})
    stored = [replace(v, id=visit_id(plan.id, v)) for v in plan.visits]
    doc = replace(plan, visits=stored).to_dict()
    with write(db):
        db.execute(
            "INSERT INTO plans(id, created_at, horizon_start, horizon_end, status, policy, solver,"
            " notes, label, parent_id, van_ids, replan_from, created_by)"
            " VALUES (?,?,?,?,'draft',?,?,?,?,?,?,?,?)",
            [
                plan.id,
                plan.created_at,
                plan.horizon_start,
                plan.horizon_end,
                policy_text,
                json.dumps(plan.solver.to_dict(), ensure_ascii=False),
                "\n".join(plan.notes),
                label,
                parent_id,
                json.dumps(vans),
                plan.replan_from,
                actor,
            ],
        )
        db.execute(
            "INSERT INTO plan_documents(plan_id, document) VALUES (?, ?)",
            [plan.id, json.dumps(doc, ensure_ascii=False)],
        )
        for v in stored:
            db.execute(
                'INSERT INTO plan_visits(id, plan_id, date, van_id, service_window, start, "end",'
                " site_id, district_id, activity, services, arrive, depart, order_in_day, opened_day)"
                " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                [
                    v.id,
                    plan.id,
                    v.date,
                    v.van_id,
                    v.window,
                    v.start,
                    v.end,
                    v.site_id,
                    v.district_id,
                    v.activity,
                    json.dumps(list(v.services)),
                    v.arrive,
                    v.depart,
                    v.order,
                    int(v.opened_day),
                ],
            )
        if actor:
            detail: dict[str, Any] = {"visits": len(stored), "parent_id": parent_id, "vans": vans}
            edited = plan.solver.status == "edited"
            if edited:  # a hand edit says what it changed (the draft's note)
                detail["edit"] = [n for n in plan.notes if n.startswith("手で編集")]
            audit.log(db, actor, "plan.edit" if edited else "plan.create", plan.id, detail)
    return plan.id


def _summary(db: sqlite_utils.Database, r: dict[str, Any]) -> PlanSummary:
    counts = db.execute(
        f"SELECT COUNT(*), COALESCE(SUM(CASE WHEN {IN_FORCE} THEN 1 ELSE 0 END), 0)"
        " FROM plan_visits WHERE plan_id = ?",
        [r["id"]],
    ).fetchone()
    doc = db.execute("SELECT document FROM plan_documents WHERE plan_id = ?", [r["id"]]).fetchone()
    expected = 0.0
    if doc is not None:
        try:
            expected = sum(
                float(v.get("expected_users", 0.0)) for v in json.loads(doc[0])["visits"]
            )
        except (ValueError, KeyError, TypeError):
            expected = 0.0
    try:
        solver = json.loads(r.get("solver") or "{}")
    except ValueError:
        solver = {}
    try:
        vans = tuple(json.loads(r.get("van_ids") or "[]"))
    except ValueError:
        vans = ()
    if not vans:
        vans = tuple(
            x[0]
            for x in db.execute(
                "SELECT DISTINCT van_id FROM plan_visits WHERE plan_id = ? ORDER BY van_id",
                [r["id"]],
            )
        )
    return PlanSummary(
        id=r["id"],
        created_at=r["created_at"],
        horizon_start=r["horizon_start"],
        horizon_end=r["horizon_end"],
        status=r["status"],
        van_ids=vans,
        visits=int(counts[0]),
        in_force=int(counts[1]),
        expected_users=round(expected, 2),
        label=r.get("label") or "",
        notes=r.get("notes") or "",
        published_at=r.get("published_at"),
        published_by=r.get("published_by"),
        parent_id=r.get("parent_id"),
        replan_from=r.get("replan_from"),
        created_by=r.get("created_by") or "",
        solver_status=str(solver.get("status", "")),
        gap=solver.get("gap"),
    )


def list_plans(db: sqlite_utils.Database, *, status: str | None = None) -> list[PlanSummary]:
    """Every stored plan, newest first (only ``status`` ones when given)."""
    if status is not None and status not in STATUSES:
        raise OdekakeError(f"計画の状態は {' / '.join(STATUSES)} から選びます({status})")
    cur = db.execute(
        "SELECT * FROM plans"
        + (" WHERE status = ?" if status else "")
        + " ORDER BY created_at DESC, id",
        [status] if status else [],
    )
    cols = [c[0] for c in cur.description]
    return [_summary(db, dict(zip(cols, row, strict=True))) for row in cur.fetchall()]


def summary(db: sqlite_utils.Database, plan_id: str) -> PlanSummary:
    """One plan's summary line (the id may be shortened to its first 8 characters)."""
    return _summary(db, _row(db, plan_id))


def _names(db: sqlite_utils.Database) -> tuple[dict[str, str], dict[str, str]]:
    sites = {r[0]: r[1] for r in db.execute("SELECT id, name FROM sites")}
    districts = {r[0]: r[1] for r in db.execute("SELECT id, name FROM districts")}
    return sites, districts


def _visit_from_row(
    r: dict[str, Any], sites: dict[str, str], districts: dict[str, str]
) -> PlanVisit:
    try:
        services = tuple(json.loads(r.get("services") or "[]"))
    except ValueError:
        services = ()
    window = r["service_window"]
    if "-" not in str(window):
        window = f"{r['start']}-{r['end']}"
    return PlanVisit(
        date=r["date"],
        van_id=r["van_id"],
        window=window,
        start=r["start"],
        end=r["end"],
        site_id=r["site_id"],
        site_name=sites.get(r["site_id"], r["site_id"]),
        district_id=r["district_id"],
        district_name=districts.get(r["district_id"], r["district_id"]),
        activity=r["activity"],
        arrive=r.get("arrive") or r["start"],
        depart=r.get("depart") or r["end"],
        order=int(r.get("order_in_day") or 1),
        opened_day=bool(r.get("opened_day")),
        travel_minutes=0,
        services=services,
        id=r["id"],
    )


def _visit_rows(db: sqlite_utils.Database, where: str, params: list[Any]) -> list[dict[str, Any]]:
    cur = db.execute(
        f"SELECT * FROM plan_visits WHERE {where} ORDER BY date, van_id, order_in_day, start",
        params,
    )
    cols = [c[0] for c in cur.description]
    return [dict(zip(cols, row, strict=True)) for row in cur.fetchall()]


def _totals(visits: list[PlanVisit], base: dict[str, DistrictTotal]) -> list[DistrictTotal]:
    days: dict[str, set[str]] = defaultdict(set)
    stops: dict[str, int] = defaultdict(int)
    users: dict[str, float] = defaultdict(float)
    names: dict[str, str] = {}
    for v in visits:
        names[v.district_id] = v.district_name
        if v.activity == "regular":
            days[v.district_id].add(v.date)
            stops[v.district_id] += 1
            users[v.district_id] += v.expected_users
    order = list(base) + sorted(set(names) - set(base))
    out = []
    for did in order:
        b = base.get(did)
        out.append(
            DistrictTotal(
                district_id=did,
                name=b.name if b else names.get(did, did),
                visits=len(days[did]),
                stops=stops[did],
                expected_users=users[did],
                min_visits=b.min_visits if b else 0,
                max_visits=b.max_visits if b else 99,
                shortfall=0,
            )
        )
    return out


def load_plan(db: sqlite_utils.Database, plan_id: str) -> Plan:
    """The stored plan: visits (with their stored ids), district totals, solver report,
    notes and explanations as they were saved."""
    r = _row(db, plan_id)
    doc = db.execute("SELECT document FROM plan_documents WHERE plan_id = ?", [r["id"]]).fetchone()
    rows = _visit_rows(db, "plan_id = ?", [r["id"]])
    if doc is not None:
        plan = plan_from_dict(json.loads(doc[0]))
        ids = {(x["date"], x["van_id"], x["start"]): x["id"] for x in rows}
        plan.visits = [
            replace(v, id=v.id or ids.get((v.date, v.van_id, v.start), "")) for v in plan.visits
        ]
        return plan
    # A plan stored without its document (the demo's hand-made plan, older hubs).
    sites, districts = _names(db)
    visits = [_visit_from_row(x, sites, districts) for x in rows]
    try:
        solver = json.loads(r.get("solver") or "{}")
    except ValueError:
        solver = {}
    return Plan(
        id=r["id"],
        created_at=r["created_at"],
        horizon_start=r["horizon_start"],
        horizon_end=r["horizon_end"],
        visits=visits,
        districts=_totals(visits, {}),
        solver=SolverReport.from_dict(solver),
        notes=[n for n in (r.get("notes") or "").split("\n") if n],
        replan_from=r.get("replan_from"),
    )


def policy_text_of(db: sqlite_utils.Database, plan_id: str) -> str:
    """The policy (TOML) a stored plan was made with ("" when not stored)."""
    return _policy_text(db, plan_id)


def _policy_text(db: sqlite_utils.Database, plan_id: str) -> str:
    row = db.execute("SELECT policy FROM plans WHERE id = ?", [plan_id]).fetchone()
    return str(row[0]) if row else ""
