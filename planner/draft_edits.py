"""Plans have a life: draft → published → superseded, or discarded.

``odekake plan`` (and the console) stores each solved plan as a *draft*. A
coordinator looks at it, edits it (:func:`edit_draft`, :func:`import_csv` in
:mod:`planner.handedit`) and publishes it. Publishing a plan makes its visits the
ones in force for its vans and horizon: every visit published before for the same
van and day is superseded, except a visit that is exactly the same (same day, van,
window, site, activity and services), which stays in force under its first id so a
van's already-opened stops stay opened. Vans receive and show only visits in force
(:data:`odekake.plans.IN_FORCE`). A plan none of whose visits is in force any more
becomes ``superseded``. Only drafts can be published or discarded.

Every change is audited (``plan.create``, ``plan.publish``, ``plan.discard``).

The API the console relies on: :func:`list_plans`, :func:`load_plan`,
:func:`summary`, :func:`publish`, :func:`discard`, :func:`published_visits`,
:func:`edit_draft` with :class:`MoveVisit`, :class:`RemoveVisit`, :class:`AddVisit`,
and :func:`save_draft`.
"""

from __future__ import annotations

import itertools
import json
import tomllib
import uuid
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import sqlite_utils

from odekake import audit, master
from odekake.db import write
from odekake.errors import NotFound, OdekakeError
from odekake.plans import IN_FORCE, STATUSES
from planner.inputs import KeptVisit, Window, depot_node, hhmm, parse_hhmm
from planner.plan import DistrictTotal, Plan, PlanVisit, SolverReport, plan_from_dict
from planner.travel import TravelModel, route_driving

__all__ = [
    "STATUSES",
    "AddVisit",
    "Edit",
    "ForceLine",
    "MoveVisit",
    "PlanSummary",
    "PublishResult",
    "RemoveVisit",
    "discard",
    "edit_draft",
    "force_lines",
    "list_plans",
    "load_plan",
    "publish",
    "published_keep",
    "published_visits",
    "save_draft",
    "summary",
    "visit_id",
]


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


@dataclass(frozen=True)
class PublishResult:
    """What publishing a plan changed."""

    plan_id: str
    published_at: str
    visits: int
    unchanged: int
    superseded: dict[str, int] = field(default_factory=dict)
    superseded_plans: tuple[str, ...] = ()
    # The residents' site rebuilt after the publish: its folder, or why it could not be.
    site: str = ""
    site_error: str = ""

    @property
    def superseded_visits(self) -> int:
        """Visits taken out of force, over all earlier plans."""
        return sum(self.superseded.values())


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


def _same(v: dict[str, Any], w: dict[str, Any]) -> bool:
    keys = ("date", "van_id", "start", "end", "site_id", "activity", "services")
    return all(v[k] == w[k] for k in keys)


