"""Console sessions kept at the hub (table ``console_sessions``, never synced).

The browser's cookie carries only a random token; the hub keeps its SHA-256 with
the login, the client address, when it started and when it was last used. A
session is valid while its row exists, the account is active and it was used
within the idle limit: logout, a password change, disabling an account and
changing its role delete the rows (:func:`end_sessions_of`), so a copied cookie
stops working at once. An administrator lists and ends sessions (audited).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlite_utils

from odekake.access import audit
from odekake.errors import NotFound
from odekake.storage.db import write

TOUCH_SECONDS = 30
"""``last_seen`` is written at most this often per session (not on every request)."""


@dataclass(frozen=True)
class ConsoleSession:
    """One open console session (``id`` is the token's hash, never the token)."""

    id: str
    login: str
    address: str
    started_at: str
    last_seen: str


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _iso(t: datetime) -> str:
    return t.astimezone(UTC).isoformat(timespec="seconds")


def start_session(
    db: sqlite_utils.Database, login: str, address: str, *, now: datetime | None = None
) -> str:
    """Open a session for ``login`` from ``address``; the token for the cookie."""
    token = secrets.token_urlsafe(32)
    at = _iso(now or datetime.now(UTC))
    with write(db):
        db.execute(
            "INSERT INTO console_sessions(id, login, address, started_at, last_seen) "
            "VALUES (?, ?, ?, ?, ?)",
            [_hash(token), login, address[:64], at, at],
        )
    return token


def session_login(
    db: sqlite_utils.Database, token: str, *, idle_minutes: int, now: datetime | None = None
) -> str | None:
    """The login of a valid session (its last use noted), or None: no such session,
    an idle one (then ended) or an account no longer active."""
    if not token:
        return None
    t = now or datetime.now(UTC)
    sid = _hash(token)
    row = db.execute(
        "SELECT s.login, s.last_seen, st.active FROM console_sessions s "
        "LEFT JOIN staff st ON st.login = s.login WHERE s.id = ?",
        [sid],
    ).fetchone()
    if row is None:
        return None
    login, last_seen, active = row
    seen = datetime.fromisoformat(last_seen)
    if not active or t - seen > timedelta(minutes=idle_minutes):
        with write(db):
            db.execute("DELETE FROM console_sessions WHERE id = ?", [sid])
        return None
    if (t - seen).total_seconds() >= TOUCH_SECONDS:
        with write(db):
            db.execute("UPDATE console_sessions SET last_seen = ? WHERE id = ?", [_iso(t), sid])
    return str(login)


def end_session(db: sqlite_utils.Database, token: str) -> None:
    """End the session of this cookie token (logout)."""
    with write(db):
        db.execute("DELETE FROM console_sessions WHERE id = ?", [_hash(token)])


def end_sessions_of(db: sqlite_utils.Database, login: str) -> int:
    """End every session of ``login`` (inside the caller's write, if any); how many."""
    cur = db.execute("DELETE FROM console_sessions WHERE login = ?", [login])
    return int(cur.rowcount or 0)


def list_sessions(db: sqlite_utils.Database) -> list[ConsoleSession]:
    """Every open session, most recently used first."""
    return [
        ConsoleSession(*row)
        for row in db.execute(
            "SELECT id, login, address, started_at, last_seen FROM console_sessions "
            "ORDER BY last_seen DESC, login"
        )
    ]


def end_session_by_id(db: sqlite_utils.Database, session_id: str, *, actor: str) -> str:
    """An administrator ends one session (audited); the login it belonged to."""
    row = db.execute(
        "SELECT login, address FROM console_sessions WHERE id = ?", [session_id]
    ).fetchone()
    if row is None:
        raise NotFound("そのセッションはもう終わっています")
    with write(db):
        db.execute("DELETE FROM console_sessions WHERE id = ?", [session_id])
        audit.log(db, actor, "session.end", str(row[0]), {"address": row[1]})
    return str(row[0])
