"""説明/見学 counter: each key press adds visitors (the report's 活動等説明者数)."""

from __future__ import annotations

import sqlite_utils

from odekake.errors import OdekakeError
from odekake.services.common import Actor, require_counter_role
from odekake.services.stops import require_stop
from odekake.storage import records as rec
from odekake.storage.db import write

RECORD_TYPE = "explanation.visit"


def add_visitors(db: sqlite_utils.Database, actor: Actor, people: int = 1) -> rec.Record:
    """Record ``people`` visitors to whom the service was explained."""
    if not 1 <= people <= 1000:
        raise OdekakeError("人数は1〜1000人です")
    require_counter_role(db, actor)
    with write(db):
        require_stop(db, actor.stop_id)
        return rec.append(
            db,
            RECORD_TYPE,
            {"stop_id": actor.stop_id, "people": people, "operator_id": actor.operator_id},
            now=actor.now,
        )


def visitors_at(db: sqlite_utils.Database, stop_id: str) -> int:
    """Visitors counted so far at a stop."""
    return sum(
        int(r.payload.get("people", 0))
        for r in rec.effective(rec.iter_records(db, types=[RECORD_TYPE, rec.VOID]))
        if r.payload and r.payload.get("stop_id") == stop_id and r.type == RECORD_TYPE
    )