def publish(
    db: sqlite_utils.Database,
    plan_id: str,
    *,
    actor: str,
    now: datetime | None = None,
    today: date | None = None,
    detail: dict[str, Any] | None = None,
) -> PublishResult:
    """Publish a draft: its visits come into force for its vans and horizon.

    Every visit in force for the same van and day (from earlier published plans) is
    superseded, except an identical one, which stays in force under its first id.
    An earlier plan with no visit left in force becomes ``superseded``. ``detail`` is
    added to the audit entry (the rule check's findings, see :mod:`planner.publishing`).

    With ``today`` (Japan's date), the past is not rewritten: a draft that adds,
    changes or removes a visit before ``today`` is refused (a re-plan's unchanged
    earlier visits are fine), so no past visit is ever sent to a van.

    Raises:
        NotFound: No such plan.
        OdekakeError: The plan is not a draft, or it changes a day before ``today``.
    """
    at = (now or datetime.now(UTC)).isoformat(timespec="seconds")
    with write(db):
        r = _row(db, plan_id)
        pid = r["id"]
        if r["status"] != "draft":
            raise OdekakeError(
                f"公開できるのは下書きの計画だけです(計画 {_short(pid)} は"
                f"「{STATUSES.get(r['status'], r['status'])}」です)"
            )
        s = _summary(db, r)
        vans = list(s.van_ids)
        mine = _visit_rows(db, "plan_id = ?", [pid])
        marks = ",".join("?" * len(vans)) or "''"
        live = _visit_rows(
            db,
            f"{IN_FORCE} AND plan_id != ? AND van_id IN ({marks}) AND date BETWEEN ? AND ?",
            [pid, *vans, r["horizon_start"], r["horizon_end"]],
        )
        by_slot: dict[tuple[str, str, str], list[dict[str, Any]]] = defaultdict(list)
        for w in live:
            by_slot[(w["date"], w["van_id"], w["start"])].append(w)
        kept_ids: set[str] = set()
        unchanged = 0
        for v in mine:
            for w in by_slot.get((v["date"], v["van_id"], v["start"]), []):
                if w["id"] not in kept_ids and _same(v, w):
                    kept_ids.add(w["id"])
                    v["same_as"] = w["id"]
                    db.execute(
                        "UPDATE plan_visits SET same_as = ? WHERE id = ?", [w["id"], v["id"]]
                    )
                    unchanged += 1
                    break
        if today is not None:
            _refuse_past_changes(mine, live, kept_ids, today)
        superseded: dict[str, int] = defaultdict(int)
        for w in live:
            if w["id"] in kept_ids:
                continue
            db.execute("UPDATE plan_visits SET superseded_by = ? WHERE id = ?", [pid, w["id"]])
            superseded[w["plan_id"]] += 1
        db.execute(
            "UPDATE plans SET status = 'published', published_at = ?, published_by = ? WHERE id = ?",
            [at, actor, pid],
        )
        closed: list[str] = []
        for other in db.execute(
            "SELECT id, van_ids, horizon_start, horizon_end FROM plans"
            " WHERE status = 'published' AND id != ?",
            [pid],
        ).fetchall():
            oid = other[0]
            left = db.execute(
                f"SELECT COUNT(*) FROM plan_visits WHERE plan_id = ? AND {IN_FORCE}", [oid]
            ).fetchone()[0]
            if left:
                continue
            try:
                ovans = set(json.loads(other[1] or "[]"))
            except ValueError:
                ovans = set()
            covered = (
                ovans <= set(vans)
                and r["horizon_start"] <= other[2]
                and other[3] <= r["horizon_end"]
            )
            if oid in superseded or covered:
                db.execute(
                    "UPDATE plans SET status = 'superseded', closed_at = ? WHERE id = ?", [at, oid]
                )
                closed.append(oid)
        result = PublishResult(
            plan_id=pid,
            published_at=at,
            visits=len(mine),
            unchanged=unchanged,
            superseded=dict(superseded),
            superseded_plans=tuple(closed),
        )
        audit.log(
            db,
            actor,
            "plan.publish",
            pid,
            {
                "visits": len(mine),
                "unchanged": unchanged,
                "superseded": dict(superseded),
                "superseded_plans": closed,
                **(detail or {}),
            },
        )
    return _rebuild_site(db, result)


def _rebuild_site(db: sqlite_utils.Database, result: PublishResult) -> PublishResult:
    """The residents' schedule follows every publish (the plan is already committed, so a
    folder that cannot be written is reported, not raised)."""
    from odekake.prefill import rebuild_remembered

    try:
        where = rebuild_remembered(db)
    except OdekakeError as exc:
        return replace(result, site_error=str(exc))
    return replace(result, site=str(where)) if where is not None else result


