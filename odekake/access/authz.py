"""Roles, enforced in the core (not only hidden in the UI).

Only election clerks (or supervisors) touch the roll; only supervisors void
receipts or correct records. A refused attempt is written to the audit log.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlite_utils

from odekake.access import audit
from odekake.errors import NotFound, OdekakeError

# The roles an operator on a van may hold (master data of operators refers to these).
ROLES = ("operator", "clerk", "supervisor")
ROLE_LABELS = {"operator": "窓口担当", "clerk": "投票事務従事者", "supervisor": "監督者"}

# Which roles may do what. Supervisors may do everything an operator may.
PERMISSIONS: dict[str, frozenset[str]] = {
    "serve": frozenset({"operator", "supervisor"}),
    "void": frozenset({"supervisor"}),
    "correct": frozenset({"supervisor"}),
    "roll": frozenset({"clerk", "supervisor"}),
    "vote": frozenset({"clerk", "supervisor"}),
    "reopen_day": frozenset({"supervisor"}),
    "export": frozenset({"supervisor"}),
}


@dataclass(frozen=True)
class Approval:
    """A supervisor's id and PIN typed at the counter for ONE action of the operator.

    The PIN is checked in the same call as the action (:func:`require`), so one
    typing authorises exactly one action; nothing is remembered afterwards.
    """

    supervisor_id: str
    pin: str


class PermissionDenied(OdekakeError):
    """The operator's roles do not allow the action."""


def roles_of(db: sqlite_utils.Database, operator_id: str) -> set[str]:
    """The active roles of an operator."""
    row = db.execute("SELECT roles, active FROM operators WHERE id = ?", [operator_id]).fetchone()
    if row is None:
        raise NotFound(f"職員IDがありません: {operator_id}")
    if not row[1]:
        return set()
    return {r for r in str(row[0]).split(",") if r}


def require(
    db: sqlite_utils.Database, operator_id: str, action: str, approval: Approval | None = None
) -> str | None:
    """Raise :class:`PermissionDenied` (and audit it) unless the operator may act.

    An operator without the role may still act when a supervisor's ``approval``
    (id + PIN, checked here) covers it; the approval is audited under the
    supervisor's id, naming the operator, and the caller's own audit entry names
    the supervisor (``approved_by``), so both show.

    Returns:
        The approving supervisor's id, or None when the operator's own roles sufficed.
    """
    allowed = PERMISSIONS[action]
    if roles_of(db, operator_id) & allowed:
        return None
    need = "・".join(ROLE_LABELS[r] for r in sorted(allowed))
    if approval is not None:
        from odekake.access.auth import check_pin

        sid = approval.supervisor_id.strip()
        row = db.execute(
            "SELECT pin_hash FROM operators WHERE id = ? AND active = 1", [sid]
        ).fetchone()
        if row is None or not check_pin(approval.pin, str(row[0])):
            audit.log(db, sid or "(空欄)", "login.failed", sid, {"approval_for": operator_id})
            raise PermissionDenied("監督者の職員IDまたはPINが違います")
        if not roles_of(db, sid) & allowed:
            audit.log(db, sid, "role.denied", action, {"approval_for": operator_id})
            raise PermissionDenied(f"承認する職員に {need} の権限がありません")
        audit.log(db, sid, "approval", action, {"operator_id": operator_id})
        return sid
    audit.log(db, operator_id, "role.denied", action)
    raise PermissionDenied(f"この操作には {need} の権限が必要です")


# What each console (staff) role may do. The console asks here, never by hiding buttons.
STAFF_PERMISSIONS: dict[str, frozenset[str]] = {
    "console.home": frozenset({"coordinator", "manager", "election", "admin"}),
    "plan.view": frozenset({"coordinator", "manager", "admin"}),
    "plan.edit": frozenset({"coordinator"}),
    "plan.publish": frozenset({"coordinator"}),
    "staff.manage": frozenset({"admin"}),
    "report.view": frozenset({"manager", "admin"}),
    "report.import": frozenset({"manager"}),
    "device.manage": frozenset({"admin"}),
    "audit.view": frozenset({"admin"}),
    "site.edit": frozenset({"admin", "coordinator"}),
    "election.manage": frozenset({"election"}),
}


def staff_may(role: str, action: str) -> bool:
    """True when a staff role allows the action."""
    return role in STAFF_PERMISSIONS[action]


def staff_role(db: sqlite_utils.Database, login: str) -> str | None:
    """The active staff member's role, or None (unknown or disabled login)."""
    row = db.execute("SELECT role, active FROM staff WHERE login = ?", [login]).fetchone()
    return str(row[0]) if row is not None and row[1] else None


def require_staff(db: sqlite_utils.Database, login: str, action: str) -> str:
    """The staff member's role; :class:`PermissionDenied` (audited) unless it allows ``action``.

    The role is read from the database on every call, so a disabled account or a
    changed role takes effect at once, whatever the session cookie says.
    """
    from odekake.access.staff import STAFF_ROLES

    role = staff_role(db, login)
    if role and staff_may(role, action):
        return role
    audit.log(db, f"staff:{login}", "role.denied", action)
    need = "・".join(STAFF_ROLES[r] for r in sorted(STAFF_PERMISSIONS[action]))
    raise PermissionDenied(f"この操作には {need} の権限が必要です")
