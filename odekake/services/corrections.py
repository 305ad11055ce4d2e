"""Corrections: a supervisor replaces a record with a corrected copy.

Nothing is updated in place: the correction is a new record of the same type whose
``supersedes`` names the old one, so reports count it once and the chain keeps both.
Only supervisors may correct (checked here, in the core) and every correction is in
the audit log. Personal fields sealed to city hall cannot be read on the van, so they
are corrected at city hall, not here.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlite_utils

from odekake.access import audit, authz
from odekake.errors import OdekakeError, ValidationError
from odekake.storage import records as rec
from odekake.storage.db import write
from odekake.storage.sealing import is_personal_key

# Fields that tie a record to its place in the log; a correction never changes them.
FIXED_FIELDS = frozenset({"receipt_no", "application_no", "acceptance_no", "sealed"})


def correct(
    db: sqlite_utils.Database,
    record_id: str,
    changes: dict[str, Any],
    *,
    operator_id: str,
    reason: str,
    now: datetime | None = None,
) -> rec.Record:
    """Append a corrected copy of a record that supersedes it.

    Raises:
        PermissionDenied: The operator is not a supervisor.
        ValidationError: No reason, no change, or a field that may not change.
        OdekakeError: The record was already corrected or voided, or purged.
    """
    authz.require(db, operator_id, "correct")
    if not reason.strip():
        raise ValidationError("訂正の理由を入力してください", "reason")
    if not changes:
        raise ValidationError("訂正する項目がありません", "changes")
    fixed = sorted(k for k in changes if k in FIXED_FIELDS)
    if fixed:
        raise ValidationError(f"この項目は訂正できません: {', '.join(fixed)}", fixed[0])
    if "people" in changes and not (isinstance(changes["people"], int) and changes["people"] >= 0):
        raise ValidationError("人数は0以上の整数です", "people")
    with write(db):
        target = rec.get(db, record_id)
        if target.type == rec.VOID:
            raise OdekakeError("取消の記録は訂正できません")
        later = db.execute("SELECT type FROM records WHERE supersedes = ?", [record_id]).fetchone()
        if later is not None:
            raise OdekakeError(
                "この記録はすでに訂正または取消されています(最新の記録を訂正してください)"
            )
        if target.payload is None:
            raise OdekakeError("保存期間を過ぎて内容が消去された記録は訂正できません")
        if "sealed" in target.payload and any(is_personal_key(k, target.type) for k in changes):
            raise OdekakeError(
                "封印された個人情報は車両では訂正できません。市役所で訂正してください"
            )
        payload = {**target.payload, **changes, "correction": {"reason": reason, "by": operator_id}}
        new = rec.append(db, target.type, payload, supersedes=record_id, now=now)
        audit.log(
            db, operator_id, "record.correct", record_id, {"new": new.id, "fields": sorted(changes)}
        )
    return new
