"""Planned versus actual: what the published plan said and what the vans' records show.

For a day, every visit in force (:data:`odekake.plans.IN_FORCE`) beside the stop a van
opened for it (``stop.open`` names its ``plan_visit_id``): opened and closed times and
the residents served at it by service (from the synced service records, voids taken
out), what was planned but not served, and stops opened outside the plan. A month is
the same per day, for the coordinator planning the next one.
"""

from __future__ import annotations

import calendar
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

import sqlite_utils

from odekake.masterdata.catalog import (
    CATEGORIES,
    SERVICE_RECORD_TYPES,
    STOP_CLOSE,
    STOP_OPEN,
    USER_CATEGORIES,
)
from odekake.operations.overview import JST
from odekake.plans import IN_FORCE
from odekake.storage import records as rec

# The labels (as ``users`` holds them) of the categories counted as 利用者.
USER_LABELS = frozenset(CATEGORIES[c] for c in USER_CATEGORIES)

__all__ = ["JST", "DayActual", "StopActual", "day_actual", "days_actual", "month_actual"]


@dataclass(frozen=True)
class StopActual:
    """One planned visit and/or the stop a van opened."""

    van_id: str
    window: str
    site_name: str
    district_name: str
    planned: bool
    opened_at: str = ""
    closed_at: str = ""
    users: dict[str, int] = field(default_factory=dict)
    upcoming: bool = False  # a day still to come (not served yet is not 未実施)

    @property
    def served(self) -> bool:
        """True when a van opened this stop."""
        return bool(self.opened_at)

    @property
    def total(self) -> int:
        """Residents served at the stop (利用者, as the usage report's 計 counts them:
        説明/見学 visitors apart, in :attr:`visitors`)."""
        return sum(n for label, n in self.users.items() if label in USER_LABELS)

    @property
    def visitors(self) -> int:
        """People who came for an explanation or a look at the van (説明/見学)."""
        return sum(n for label, n in self.users.items() if label not in USER_LABELS)

    @property
    def state(self) -> str:
        """In words: 実施, 実施中, 未実施, 予定 (a day still to come) or 計画外."""
        if not self.planned:
            return "計画外"
        if not self.served:
            return "予定" if self.upcoming else "未実施"
        return "実施" if self.closed_at else "実施中"


@dataclass(frozen=True)
class DayActual:
    """A day's plan against what happened."""

    day: date
    stops: tuple[StopActual, ...]

    @property
    def planned(self) -> int:
        """Visits in force that day."""
        return sum(1 for s in self.stops if s.planned)

    @property
    def served(self) -> int:
        """Planned visits a van opened."""
        return sum(1 for s in self.stops if s.planned and s.served)

    @property
    def not_served(self) -> int:
        """Planned visits no van opened (on a day still to come: none yet)."""
        return sum(1 for s in self.stops if s.state == "未実施")

    @property
    def unplanned(self) -> int:
        """Stops opened outside the plan."""
        return sum(1 for s in self.stops if not s.planned)

    @property
    def users(self) -> int:
        """Residents served that day."""
        return sum(s.total for s in self.stops)


def _utc(day: date) -> str:
    start = datetime.combine(day, time(0, 0), tzinfo=JST).astimezone(UTC)
    return start.isoformat(timespec="milliseconds")


def days_actual(
    db: sqlite_utils.Database, first: date, last: date, today: date | None = None
) -> list[DayActual]:
    """Each day from ``first`` to ``last``: its visits in force and the stops opened
    (visits after ``today`` not yet served are 予定, not 未実施)."""
    sites = {r[0]: r[1] for r in db.execute("SELECT id, name FROM sites")}
    districts = {r[0]: r[1] for r in db.execute("SELECT id, name FROM districts")}
    planned = db.execute(
        f'SELECT id, date, van_id, start, "end", site_id, district_id FROM plan_visits'
        f" WHERE {IN_FORCE} AND date BETWEEN ? AND ? ORDER BY date, van_id, start",
        [first.isoformat(), last.isoformat()],
    ).fetchall()
    since, until = _utc(first - timedelta(days=1)), _utc(last + timedelta(days=2))
    window = rec.effective(
        rec.iter_records(
            db,
            types=[STOP_OPEN, STOP_CLOSE, rec.VOID, *SERVICE_RECORD_TYPES],
            since=since,
            until=until,
        )
    )
    opened: dict[str, dict[str, object]] = {}
    closed: dict[str, str] = {}
    users: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for r in window:
        p = r.payload or {}
        if r.type == STOP_OPEN and first.isoformat() <= str(p.get("date", "")) <= last.isoformat():
            opened[str(p["stop_id"])] = p
        elif r.type == STOP_CLOSE:
            closed[str(p.get("stop_id"))] = str(p.get("closed_at", ""))
        elif r.type in SERVICE_RECORD_TYPES:
            label = CATEGORIES[SERVICE_RECORD_TYPES[r.type]]
            users[str(p.get("stop_id"))][label] += int(p.get("people", 1) or 1)
    by_visit = {str(p.get("plan_visit_id")): sid for sid, p in opened.items() if p.get("planned")}
    out: dict[str, list[StopActual]] = defaultdict(list)
    for vid, day_s, van, start, end, site, did in planned:
        sid = by_visit.pop(str(vid), None)
        p = opened.pop(sid, {}) if sid else {}
        out[day_s].append(
            StopActual(
                van_id=van,
                window=f"{start}-{end}",
                site_name=sites.get(site, site),
                district_name=districts.get(did, did),
                planned=True,
                opened_at=str(p.get("opened_at", "")) if sid else "",
                closed_at=closed.get(sid, "") if sid else "",
                users=dict(users.get(sid, {})) if sid else {},
                upcoming=today is not None and day_s > today.isoformat(),
            )
        )
    for sid, p in opened.items():  # opened outside the plan (or for a visit no longer in force)
        out[str(p.get("date"))].append(
            StopActual(
                van_id=str(p.get("van_id", "")),
                window=str(p.get("window", "")),
                site_name=str(p.get("site_name", "")),
                district_name=districts.get(str(p.get("district_id", "")), ""),
                planned=False,
                opened_at=str(p.get("opened_at", "")),
                closed_at=closed.get(sid, ""),
                users=dict(users.get(sid, {})),
            )
        )
    days = []
    d = first
    while d <= last:
        stops = sorted(out.get(d.isoformat(), []), key=lambda s: (s.van_id, s.window))
        days.append(DayActual(d, tuple(stops)))
        d += timedelta(days=1)
    return days


def day_actual(db: sqlite_utils.Database, day: date, today: date | None = None) -> DayActual:
    """One day's plan against its records."""
    return days_actual(db, day, day, today)[0]


def month_actual(
    db: sqlite_utils.Database, year: int, month: int, today: date | None = None
) -> list[DayActual]:
    """Every day of a month, planned against actual."""
    last = calendar.monthrange(year, month)[1]
    return days_actual(db, date(year, month, 1), date(year, month, last), today)
