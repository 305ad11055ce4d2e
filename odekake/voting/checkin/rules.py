"""The rules a vote must keep, the same for a live check-in and for a vote that arrives
by sync (:func:`rule_code`): election, station, device, hours, clerk, reason, roll; and
the hub's one row per voter that says whether and where they voted."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlite_utils

from odekake.errors import NotFound
from odekake.voting.elections import REASONS, Station, get_election, jst_now
from odekake.voting.roll import sex_of


def station_answer(row: Any, db: sqlite_utils.Database | None = None) -> dict[str, str]:
    """Where, when and by whom a voter voted (what the next station's clerk is shown)."""
    answer = {
        "kind": row["kind"],
        "station_id": row["station_id"],
        "station_name": row["station_name"],
        "checked_at": row["checked_at"],
        "clerk_id": str(row.get("clerk_id") or ""),
        "device_id": str(row.get("device_id") or ""),
    }
    if db is not None and answer["clerk_id"]:
        name = db.execute(
            "SELECT name FROM operators WHERE id = ?", [answer["clerk_id"]]
        ).fetchone()
        answer["clerk_name"] = str(name[0]) if name is not None else ""
    return answer


def checkin_row(
    db: sqlite_utils.Database, election_id: str, voter_no: str
) -> dict[str, Any] | None:
    cur = db.execute(
        "SELECT election_id, voter_no, kind, station_id, station_name, checked_at, clerk_id, "
        "device_id, request_id, record_id FROM vote_checkins WHERE election_id = ? AND voter_no = ?",
        [election_id, voter_no],
    )
    row = cur.fetchone()
    if row is None:
        return None
    return dict(zip([c[0] for c in cur.description], row, strict=True))


def setting_int(db: sqlite_utils.Database, key: str, default: int) -> int:
    """An integer setting of the hub (``settings`` table), or ``default``."""
    row = db.execute("SELECT value FROM settings WHERE key = ?", [key]).fetchone()
    try:
        return int(row[0]) if row is not None else default
    except (TypeError, ValueError):
        return default


def _minutes(hhmm: str) -> int:
    h, m = hhmm.split(":")
    return int(h) * 60 + int(m)


def within_hours(db: sqlite_utils.Database, station: Station, when: datetime) -> bool:
    """True when ``when`` (JST) is inside the station's hours, with the allowed margins.

    ``vote_minutes_early`` / ``vote_minutes_late`` (settings, minutes, default 0) widen
    the window; the comparison is by minute (a 17:00 close accepts 17:00:59).
    """
    local = jst_now(when)
    t = local.hour * 60 + local.minute
    early = setting_int(db, "vote_minutes_early", 0)
    late = setting_int(db, "vote_minutes_late", 0)
    return _minutes(station.opens) - early <= t <= _minutes(station.closes) + late


def _device_van(db: sqlite_utils.Database, device_id: str) -> str | None:
    row = db.execute("SELECT van_id FROM devices WHERE device_id = ?", [device_id]).fetchone()
    return None if row is None else str(row[0])


def rule_code(
    db: sqlite_utils.Database,
    *,
    election_id: str,
    station_id: str,
    device_id: str,
    clerk_id: str,
    reason: str,
    voter_no: str,
    when: datetime,
    live: bool = True,
) -> str | None:
    """The first rule a check-in (or a synced vote) breaks, as a stable code; else None.

    The same rules for a live check-in at the hub and for a provisional vote or a
    ballot that arrives by sync: a known election, a known station, a device (or its
    van) assigned to that station, the station's date and hours (with the margins of
    the settings), an active operator with the election-clerk role, a 宣誓書 reason
    and a voter on the roll. A live check-in also needs the election still open and a
    ballot kind handed out that day. Codes and Japanese texts: :data:`REFUSAL_MESSAGES`.
    """
    try:
        election = get_election(db, election_id)
    except NotFound:
        return "unknown_election"
    if live and election.closed:
        return "election_closed"
    try:
        station = election.station(station_id)
    except NotFound:
        return "unknown_station"
    van = _device_van(db, device_id)
    if not station.served_by(device_id, van):
        if any(s.served_by(device_id, van) for s in election.stations):
            return "wrong_station"
        return "device_not_assigned"
    day = jst_now(when).date()
    if not station.open_on(day):
        return "station_closed"
    if not within_hours(db, station, when):
        return "outside_hours"
    if not is_election_clerk(db, clerk_id):
        return "not_clerk"
    if not clerk_serves(db, clerk_id, device_id, van):
        return "clerk_not_assigned"
    if live and not election.ballots_on(day):
        return "no_ballot_yet"
    if reason not in REASONS:
        return "bad_reason"
    if sex_of(db, election_id, voter_no) is None:
        return "not_on_roll"
    return None


def clerk_serves(
    db: sqlite_utils.Database, clerk_id: str, device_id: str, van_id: str | None
) -> bool:
    """True when the clerk works on this van (or device): their van list names it, or
    they have none (every van)."""
    vans = {
        str(r[0])
        for r in db.execute("SELECT van_id FROM operator_vans WHERE operator_id = ?", [clerk_id])
    }
    return not vans or device_id in vans or (van_id is not None and van_id in vans)


def is_clerk(db: sqlite_utils.Database, operator_id: str) -> bool:
    """True when an active operator has the clerk or supervisor role."""
    row = db.execute("SELECT roles, active FROM operators WHERE id = ?", [operator_id]).fetchone()
    return (
        row is not None
        and bool(row[1])
        and bool(set(str(row[0]).split(",")) & {"clerk", "supervisor"})
    )


def is_election_clerk(db: sqlite_utils.Database, operator_id: str) -> bool:
    """True when an active operator has the election-clerk role itself (the hub's rule)."""
    row = db.execute("SELECT roles, active FROM operators WHERE id = ?", [operator_id]).fetchone()
    return row is not None and bool(row[1]) and "clerk" in str(row[0]).split(",")