def _refuse_past_changes(
    mine: list[dict[str, Any]], live: list[dict[str, Any]], kept: set[str], today: date
) -> None:
    """Refuse (one Japanese line) a publish that would add, change or remove a past visit."""
    past = today.isoformat()
    new = [v for v in mine if v["date"] < past and not v.get("same_as")]
    gone = [w for w in live if w["date"] < past and w["id"] not in kept]
    if not new and not gone:
        return
    first = min([*new, *gone], key=lambda v: (v["date"], v["start"]))
    raise OdekakeError(
        f"この計画は今日({past})より前の日の訪問を変えます({len(new)}件の追加・変更、"
        f"{len(gone)}件の削除。最初は {first['date']} {first['start']})。過去の訪問は車両に送れないため"
        f"公開できません。今日以降を計画し直してください(odekake plan --replan-from {past})"
    )


def discard(
    db: sqlite_utils.Database, plan_id: str, *, actor: str, now: datetime | None = None
) -> str:
    """Discard a draft (it stays stored, marked ``discarded``); returns its id.

    Raises:
        NotFound: No such plan.
        OdekakeError: The plan is not a draft (a published plan is replaced by
            publishing another, never discarded).
    """
    at = (now or datetime.now(UTC)).isoformat(timespec="seconds")
    with write(db):
        r = _row(db, plan_id)
        if r["status"] != "draft":
            raise OdekakeError(
                f"破棄できるのは下書きの計画だけです(計画 {_short(r['id'])} は"
                f"「{STATUSES.get(r['status'], r['status'])}」です)"
            )
        db.execute(
            "UPDATE plans SET status = 'discarded', closed_at = ? WHERE id = ?", [at, r["id"]]
        )
        audit.log(db, actor, "plan.discard", r["id"], {})
    return str(r["id"])


@dataclass(frozen=True)
class ForceLine:
    """Where a published plan's visits that are not in force went (the plan list's line)."""

    superseded_by: dict[str, int] = field(default_factory=dict)
    same_as: dict[str, int] = field(default_factory=dict)


def force_lines(db: sqlite_utils.Database, plan_ids: list[str]) -> dict[str, ForceLine]:
    """For each plan, how many of its visits each later published plan replaced, and how
    many stay in force under an earlier plan's identical visit (``same_as``)."""
    if not plan_ids:
        return {}
    marks = ",".join("?" * len(plan_ids))
    by: dict[str, dict[str, int]] = defaultdict(dict)
    same: dict[str, dict[str, int]] = defaultdict(dict)
    for pid, other, n in db.execute(
        f"SELECT plan_id, superseded_by, COUNT(*) FROM plan_visits WHERE plan_id IN ({marks})"
        " AND superseded_by IS NOT NULL GROUP BY plan_id, superseded_by",
        plan_ids,
    ):
        by[str(pid)][str(other)] = int(n)
    for pid, origin, n in db.execute(
        "SELECT v.plan_id, o.plan_id, COUNT(*) FROM plan_visits v JOIN plan_visits o"
        f" ON o.id = v.same_as WHERE v.plan_id IN ({marks}) GROUP BY v.plan_id, o.plan_id",
        plan_ids,
    ):
        same[str(pid)][str(origin)] = int(n)
    return {
        pid: ForceLine(dict(by.get(pid, {})), dict(same.get(pid, {})))
        for pid in plan_ids
        if pid in by or pid in same
    }


def published_visits(
    db: sqlite_utils.Database, van_id: str, start: date | str, end: date | str
) -> list[PlanVisit]:
    """The visits in force for a van from ``start`` to ``end`` (what the van receives)."""
    sites, districts = _names(db)
    rows = _visit_rows(
        db, f"{IN_FORCE} AND van_id = ? AND date BETWEEN ? AND ?", [van_id, str(start), str(end)]
    )
    return [_visit_from_row(x, sites, districts) for x in rows]


