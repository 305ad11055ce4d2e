"""Roles, enforced in the core (not only hidden in the UI).

Only election clerks (or supervisors) touch the roll; only supervisors void
receipts or correct records. A refused attempt is written to the audit log.
"""

from __future__ import annotations

import sqlite_utils

from odekake import audit
from odekake.errors import NotFound, OdekakeError
from odekake.master import ROLE_LABELS

# Which roles may do what. Supervisors may do everything an operator may.
PERMISSIONS: dict[str, frozenset[str]] = {
    "serve": frozenset({"operator", "supervisor"}),
    "void": frozenset({"supervisor"}),
    "correct": frozenset({"supervisor"}),
    "roll": frozenset({"clerk", "supervisor"}),
    "vote": frozenset({"clerk", "supervisor"}),
}


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


def require(db: sqlite_utils.Database, operator_id: str, action: str) -> None:
    """Raise :class:`PermissionDenied` (and audit it) unless the operator may act."""
    allowed = PERMISSIONS[action]
    if roles_of(db, operator_id) & allowed:
        return
    audit.log(db, operator_id, "role.denied", action)
    need = "・".join(ROLE_LABELS[r] for r in sorted(allowed))
    raise PermissionDenied(f"この操作には {need} の権限が必要です")
