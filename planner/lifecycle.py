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

import json
from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from typing import Any

import sqlite_utils

from odekake.access import audit
from odekake.errors import OdekakeError
from odekake.plans import IN_FORCE, STATUSES
from odekake.storage.db import write
from planner.draft_edits import (
    AddVisit,
    Edit,
    MoveVisit,
    RemoveVisit,
    edit_draft,
    leg_minutes,
    rebuild,
    refuse_overlaps,
    travel_of,
)
from planner.inputs import KeptVisit, Window, parse_hhmm
from planner.plan import PlanVisit
from planner.plan_store import (
    PlanSummary,
    _names,
    _row,
    _short,
    _summary,
    _visit_from_row,
    _visit_rows,
    list_plans,
    load_plan,
    policy_text_of,
    save_draft,
    summary,
    visit_id,
)

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
    "leg_minutes",
    "list_plans",
    "load_plan",
    "policy_text_of",
    "publish",
    "published_keep",
    "published_visits",
    "rebuild",
    "refuse_overlaps",
    "save_draft",
    "summary",
    "travel_of",
    "visit_id",
]


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
    from odekake.residents.prefill import rebuild_remembered

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