def published_keep(
    db: sqlite_utils.Database, van_ids: list[str] | tuple[str, ...], start: date, end: date
) -> tuple[tuple[KeptVisit, ...], str | None]:
    """The visits in force for these vans and dates, as the ``keep`` of a re-plan,
    and the published plan most of them come from (the re-plan's parent)."""
    kept: list[KeptVisit] = []
    origin: dict[str, int] = defaultdict(int)
    events: dict[str, dict[tuple[str, str, str], str]] = {}

    def event_of(row: dict[str, Any]) -> str | None:
        # plan_visits has no event id; the plan's stored document does.
        pid = row["plan_id"]
        if pid not in events:
            doc = db.execute(
                "SELECT document FROM plan_documents WHERE plan_id = ?", [pid]
            ).fetchone()
            table: dict[tuple[str, str, str], str] = {}
            if doc is not None:
                for v in json.loads(doc[0]).get("visits", []):
                    if v.get("event_id"):
                        table[(v["date"], v["van_id"], v["start"])] = str(v["event_id"])
            events[pid] = table
        return events[pid].get((row["date"], row["van_id"], row["start"]))

    for van_id in van_ids:
        for row in _visit_rows(
            db,
            f"{IN_FORCE} AND van_id = ? AND date BETWEEN ? AND ?",
            [van_id, start.isoformat(), end.isoformat()],
        ):
            kept.append(
                KeptVisit(
                    date=date.fromisoformat(row["date"]),
                    van_id=row["van_id"],
                    window=Window(parse_hhmm(row["start"]), parse_hhmm(row["end"])),
                    site_id=row["site_id"],
                    activity=row["activity"],
                    event_id=event_of(row),
                )
            )
            origin[row["plan_id"]] += 1
    parent = max(origin, key=lambda k: origin[k]) if origin else None
    return tuple(kept), parent


# --- Edits: a coordinator moves, removes or adds a visit; the result is a new draft ---


@dataclass(frozen=True)
class MoveVisit:
    """Move a visit (named by its stored id) to another day, window, site or van.

    Fields left ``None`` stay as they were. ``window`` is ``"10:00-12:00"``.
    """

    visit_id: str
    date: str | None = None
    window: str | None = None
    site_id: str | None = None
    van_id: str | None = None


@dataclass(frozen=True)
class RemoveVisit:
    """Take a visit out of the plan."""

    visit_id: str


@dataclass(frozen=True)
class AddVisit:
    """Add a visit (a regular stop unless ``activity`` says otherwise)."""

    date: str
    van_id: str
    window: str
    site_id: str
    activity: str = "regular"
    services: tuple[str, ...] = ()


Edit = MoveVisit | RemoveVisit | AddVisit


def _offsets(visits: list[PlanVisit]) -> tuple[int, int]:
    """Setup and teardown minutes the plan uses (from its visits; 15 by default)."""
    for v in visits:
        try:
            return (
                parse_hhmm(v.start) - parse_hhmm(v.arrive),
                parse_hhmm(v.depart) - parse_hhmm(v.end),
            )
        except OdekakeError:
            continue
    return 15, 15


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


def travel_of(db: sqlite_utils.Database, base: Plan) -> TravelModel:
    """How ``base``'s legs were priced: the travel model stored with it, else its stored
    policy's ``[travel]`` table, else the policy defaults."""
    if base.travel_model:
        return TravelModel.from_dict(base.travel_model)
    text = _policy_text(db, base.id) if base.id else ""
    if text.strip():
        try:
            table = tomllib.loads(text).get("travel") or {}
        except tomllib.TOMLDecodeError:
            table = {}
        if isinstance(table, dict):
            return TravelModel.from_table(table, Path.cwd())
    return TravelModel()


