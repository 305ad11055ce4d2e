"""Operator login: id + PIN (scrypt), with a lockout after repeated wrong PINs.

The lockout state lives in the kiosk-local ``operator_lockouts`` table; a
successful login and a lockout are also recorded (``operator.login``,
``operator.locked``) so the hub can audit who worked the van.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlite_utils

from odekake import audit
from odekake import records as rec
from odekake.auth import check_pin
from odekake.db import write
from odekake.errors import OdekakeError

MAX_FAILURES = 5
LOCK_MINUTES = 15


class LoginFailed(OdekakeError):
    """Unknown operator or wrong PIN (the message does not say which)."""


class LockedOut(OdekakeError):
    """Too many wrong PINs: the operator is locked for a while."""


@dataclass(frozen=True)
class Operator:
    """A logged-in operator."""

    id: str
    name: str
    roles: tuple[str, ...]

    @property
    def is_supervisor(self) -> bool:
        """True for a 監督者."""
        return "supervisor" in self.roles


def _locked_until(db: sqlite_utils.Database, operator_id: str) -> tuple[int, datetime | None]:
    row = db.execute(
        "SELECT failures, locked_until FROM operator_lockouts WHERE operator_id = ?", [operator_id]
    ).fetchone()
    if row is None:
        return 0, None
    until = datetime.fromisoformat(row[1]) if row[1] else None
    return int(row[0]), until


def login(db: sqlite_utils.Database, operator_id: str, pin: str, *, now: datetime) -> Operator:
    """Check an operator's PIN.

    Raises:
        LockedOut: The operator is locked (5 wrong PINs in a row, for 15 minutes).
        LoginFailed: Unknown or inactive operator, or a wrong PIN.
    """
    oid = operator_id.strip()
    failures, until = _locked_until(db, oid)
    if until is not None and now < until:
        minutes = max(1, int((until - now).total_seconds() // 60) + 1)
        raise LockedOut(
            f"PINの誤りが続いたためロック中です(あと約{minutes}分)。監督者に連絡してください"
        )
    row = db.execute(
        "SELECT name, roles, pin_hash FROM operators WHERE id = ? AND active = 1", [oid]
    ).fetchone()
    ok = row is not None and check_pin(pin, str(row[2]))
    if row is None:
        audit.log(db, oid or "(空欄)", "login.failed", oid, {"known": False}, now=now)
        raise LoginFailed("職員IDまたはPINが違います")
    with write(db):
        if not ok:
            audit.log(db, oid, "login.failed", oid, now=now)
            failures = 0 if until is not None else failures
            failures += 1
            locked = None
            if failures >= MAX_FAILURES:
                locked = (now + timedelta(minutes=LOCK_MINUTES)).isoformat()
                rec.append(
                    db, "operator.locked", {"operator_id": oid, "failures": failures}, now=now
                )
                audit.log(db, oid, "login.locked", oid, {"failures": failures}, now=now)
            db.execute(
                "INSERT INTO operator_lockouts(operator_id, failures, locked_until) VALUES (?,?,?) "
                "ON CONFLICT(operator_id) DO UPDATE SET failures = excluded.failures, "
                "locked_until = excluded.locked_until",
                [oid, 0 if locked else failures, locked],
            )
        else:
            db.execute("DELETE FROM operator_lockouts WHERE operator_id = ?", [oid])
            rec.append(db, "operator.login", {"operator_id": oid}, now=now)
            audit.log(db, oid, "login", oid, now=now)
    if not ok:
        if failures >= MAX_FAILURES:
            raise LockedOut(f"PINを{MAX_FAILURES}回誤ったため{LOCK_MINUTES}分間ロックしました")
        raise LoginFailed(f"職員IDまたはPINが違います(あと{MAX_FAILURES - failures}回でロック)")
    assert row is not None
    return Operator(oid, str(row[0]), tuple(str(row[1]).split(",")))


def verify_pin(db: sqlite_utils.Database, operator_id: str, pin: str) -> bool:
    """Check a PIN without recording anything (unlocking the idle screen)."""
    row = db.execute(
        "SELECT pin_hash FROM operators WHERE id = ? AND active = 1", [operator_id]
    ).fetchone()
    return row is not None and check_pin(pin, str(row[0]))
