"""Opening and closing a stop (one 回 of the usage report).

Today's planned visits come from the ``plan_visits`` table (sent down by the
hub); an unplanned stop may be opened with a reason. A stop is open from its
``stop.open`` record until its ``stop.close`` record.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlite_utils

from odekake.errors import NotFound, OdekakeError
from odekake.masterdata import master
from odekake.masterdata.catalog import ACTIVITIES, STOP_CLOSE, STOP_OPEN
from odekake.plans import IN_FORCE
from odekake.services.common import Form, local_date, local_hhmm
from odekake.storage import records as rec
from odekake.storage.db import device_id_of, write

DEFAULT_SERVICES = ["certificate", "mynumber", "garbage", "consultation", "frailty", "explanation"]
ACTIVITY_SERVICES: dict[str, list[str]] = {
    "regular": DEFAULT_SERVICES,
    "reservation": ["consultation", "frailty", "explanation"],
    "disaster": ["disaster"],
    "voting": ["voting"],
    "other": ["explanation"],
}
_WINDOW = re.compile(r"^([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-3]):[0-5]\d$")


@dataclass(frozen=True)
class PlannedVisit:
    """One visit of today's plan for this van."""

    id: str
    date: str
    window: str
    site_id: str
    site_name: str
    district_id: str
    district_name: str
    activity: str
    services: list[str]
    opened: bool


@dataclass(frozen=True)
class Stop:
    """An opened stop, as its ``stop.open`` record says."""

    stop_id: str
    activity: str
    site_id: str
    site_name: str
    district_id: str
    date: str
    window: str
    services: list[str]
    planned: bool
    closed: bool

    def offers(self, category: str) -> bool:
        """True when this stop offers a service category (its ``services`` list)."""
        return category in self.services

    @property
    def activity_label(self) -> str:
        """The activity in Japanese."""
        return ACTIVITIES.get(self.activity, self.activity)


def van_id_of(db: sqlite_utils.Database) -> str:
    """This van's id: the ``van_id`` meta value, the only van, or the device id."""
    from odekake.storage.db import get_meta

    meta = get_meta(db, "van_id")
    if meta:
        return meta
    vans = [r[0] for r in db.execute("SELECT id FROM vans ORDER BY id")]
    if len(vans) == 1:
        return str(vans[0])
    return device_id_of(db)


def _district_names(db: sqlite_utils.Database) -> dict[str, str]:
    return {d.id: d.name for d in master.districts(db)}


def _stops(db: sqlite_utils.Database) -> list[Stop]:
    closed = {
        str(r.payload.get("stop_id")) for r in rec.iter_records(db, types=[STOP_CLOSE]) if r.payload
    }
    out: list[Stop] = []
    for r in rec.effective(rec.iter_records(db, types=[STOP_OPEN, rec.VOID])):
        if r.type != STOP_OPEN or not r.payload:
            continue
        p = r.payload
        out.append(
            Stop(
                stop_id=p["stop_id"],
                activity=p.get("activity", "other"),
                site_id=p.get("site_id", ""),
                site_name=p.get("site_name", ""),
                district_id=p.get("district_id", ""),
                date=p.get("date", ""),
                window=p.get("window", ""),
                services=list(p.get("services", [])),
                planned=bool(p.get("planned")),
                closed=p["stop_id"] in closed,
            )
        )
    return out


def stops_on(db: sqlite_utils.Database, day: date) -> list[Stop]:
    """Stops opened on a day (JST), in the order they were opened."""
    return [s for s in _stops(db) if s.date == day.isoformat()]


def get_stop(db: sqlite_utils.Database, stop_id: str) -> Stop:
    """One stop by id."""
    for s in _stops(db):
        if s.stop_id == stop_id:
            return s
    raise NotFound(f"会場の記録がありません: {stop_id}")


def is_open(db: sqlite_utils.Database, stop_id: str) -> bool:
    """True when the stop was opened and not yet closed."""
    try:
        return not get_stop(db, stop_id).closed
    except NotFound:
        return False


def require_stop(db: sqlite_utils.Database, stop_id: str) -> None:
    """Refuse a service record when the stop is not open."""
    if not is_open(db, stop_id):
        raise OdekakeError("会場が開いていません。先に会場を開いてください")


