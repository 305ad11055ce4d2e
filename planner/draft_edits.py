"""Edits of a plan: a coordinator moves, removes or adds a visit (:class:`MoveVisit`,
:class:`RemoveVisit`, :class:`AddVisit`); the result is a new draft, its driving and totals
rebuilt with the plan's own travel model (:func:`edit_draft`)."""

from __future__ import annotations

import itertools
import tomllib
import uuid
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import Any

import sqlite_utils

from odekake.errors import NotFound, OdekakeError
from odekake.masterdata import master
from planner.inputs import Window, depot_node, hhmm, parse_hhmm
from planner.plan import Plan, PlanVisit, SolverReport
from planner.plan_store import (
    _names,
    _now,
    _policy_text,
    _short,
    _totals,
    load_plan,
    save_draft,
    summary,
)
from planner.travel import TravelModel, route_driving


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
