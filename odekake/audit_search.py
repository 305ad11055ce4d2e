"""Looking through the audit log: by actor, action and date (the console's 監査ログ page).

Dates are days in Japan (the log stores UTC); the newest entries come first.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone

import sqlite_utils

from odekake.audit import ACTIONS, AuditEntry

JST = timezone(timedelta(hours=9), "JST")
DEFAULT_LIMIT = 500


@dataclass(frozen=True)
class AuditQuery:
    """What to look for; empty fields match everything."""

    actor: str = ""  # part of the actor (``staff:mgr``, ``cli:``, an operator id)
    action: str = ""  # an action, or a family with a trailing dot (``staff.``)
    since: date | None = None  # first day (Japan), inclusive
    until: date | None = None  # last day (Japan), inclusive
    limit: int = DEFAULT_LIMIT


def _utc_bound(day: date) -> str:
    t = datetime.combine(day, time(0, 0), JST).astimezone(UTC)
    return t.isoformat(timespec="milliseconds")


def search(db: sqlite_utils.Database, query: AuditQuery) -> tuple[list[AuditEntry], int]:
    """Matching entries, newest first (at most ``query.limit``), and how many match in all."""
    where: list[str] = []
    args: list[object] = []
    if query.actor.strip():
        where.append("instr(actor, ?) > 0")
        args.append(query.actor.strip())
    if query.action.strip():
        a = query.action.strip()
        if a.endswith("."):
            where.append("substr(action, 1, ?) = ?")
            args += [len(a), a]
        else:
            where.append("action = ?")
            args.append(a)
    if query.since is not None:
        where.append("at >= ?")
        args.append(_utc_bound(query.since))
    if query.until is not None:
        where.append("at < ?")
        args.append(_utc_bound(query.until + timedelta(days=1)))
    clause = f" WHERE {' AND '.join(where)}" if where else ""
    total = int(db.execute(f"SELECT COUNT(*) FROM audit_log{clause}", args).fetchone()[0])
    rows = db.execute(
        "SELECT seq, at, actor, action, target, detail, prev_hash, hash FROM audit_log"
        f"{clause} ORDER BY seq DESC LIMIT ?",
        [*args, max(1, query.limit)],
    ).fetchall()
    return [
        AuditEntry(r[0], r[1], r[2], r[3], r[4], json.loads(r[5]), r[6], r[7]) for r in rows
    ], total


def known_actions(db: sqlite_utils.Database) -> list[tuple[str, str]]:
    """(action, Japanese label) of every action in the log or in the list, by action."""
    seen = {str(r[0]) for r in db.execute("SELECT DISTINCT action FROM audit_log")}
    return [(a, ACTIONS.get(a, a)) for a in sorted(seen | set(ACTIONS))]