def open_stop_now(db: sqlite_utils.Database) -> Stop | None:
    """The stop currently open on this van, if any."""
    for s in reversed(_stops(db)):
        if not s.closed:
            return s
    return None


def planned_visits(db: sqlite_utils.Database, van_id: str, day: date) -> list[PlannedVisit]:
    """Today's plan for this van, in route order; ``opened`` marks visits already opened.

    Only published visits in force count (:data:`odekake.plans.IN_FORCE`).
    """
    opened = {
        str(r.payload.get("plan_visit_id"))
        for r in rec.iter_records(db, types=[STOP_OPEN])
        if r.payload and r.payload.get("plan_visit_id")
    }
    names = _district_names(db)
    rows = db.execute(
        'SELECT v.id, v.date, v.start, v."end", v.site_id, v.district_id, v.activity, '
        "v.services, COALESCE(s.name, v.site_id) FROM plan_visits v "
        "LEFT JOIN sites s ON s.id = v.site_id WHERE v.van_id = ? AND v.date = ? "
        f"AND v.id IN (SELECT id FROM plan_visits WHERE {IN_FORCE}) "
        "ORDER BY v.order_in_day, v.start",
        [van_id, day.isoformat()],
    ).fetchall()
    out: list[PlannedVisit] = []
    for vid, d, start, end, site_id, district_id, activity, services, site_name in rows:
        try:
            svc = list(json.loads(services or "[]"))
        except ValueError:
            svc = []
        out.append(
            PlannedVisit(
                id=vid,
                date=d,
                window=f"{start}-{end}",
                site_id=site_id,
                site_name=site_name,
                district_id=district_id,
                district_name=names.get(district_id, district_id),
                activity=activity,
                services=svc or ACTIVITY_SERVICES.get(activity, DEFAULT_SERVICES),
                opened=vid in opened,
            )
        )
    return out


def _new_stop_id(db: sqlite_utils.Database, day: date, hhmm: str) -> str:
    base = f"{device_id_of(db)}-{day.isoformat()}-{hhmm.replace(':', '')}"
    taken = {s.stop_id for s in _stops(db)}
    if base not in taken:
        return base
    n = 2
    while f"{base}-{n}" in taken:
        n += 1
    return f"{base}-{n}"


def _refuse_if_open(db: sqlite_utils.Database) -> None:
    current = open_stop_now(db)
    if current is not None:
        raise OdekakeError(f"会場「{current.site_name}」が開いたままです。先に閉じてください")


#: How early a planned stop may open without a reason (minutes before its window).
EARLY_MINUTES = 30


class OutsideHours(OdekakeError):
    """Opening a planned stop well before its window, or after it: a reason is needed."""


def hours_problem(window: str, now: datetime) -> str | None:
    """Why opening now needs a reason (JST), or None within the window's allowance.

    More than :data:`EARLY_MINUTES` before the window starts, or after it ends.
    """

    def minutes(hhmm: str) -> int:
        return int(hhmm[:2]) * 60 + int(hhmm[3:5])

    hhmm = local_hhmm(now)
    if minutes(hhmm) < minutes(window[:5]) - EARLY_MINUTES:
        return f"いま {hhmm} は、この会場の時間帯 {window} の{EARLY_MINUTES}分より前です"
    if minutes(hhmm) > minutes(window[6:11]):
        return f"いま {hhmm} は、この会場の時間帯 {window} を過ぎています"
    return None


