"""Closing the day (日計表): cash reconciliation and today's services by category.

Expected cash = change float + Σ cash fees of today's effective receipts; it is
compared with the cash counted by denomination. Cashless fees are compared with
the payment terminal's total. Any difference needs a reason.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

import sqlite_utils

from odekake.access import audit, authz
from odekake.errors import OdekakeError
from odekake.masterdata.catalog import CATEGORIES, SERVICE_RECORD_TYPES
from odekake.services.common import Form, local_date, local_hhmm
from odekake.services.stops import stops_on
from odekake.storage import records as rec
from odekake.storage.db import device_id_of, write
from odekake.storage.sealing import SEALED_TEXT

RECORD_TYPE = "day.close"
REOPEN_TYPE = "day.reopen"
# Report categories whose services take a fee: refused once the day's 日計 is closed.
FEE_CATEGORIES: frozenset[str] = frozenset({"certificate", "garbage"})
DENOMINATIONS: tuple[int, ...] = (10000, 5000, 1000, 500, 100, 50, 10, 5, 1)


@dataclass
class DaySummary:
    """What today's records add up to."""

    day: date
    stops: int = 0
    open_stops: list[str] = field(default_factory=list)
    cash_fees: int = 0
    cashless_fees: int = 0
    receipts: list[str] = field(default_factory=list)
    voided: list[str] = field(default_factory=list)
    by_category: dict[str, int] = field(default_factory=dict)
    closed: bool = False
    voided_amounts: dict[str, int] = field(default_factory=dict)
    reopenings: list[dict[str, Any]] = field(default_factory=list)


class DayClosed(OdekakeError):
    """The day's 日計 is closed on this van: no fee may be taken until a supervisor re-opens it."""


def day_events(db: sqlite_utils.Database, day: date) -> list[rec.Record]:
    """This van's ``day.close`` and ``day.reopen`` records of a day, in order."""
    dev = device_id_of(db)
    return [
        r
        for r in rec.iter_records(db, device_id=dev, types=[RECORD_TYPE, REOPEN_TYPE])
        if r.payload and r.payload.get("date") == day.isoformat()
    ]


def close_number(db: sqlite_utils.Database, record: rec.Record) -> int:
    """Which close of its day a ``day.close`` record is (1 for the first)."""
    day = date.fromisoformat(str((record.payload or {})["date"]))
    closes = [r.id for r in day_events(db, day) if r.type == RECORD_TYPE]
    return closes.index(record.id) + 1 if record.id in closes else len(closes) + 1


def is_closed(db: sqlite_utils.Database, day: date) -> bool:
    """True when the day's last close on this van has not been re-opened since."""
    events = day_events(db, day)
    return bool(events) and events[-1].type == RECORD_TYPE


def require_day_open(db: sqlite_utils.Database, day: date) -> None:
    """Refuse taking a fee on a day whose 日計 is closed (call inside the write)."""
    if is_closed(db, day):
        raise DayClosed(
            f"{day.isoformat()} の日計は締め済みです。手数料の収納はできません"
            "(監督者が日計を再開すると受け付けられます)"
        )


def reopen_day(
    db: sqlite_utils.Database,
    day: date,
    *,
    operator_id: str,
    reason: str,
    now: Any,
    approval: authz.Approval | None = None,
) -> rec.Record:
    """Re-open a closed 日計 (``day.reopen``): supervisors only, audited.

    Raises:
        PermissionDenied: Neither the operator nor an approving supervisor is a 監督者.
        OdekakeError: The day is not closed, or no reason was given.
    """
    reason = reason.strip()
    if not reason:
        raise OdekakeError("日計を再開する理由を入力してください")
    supervisor = authz.require(db, operator_id, "reopen_day", approval) or operator_id
    with write(db):
        if not is_closed(db, day):
            raise OdekakeError(f"{day.isoformat()} の日計は締めていません")
        audit.log(
            db,
            operator_id,
            "day.reopen",
            day.isoformat(),
            {"supervisor_id": supervisor},
            now=now,
        )
        return rec.append(
            db,
            REOPEN_TYPE,
            {
                "date": day.isoformat(),
                "van_id": device_id_of(db),
                "operator_id": operator_id,
                "supervisor_id": supervisor,
                "reason": reason[:100],
                "at": local_hhmm(now),
            },
            now=now,
        )


