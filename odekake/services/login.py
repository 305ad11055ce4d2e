"""Operator login: id + PIN (scrypt), with a lockout after repeated wrong PINs.

The lockout state lives in the kiosk-local ``operator_lockouts`` table; a
successful login and a lockout are also recorded (``operator.login``,
``operator.locked``) so the hub can audit who worked the van.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlite_utils

from odekake.access import audit, clerk_keys
from odekake.access.auth import (
    DEFAULT_KDF,
    burn_check,
    check_pin,
    hash_pin,
    needs_rehash,
    pin_problem,
    weak_pin_reason,
)
from odekake.access.authz import PermissionDenied
from odekake.errors import NotFound, OdekakeError, ValidationError
from odekake.masterdata.master import set_local_pin
from odekake.storage import records as rec
from odekake.storage.db import device_id_of, write

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
    # Logged in with a PIN shorter than the minimum: must set a new one first.
    must_change_pin: bool = False

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


def _check(
    db: sqlite_utils.Database,
    operator_id: str,
    pin: str,
    *,
    now: datetime,
    action: str,
) -> tuple[str, str, str]:
    """One PIN attempt with the lock-out: the operator's (name, roles, verifier) when right.

    Unknown ids and wrong PINs answer alike (same words, same count to the lock,
    a PIN check's worth of time), so the answer does not tell which ids exist.

    Raises:
        LockedOut: Locked (before the check), or locked by this attempt.
        LoginFailed: Wrong PIN or unknown/inactive id.
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
    if row is None:
        sample = db.execute("SELECT pin_hash FROM operators WHERE active = 1 LIMIT 1").fetchone()
        burn_check(pin, None if sample is None else str(sample[0]))
        ok = False
    else:
        ok = check_pin(pin, str(row[2]))
    actor = oid or "(空欄)"
    with write(db):
        if ok and row is not None:
            db.execute("DELETE FROM operator_lockouts WHERE operator_id = ?", [oid])
            return str(row[0]), str(row[1]), str(row[2])
        detail = {"screen": action} if row is not None else {"screen": action, "known": False}
        audit.log(db, actor, "login.failed", oid, detail, now=now)
        failures = 0 if until is not None else failures
        failures += 1
        locked = None
        if failures >= MAX_FAILURES:
            locked = (now + timedelta(minutes=LOCK_MINUTES)).isoformat()
            rec.append(db, "operator.locked", {"operator_id": oid, "failures": failures}, now=now)
            audit.log(db, actor, "login.locked", oid, {"failures": failures}, now=now)
        db.execute(
            "INSERT INTO operator_lockouts(operator_id, failures, locked_until) VALUES (?,?,?) "
            "ON CONFLICT(operator_id) DO UPDATE SET failures = excluded.failures, "
            "locked_until = excluded.locked_until",
            [oid, 0 if locked else failures, locked],
        )
    if failures >= MAX_FAILURES:
        raise LockedOut(f"PINを{MAX_FAILURES}回誤ったため{LOCK_MINUTES}分間ロックしました")
    raise LoginFailed(f"職員IDまたはPINが違います(あと{MAX_FAILURES - failures}回でロック)")


def login(db: sqlite_utils.Database, operator_id: str, pin: str, *, now: datetime) -> Operator:
    """Check an operator's PIN.

    A hash made with cheaper KDF parameters is upgraded here. A PIN shorter than
    :data:`~odekake.access.auth.MIN_PIN_DIGITS` logs in with ``must_change_pin`` set: the
    kiosk then asks for a new one before anything else.

    Raises:
        LockedOut: The operator is locked (5 wrong PINs in a row, for 15 minutes).
        LoginFailed: Unknown or inactive operator, or a wrong PIN (same answer).
    """
    oid = operator_id.strip()
    name, roles, stored = _check(db, oid, pin, now=now, action="login")
    # A clerk's key (vote records' proof, the sealed roll) opens with the same PIN.
    clerk_keys.unlock(db, oid, pin)
    with write(db):
        if needs_rehash(stored):
            set_local_pin(db, oid, hash_pin(pin))
        rec.append(db, "operator.login", {"operator_id": oid}, now=now)
        audit.log(db, oid, "login", oid, now=now)
    return Operator(
        oid, name, tuple(roles.split(",")), must_change_pin=pin_problem(pin) is not None
    )


def unlock_screen(db: sqlite_utils.Database, operator_id: str, pin: str, *, now: datetime) -> None:
    """Unlock the idle-lock screen: the same lock-out and audit as :func:`login`.

    Raises:
        LockedOut, LoginFailed: As for a login.
    """
    _check(db, operator_id, pin, now=now, action="idle")
    audit.log(db, operator_id.strip(), "login", operator_id.strip(), {"screen": "idle"}, now=now)


def verify_pin(db: sqlite_utils.Database, operator_id: str, pin: str) -> bool:
    """Check a PIN without recording anything (a second person's confirmation)."""
    row = db.execute(
        "SELECT pin_hash FROM operators WHERE id = ? AND active = 1", [operator_id]
    ).fetchone()
    return row is not None and check_pin(pin, str(row[0]))


def change_pin(
    db: sqlite_utils.Database, operator_id: str, old_pin: str, new_pin: str, *, now: datetime
) -> None:
    """Set an operator's own new PIN (at least 6 digits); the old one must be right.

    The new verifier stays on this van (kept across pulls until city hall resets the
    PIN, :func:`odekake.masterdata.master.set_local_pin`); it is not sent to the hub, so a
    stolen van cannot set PINs on other vans. The change itself is recorded
    (``operator.pin_change``) and audited.
    """
    problem = pin_problem(new_pin) or weak_pin_reason(new_pin)
    if problem:
        raise ValidationError(problem, "new_pin")
    if new_pin == old_pin:
        raise ValidationError("今のPINと違う番号にしてください", "new_pin")
    if not verify_pin(db, operator_id, old_pin):
        raise LoginFailed("今のPINが違います")
    verifier = hash_pin(new_pin)
    # The clerk's key is sealed anew under the new PIN (same key: the hub's public
    # halves stay valid).
    row = db.execute("SELECT key_sealed FROM operators WHERE id = ?", [operator_id]).fetchone()
    sealed = str(row[0]) if row is not None and row[0] else ""
    secret = clerk_keys.open_secret(sealed, old_pin) if sealed else None
    resealed = (
        clerk_keys.seal_secret(secret, new_pin, clerk_keys.kdf_of(sealed) or DEFAULT_KDF)
        if secret is not None
        else None
    )
    with write(db):
        set_local_pin(db, operator_id, verifier, resealed)
        rec.append(db, "operator.pin_change", {"operator_id": operator_id}, now=now)
        audit.log(db, operator_id, "pin.change", operator_id, now=now)


def unlock_operator(
    db: sqlite_utils.Database,
    operator_id: str,
    *,
    actor: str,
    now: datetime,
    supervisor_pin: str | None = None,
) -> None:
    """Lift an operator's lock-out (audited).

    On the van ``actor`` is a supervisor and ``supervisor_pin`` is their PIN; on the
    command line (``odekake operators unlock``) the actor is ``cli:<user>``.

    Raises:
        PermissionDenied: ``supervisor_pin`` given and ``actor`` is not an active
            supervisor or the PIN is wrong.
        NotFound: No such operator.
    """
    oid = operator_id.strip()
    if supervisor_pin is not None:
        row = db.execute(
            "SELECT roles FROM operators WHERE id = ? AND active = 1", [actor]
        ).fetchone()
        if (
            row is None
            or "supervisor" not in str(row[0]).split(",")
            or not verify_pin(db, actor, supervisor_pin)
        ):
            audit.log(db, actor, "role.denied", oid, {"action": "operator.unlock"}, now=now)
            raise PermissionDenied(
                "監督者のIDとPINを確認してください(ロック解除は監督者だけができます)"
            )
    if db.execute("SELECT 1 FROM operators WHERE id = ?", [oid]).fetchone() is None:
        raise NotFound(f"職員 {oid} は登録されていません")
    with write(db):
        db.execute("DELETE FROM operator_lockouts WHERE operator_id = ?", [oid])
        audit.log(db, actor, "operator.unlock", oid, {"device": device_id_of(db)}, now=now)