def open_planned(
    db: sqlite_utils.Database,
    plan_visit_id: str,
    *,
    operator_id: str,
    now: datetime,
    hours_reason: str = "",
) -> rec.Record:
    """Open a stop of today's plan (``stop.open`` with ``planned`` true).

    Raises:
        OutsideHours: More than 30 minutes before the visit's window or after it,
            and no ``hours_reason`` (kept with the stop when given).
    """
    row = db.execute(
        "SELECT van_id, date FROM plan_visits WHERE id = ?", [plan_visit_id]
    ).fetchone()
    if row is None:
        raise NotFound(f"計画の訪問がありません: {plan_visit_id}")
    day = local_date(now)
    visit = next((v for v in planned_visits(db, row[0], day) if v.id == plan_visit_id), None)
    if visit is None:
        raise OdekakeError(f"この訪問は今日({day.isoformat()})の計画ではありません")
    if visit.opened:
        raise OdekakeError(
            f"「{visit.site_name} {visit.window}」はすでに開いて閉じた訪問です。"
            "もう一度開くときは計画外で開いてください(U)"
            if any(
                s.closed
                for s in _stops(db)
                if s.site_id == visit.site_id and s.date == day.isoformat()
            )
            else f"「{visit.site_name} {visit.window}」はすでに開いています"
        )
    _refuse_if_open(db)  # said first: another stop open is the first thing to fix
    problem = hours_problem(visit.window, now)
    reason = hours_reason.strip()
    if problem is not None and not reason:
        raise OutsideHours(f"{problem}。開く理由を入力してください")
    with write(db):
        _refuse_if_open(db)
        payload: dict[str, Any] = {
            "stop_id": _new_stop_id(db, day, visit.window[:5]),
            "activity": visit.activity,
            "activity_label": ACTIVITIES.get(visit.activity, visit.activity),
            "site_id": visit.site_id,
            "site_name": visit.site_name,
            "district_id": visit.district_id,
            "van_id": row[0],
            "date": day.isoformat(),
            "window": visit.window,
            "operator_id": operator_id,
            "services": visit.services,
            "planned": True,
            "plan_visit_id": plan_visit_id,
            "opened_at": local_hhmm(now),
        }
        if problem is not None:
            payload["outside_hours"] = problem
            payload["hours_reason"] = reason
        return rec.append(db, STOP_OPEN, payload, now=now)


def open_unplanned(
    db: sqlite_utils.Database, values: dict[str, Any], *, operator_id: str, now: datetime
) -> rec.Record:
    """Open a stop that is not in the plan; a reason is required.

    ``values``: ``site_id``, ``activity``, ``window`` (``HH:MM-HH:MM``), ``reason``.
    """
    form = Form(values)
    site_id = form.choice("site_id", "会場", [s["id"] for s in master.sites(db)])
    activity = form.choice("activity", "活動の種類", list(ACTIVITIES))
    window = str(values.get("window") or "").strip()
    if not window:
        form.fail("window", "この会場の時間帯を入力してください(例 13:00-15:00)")
    elif not _WINDOW.match(window):
        form.fail("window", "時間帯は 10:00-12:00 の形で入力してください")
    elif window[:5] >= window[6:]:
        form.fail("window", "時間帯の開始が終了より後です")
    reason = form.text("reason", "計画外の理由", max_len=100)
    form.raise_if_any()
    site = master.site(db, site_id)
    day = local_date(now)
    with write(db):
        _refuse_if_open(db)
        payload: dict[str, Any] = {
            "stop_id": _new_stop_id(db, day, local_hhmm(now)),
            "activity": activity,
            "activity_label": ACTIVITIES[activity],
            "site_id": site_id,
            "site_name": site["name"],
            "district_id": site["district_id"],
            "van_id": van_id_of(db),
            "date": day.isoformat(),
            "window": window,
            "operator_id": operator_id,
            "services": ACTIVITY_SERVICES[activity],
            "planned": False,
            "reason": reason,
            "opened_at": local_hhmm(now),
        }
        return rec.append(db, STOP_OPEN, payload, now=now)


def close_stop(db: sqlite_utils.Database, stop_id: str, *, now: datetime) -> rec.Record:
    """Close an open stop (``stop.close``)."""
    with write(db):
        stop = get_stop(db, stop_id)
        if stop.closed:
            raise OdekakeError(f"会場「{stop.site_name}」はすでに閉じています")
        return rec.append(
            db, STOP_CLOSE, {"stop_id": stop_id, "closed_at": local_hhmm(now)}, now=now
        )


def served_at(db: sqlite_utils.Database, stop_id: str) -> dict[str, int]:
    """People served at a stop, by report category (after corrections and voids)."""
    from odekake.masterdata.catalog import SERVICE_RECORD_TYPES

    counts: dict[str, int] = {}
    types = [*SERVICE_RECORD_TYPES, rec.VOID]
    for r in rec.effective(rec.iter_records(db, types=types)):
        if r.payload and r.payload.get("stop_id") == stop_id and r.type in SERVICE_RECORD_TYPES:
            cat = SERVICE_RECORD_TYPES[r.type]
            counts[cat] = counts.get(cat, 0) + int(r.payload.get("people", 1))
    return counts