def summarise(db: sqlite_utils.Database, day: date) -> DaySummary:
    """Totals for one JST day, after corrections and voids."""
    stops = stops_on(db, day)
    ids = {s.stop_id for s in stops}
    out = DaySummary(
        day=day, stops=len(stops), open_stops=[s.site_name for s in stops if not s.closed]
    )
    everything = list(rec.iter_records(db))
    by_id = {r.id: r for r in everything}
    for r in everything:
        if r.type == rec.VOID and r.payload and r.payload.get("receipt_no"):
            # A void belongs to the day of the receipt it voids (the counter refuses
            # any other day's receipt, so that is also the day it was made).
            target = by_id.get(r.supersedes or "")
            if target and target.payload and target.payload.get("stop_id") in ids:
                no = str(r.payload["receipt_no"])
                out.voided.append(no)
                out.voided_amounts[no] = int(target.payload.get("amount", 0))
    events = day_events(db, day)
    out.closed = bool(events) and events[-1].type == RECORD_TYPE
    out.reopenings = [
        {
            "at": str(e.payload.get("at", "")),
            "supervisor_id": str(e.payload.get("supervisor_id", "")),
            "operator_id": str(e.payload.get("operator_id", "")),
            # sealed to city hall: the van no longer reads it
            "reason": str(
                e.payload.get("reason") or (SEALED_TEXT if "sealed" in e.payload else "")
            ),
        }
        for e in events
        if e.type == REOPEN_TYPE and e.payload
    ]
    for r in rec.effective(everything):
        p = r.payload
        if not p or p.get("stop_id") not in ids or r.type not in SERVICE_RECORD_TYPES:
            continue
        cat = SERVICE_RECORD_TYPES[r.type]
        out.by_category[cat] = out.by_category.get(cat, 0) + int(p.get("people", 1))
        if "amount" in p and p.get("receipt_no"):
            out.receipts.append(str(p["receipt_no"]))
            if p.get("payment") == "cash":
                out.cash_fees += int(p["amount"])
            else:
                out.cashless_fees += int(p["amount"])
    return out


def cash_totals(change_float: int, counts: dict[int, int], summary: DaySummary) -> tuple[int, int]:
    """(expected cash: the change float plus the day's cash fees, counted cash: the notes
    and coins by denomination) — the two figures the 日計 compares."""
    return change_float + summary.cash_fees, sum(d * n for d, n in counts.items())


def close_day(
    db: sqlite_utils.Database, values: dict[str, Any], *, operator_id: str, now: Any
) -> rec.Record:
    """Validate the count and record ``day.close``.

    ``values``: ``change_float``, ``count_<denomination>`` for each denomination,
    ``cashless_terminal`` (the terminal's total), ``reason`` (needed on any difference).
    """
    day = local_date(now)
    summary = summarise(db, day)
    if summary.open_stops:
        raise OdekakeError(
            f"開いている会場があります({'、'.join(summary.open_stops)})。先に閉じてください"
        )
    if summary.closed:
        raise OdekakeError(f"{day.isoformat()} の日計はすでに締めてあります")
    form = Form(values)
    change_float = form.integer("change_float", "釣銭準備金", lo=0, hi=1_000_000)
    counted = {
        str(d): form.integer(f"count_{d}", f"{d}円の枚数", lo=0, hi=10_000, default=0)
        for d in DENOMINATIONS
    }
    terminal = form.integer(
        "cashless_terminal", "端末のキャッシュレス合計", lo=0, hi=10_000_000, default=0
    )
    expected, counted_total = cash_totals(
        change_float, {int(d): n for d, n in counted.items()}, summary
    )
    cash_diff = counted_total - expected
    cashless_diff = terminal - summary.cashless_fees
    reason = form.text("reason", "差額の理由", required=False, max_len=100)
    if (cash_diff or cashless_diff) and not reason and "change_float" not in form.errors:
        form.fail(
            "reason",
            f"差額があります(現金 {cash_diff:+,}円、キャッシュレス {cashless_diff:+,}円)。理由を入力してください",
        )
    form.raise_if_any()
    payload = {
        "date": day.isoformat(),
        "operator_id": operator_id,
        "change_float": change_float,
        "cash_fees": summary.cash_fees,
        "expected_cash": expected,
        "counted": counted,
        "counted_total": counted_total,
        "cash_difference": cash_diff,
        "cashless_fees": summary.cashless_fees,
        "cashless_terminal": terminal,
        "cashless_difference": cashless_diff,
        "reason": reason or None,
        "stops": summary.stops,
        "by_category": summary.by_category,
        "receipts": summary.receipts,
        "voided_receipts": summary.voided,
        "voided_amounts": summary.voided_amounts,
        "reopenings": summary.reopenings,
        "van_id": device_id_of(db),
    }
    with write(db):
        stored = rec.append(db, RECORD_TYPE, payload, now=now)
    # The reason is sealed in the stored record; the 日計表 printed now shows what was typed.
    return replace(stored, payload={**(stored.payload or {}), "reason": reason or None})


def category_label(category: str) -> str:
    """The report column name of a category."""
    return CATEGORIES.get(category, category)