def leg_minutes(
    db: sqlite_utils.Database, travel: TravelModel, visits: list[PlanVisit]
) -> Callable[[str, str], int]:
    """Minutes between the sites and depots ``visits`` use, priced by ``travel``.

    Raises:
        PolicyError: The travel matrix is missing or lacks a pair the visits need.
    """
    sites = {v.site_id for v in visits}
    vans = {v.van_id for v in visits}
    points = {
        r[0]: (float(r[1]), float(r[2]))
        for r in db.execute("SELECT id, lat, lon FROM sites")
        if r[0] in sites
    }
    points |= {
        depot_node(r[0]): (float(r[1]), float(r[2]))
        for r in db.execute("SELECT id, depot_lat, depot_lon FROM vans")
        if r[0] in vans
    }
    legs = travel.legs(points)

    def minutes(a: str, b: str) -> int:
        return 0 if a == b else legs.get((a, b), 0)

    return minutes


def rebuild(
    db: sqlite_utils.Database,
    base: Plan,
    visits: list[PlanVisit],
    *,
    note: str,
    horizon: tuple[str, str] | None = None,
) -> Plan:
    """A new plan from edited visits: route order, travel and district totals
    recomputed, the solver report marked ``edited``."""
    travel = travel_of(db, base)
    ordered = sorted(visits, key=lambda v: (v.date, v.van_id, v.start))
    out, driving = route_driving(
        [replace(v, id="") for v in ordered], leg_minutes(db, travel, ordered)
    )
    s = base.solver
    return Plan(
        id=str(uuid.uuid4()),
        created_at=_now(),
        horizon_start=horizon[0] if horizon else base.horizon_start,
        horizon_end=horizon[1] if horizon else base.horizon_end,
        visits=out,
        districts=_totals(out, {d.district_id: d for d in base.districts}),
        solver=SolverReport(
            name=s.name,
            status="edited",
            objective=s.objective,
            bound=s.bound,
            gap=s.gap,
            seconds=s.seconds,
            note="手で編集した計画です(目的関数・上界・ギャップは編集前の計画の値)",
            driving_mode=s.driving_mode,
        ),
        notes=[*base.notes, note],
        # The solver's reasons per district stay with the plan they explain (edits and
        # CSV round trips keep them; the note above says the plan was edited).
        explanations=dict(base.explanations),
        replan_from=base.replan_from,
        driving=driving,
        travel_model=travel.to_dict(),
    )


def _site(db: sqlite_utils.Database, site_id: str) -> dict[str, Any]:
    try:
        return master.site(db, site_id)
    except NotFound as exc:
        raise NotFound(f"会場がありません: {site_id}") from exc


def _check_van(db: sqlite_utils.Database, van_id: str) -> None:
    if db.execute("SELECT 1 FROM vans WHERE id = ?", [van_id]).fetchone() is None:
        raise NotFound(f"車両がありません: {van_id}")


def _window(text: str) -> Window:
    return Window.parse(text)


def _day(text: str) -> str:
    try:
        return date.fromisoformat(text).isoformat()
    except ValueError as exc:
        raise OdekakeError(f"日付は YYYY-MM-DD で指定してください({text})") from exc


