"""The hub's picture of today, van by van (the console's home page).

For each van: today's planned stops (published plans only: what the van received),
its devices' last contact with the hub, the records the hub holds from each, and
the alerts a coordinator must see — quarantined records and gaps in a device's
sequence (from :func:`odekake.sync.status.hub_status`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, timezone

import sqlite_utils

from odekake.plans import IN_FORCE
from odekake.sync.status import DeviceStatus, hub_status

JST = timezone(timedelta(hours=9), "JST")


@dataclass(frozen=True)
class TodayStop:
    """One planned stop of today."""

    start: str
    end: str
    site_id: str
    site_name: str
    district_name: str
    activity: str


@dataclass(frozen=True)
class DeviceToday:
    """One device of a van as the hub sees it."""

    status: DeviceStatus
    records: int
    records_today: int
    last_record_at: str | None

    @property
    def alerts(self) -> list[str]:
        """Japanese alert lines (quarantine, gaps, revoked)."""
        out = []
        if self.status.quarantined:
            out.append(
                f"隔離された記録が {self.status.quarantined} 件あります(同じIDで内容が違う記録)"
            )
        for a, b in self.status.gaps:
            out.append(f"記録の欠番 {a}〜{b} 番: 後続の記録 {self.status.held} 件を保留中")
        if self.status.status == "revoked":
            out.append("この端末は失効しています")
        return out


@dataclass(frozen=True)
class VanToday:
    """A van's day at a glance."""

    van_id: str
    name: str
    stops: list[TodayStop]
    devices: list[DeviceToday] = field(default_factory=list)

    @property
    def alerts(self) -> list[str]:
        """Every device's alerts."""
        return [f"{d.status.device_id}: {a}" for d in self.devices for a in d.alerts]


def published_stops(db: sqlite_utils.Database, van_id: str, day: date) -> list[TodayStop]:
    """The stops in force for a van on ``day`` (what it received: published, not superseded)."""
    rows = db.execute(
        'SELECT v.start, v."end", v.site_id, COALESCE(s.name, v.site_id), '
        "COALESCE(d.name, v.district_id), v.activity FROM plan_visits v "
        "LEFT JOIN sites s ON s.id = v.site_id LEFT JOIN districts d ON d.id = v.district_id "
        f"WHERE v.id IN (SELECT id FROM plan_visits WHERE {IN_FORCE}) "
        "AND v.van_id = ? AND v.date = ? ORDER BY v.start",
        [van_id, day.isoformat()],
    ).fetchall()
    return [TodayStop(*r) for r in rows]


def _utc_range(day: date) -> list[str]:
    """The JST calendar day as a half-open range of UTC ``wall_time`` strings."""
    start = datetime.combine(day, time(0, 0), tzinfo=JST).astimezone(UTC)
    return [
        start.isoformat(timespec="milliseconds"),
        (start + timedelta(days=1)).isoformat(timespec="milliseconds"),
    ]


def vans_today(db: sqlite_utils.Database, day: date) -> list[VanToday]:
    """Every van of the master data (and every van id a device is enrolled for) with
    today's stops, devices and alerts."""
    statuses = {s.device_id: s for s in hub_status(db)}
    van_of = {str(d): str(v) for d, v in db.execute("SELECT device_id, van_id FROM devices")}
    counts = {
        str(d): (int(n), str(last) if last else None)
        for d, n, last in db.execute(
            "SELECT device_id, COUNT(*), MAX(wall_time) FROM records "
            "WHERE device_id != 'hub' GROUP BY device_id"
        )
    }
    today_counts = {
        str(d): int(n)
        for d, n in db.execute(
            "SELECT device_id, COUNT(*) FROM records WHERE device_id != 'hub' "
            "AND wall_time >= ? AND wall_time < ? GROUP BY device_id",
            _utc_range(day),
        )
    }
    out = []
    vans = [(str(v), str(n)) for v, n in db.execute("SELECT id, name FROM vans ORDER BY id")]
    # A device enrolled for a van id the master data does not have yet (an enrolment code
    # may name a new van) is shown too, under that id, so no device is left off the page.
    known = {v for v, _ in vans}
    vans += [(v, "(車両マスタにない車両)") for v in sorted(set(van_of.values()) - known)]
    for van_id, name in vans:
        devices = []
        for dev, status in sorted(statuses.items()):
            if van_of.get(dev) != van_id:
                continue
            n, last = counts.get(dev, (0, None))
            devices.append(DeviceToday(status, n, today_counts.get(dev, 0), last))
        out.append(VanToday(van_id, name, published_stops(db, van_id, day), devices))
    return out
