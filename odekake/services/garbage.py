"""ごみ納付券 (garbage fee ticket) sales."""

from __future__ import annotations

from typing import Any

import sqlite_utils

from odekake.masterdata import catalog
from odekake.receipts import next_receipt_no
from odekake.services.common import (
    PAYMENTS,
    Actor,
    Form,
    addressee_fields,
    require_counter_role,
)
from odekake.services.dayclose import require_day_open
from odekake.services.stops import require_stop
from odekake.storage import records as rec
from odekake.storage.db import write

RECORD_TYPE = "garbage.sell"


def ticket_kinds(db: sqlite_utils.Database) -> list[catalog.Service]:
    """The ticket kinds in the ``services`` table."""
    return catalog.services(db, "garbage")


def validate(db: sqlite_utils.Database, values: dict[str, Any], actor: Actor) -> dict[str, Any]:
    """Check the sale; return the payload (without ``receipt_no``)."""
    form = Form(values)
    kinds = {s.code: s for s in ticket_kinds(db)}
    code = form.choice("service_code", "券の種類", list(kinds))
    quantity = form.integer("quantity", "枚数", lo=1, hi=20)
    payment = form.choice("payment", "支払方法", list(PAYMENTS))
    fee_each = form.fee(db, code, actor.day)
    addressee = form.text("addressee", "宛名", required=False, max_len=40)
    form.raise_if_any()
    return {
        "stop_id": actor.stop_id,
        "people": 1,
        "service_code": code,
        "service_name": kinds[code].name,
        "quantity": quantity,
        "fee_each": fee_each,
        "amount": fee_each * quantity,
        "payment": payment,
        "operator_id": actor.operator_id,
        **addressee_fields(addressee),
    }


def sell(db: sqlite_utils.Database, values: dict[str, Any], actor: Actor) -> rec.Record:
    """Validate and record one sale with the next receipt number."""
    payload = validate(db, values, actor)
    require_counter_role(db, actor)
    with write(db):
        require_stop(db, actor.stop_id)
        if payload["amount"] > 0:
            require_day_open(db, actor.day)
        payload["receipt_no"] = next_receipt_no(db, actor.day)
        return rec.append(db, RECORD_TYPE, payload, now=actor.now)