def edit_draft(
    db: sqlite_utils.Database,
    plan_id: str,
    edits: list[Edit] | tuple[Edit, ...],
    *,
    actor: str,
    label: str = "",
) -> str:
    """Apply edits to a stored plan and save the result as a new draft.

    The plan edited may be a draft or a published plan; the new draft has it as
    ``parent_id`` and speaks for the same vans. Nothing is checked against the
    policy here: run :func:`planner.check.check_plan` on the result.

    Returns:
        The new draft's id.

    Raises:
        NotFound: The plan, a visit, a site or a van does not exist.
        OdekakeError: A date or window is malformed, or two visits of a van overlap.
    """
    if not edits:
        raise OdekakeError("変更がありません")
    s = summary(db, plan_id)
    base = load_plan(db, s.id)
    visits = {v.id: v for v in base.visits}
    setup, teardown = _offsets(base.visits)
    _sites, districts = _names(db)
    described: list[str] = []
    for e in edits:
        if isinstance(e, RemoveVisit):
            if e.visit_id not in visits:
                raise NotFound(f"計画 {_short(s.id)} に訪問 {e.visit_id} がありません")
            v = visits.pop(e.visit_id)
            described.append(f"削除 {v.date} {v.start} {v.site_name}")
            continue
        if isinstance(e, MoveVisit):
            if e.visit_id not in visits:
                raise NotFound(f"計画 {_short(s.id)} に訪問 {e.visit_id} がありません")
            old = visits[e.visit_id]
            w = _window(e.window) if e.window else _window(f"{old.start}-{old.end}")
            site = _site(db, e.site_id) if e.site_id else None
            van_id = e.van_id or old.van_id
            _check_van(db, van_id)
            d = _day(e.date) if e.date else old.date
            changed = replace(
                old,
                date=d,
                van_id=van_id,
                window=w.label,
                start=hhmm(w.start),
                end=hhmm(w.end),
                arrive=hhmm(w.start - setup),
                depart=hhmm(w.end + teardown),
                opened_day=master.is_closed(db, date.fromisoformat(d)),
            )
            if site is not None:
                changed = replace(
                    changed,
                    site_id=site["id"],
                    site_name=site["name"],
                    district_id=site["district_id"],
                    district_name=districts.get(site["district_id"], site["district_id"]),
                )
            visits[e.visit_id] = changed
            described.append(
                f"移動 {old.date} {old.start} {old.site_name} → {d} {changed.start} {changed.site_name}"
            )
            continue
        w = _window(e.window)
        site = _site(db, e.site_id)
        _check_van(db, e.van_id)
        d = _day(e.date)
        new = PlanVisit(
            date=d,
            van_id=e.van_id,
            window=w.label,
            start=hhmm(w.start),
            end=hhmm(w.end),
            site_id=site["id"],
            site_name=site["name"],
            district_id=site["district_id"],
            district_name=districts.get(site["district_id"], site["district_id"]),
            activity=e.activity,
            arrive=hhmm(w.start - setup),
            depart=hhmm(w.end + teardown),
            order=1,
            opened_day=master.is_closed(db, date.fromisoformat(d)),
            travel_minutes=0,
            services=e.services or _default_services(base, e.activity),
        )
        visits[f"new-{len(visits)}-{d}-{e.van_id}-{new.start}"] = new
        described.append(f"追加 {d} {new.start} {new.site_name}")
    refuse_overlaps(list(visits.values()))
    edited = rebuild(db, base, list(visits.values()), note="手で編集: " + "、".join(described))
    return save_draft(
        db,
        edited,
        policy_text=_policy_text(db, s.id),
        van_ids=list(s.van_ids),
        parent_id=s.id,
        label=label or f"{_short(s.id)} の編集",
        actor=actor,
    )


def _default_services(base: Plan, activity: str) -> tuple[str, ...]:
    for v in base.visits:
        if v.activity == activity and v.services:
            return v.services
    return {"disaster": ("disaster",), "voting": ("voting",)}.get(
        activity, ("certificate", "mynumber", "garbage", "consultation", "frailty")
    )


def refuse_overlaps(visits: list[PlanVisit]) -> None:
    by_vd: dict[tuple[str, str], list[PlanVisit]] = defaultdict(list)
    for v in visits:
        by_vd[(v.date, v.van_id)].append(v)
    for (d, van_id), vs in sorted(by_vd.items()):
        vs.sort(key=lambda v: v.start)
        for a, b in itertools.pairwise(vs):
            if b.start < a.end:
                raise OdekakeError(
                    f"{d} の {van_id} で {a.window}({a.site_name})と {b.window}({b.site_name})"
                    "の時間が重なります"
                )


def policy_text_of(db: sqlite_utils.Database, plan_id: str) -> str:
    """The policy (TOML) a stored plan was made with ("" when not stored)."""
    return _policy_text(db, plan_id)


def _policy_text(db: sqlite_utils.Database, plan_id: str) -> str:
    row = db.execute("SELECT policy FROM plans WHERE id = ?", [plan_id]).fetchone()
    return str(row[0]) if row else ""
