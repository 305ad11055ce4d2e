"""相談 (consultation): category, remote or not, referral from master data.

No free-text notes: health details stay out of the record by design.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlite_utils

from odekake.services.common import Actor, Form, require_counter_role
from odekake.services.stops import require_stop
from odekake.storage import records as rec
from odekake.storage.db import write

RECORD_TYPE = "consultation.hold"
TOPICS: tuple[str, ...] = (
    "福祉",
    "介護",
    "税",
    "年金",
    "子育て",
    "生活困窮",
    "孤独・孤立",
    "その他",
)


@dataclass(frozen=True)
class Referral:
    """A department or support organisation a consultation can be referred to."""

    id: str
    name: str
    kind: str


def referrals(db: sqlite_utils.Database) -> list[Referral]:
    """Active referral destinations in display order."""
    return [
        Referral(r[0], r[1], r[2])
        for r in db.execute(
            "SELECT id, name, kind FROM referrals WHERE active = 1 ORDER BY sort, id"
        )
    ]


def validate(db: sqlite_utils.Database, values: dict[str, Any], actor: Actor) -> dict[str, Any]:
    """Check the form; return the payload."""
    form = Form(values)
    topic = form.choice("topic", "相談の分野", TOPICS)
    known = {r.id: r for r in referrals(db)}
    ref_id = values.get("referral_id") or None
    if ref_id is not None and ref_id not in known:
        form.fail("referral_id", f"つなぎ先が登録されていません({ref_id})")
    form.raise_if_any()
    return {
        "stop_id": actor.stop_id,
        "people": 1,
        "topic": topic,
        "remote": form.flag("remote"),
        "referral": known[ref_id].name if ref_id else None,
        "referral_id": ref_id,
        "operator_id": actor.operator_id,
    }


def hold(db: sqlite_utils.Database, values: dict[str, Any], actor: Actor) -> rec.Record:
    """Validate and record one consultation."""
    payload = validate(db, values, actor)
    require_counter_role(db, actor)
    with write(db):
        require_stop(db, actor.stop_id)
        return rec.append(db, RECORD_TYPE, payload, now=actor.now)
