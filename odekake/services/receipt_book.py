"""Today's receipts on this van: the list the counter voids and reprints from.

A receipt is any record with a ``receipt_no`` (certificates, ごみ納付券). The list
is read from the local records only; a voided receipt stays in it, marked.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import date

import sqlite_utils

from odekake import records as rec
from odekake.db import device_id_of
from odekake.services.common import PAYMENTS, local_date, local_hhmm


@dataclass(frozen=True)
class ReceiptEntry:
    """One receipt of the day, as the counter list shows it."""

    number: str
    record_id: str
    time: str
    service: str
    amount: int
    payment: str
    type: str
    voided: bool

    @property
    def payment_label(self) -> str:
        """現金 or キャッシュレス."""
        return PAYMENTS.get(self.payment, self.payment)


def receipts_on(db: sqlite_utils.Database, day: date) -> list[ReceiptEntry]:
    """This van's receipts issued on a JST day, oldest first (voided ones marked)."""
    dev = device_id_of(db)
    items = list(rec.iter_records(db, device_id=dev))
    voided = {r.supersedes for r in items if r.type == rec.VOID and r.supersedes}
    out: list[ReceiptEntry] = []
    for r in items:
        p = r.payload or {}
        if r.type == rec.VOID or not p.get("receipt_no"):
            continue
        when = r.wall_datetime
        if local_date(when) != day:
            continue
        out.append(
            ReceiptEntry(
                number=str(p["receipt_no"]),
                record_id=r.id,
                time=local_hhmm(when),
                service=str(p.get("service_name", r.type)),
                amount=int(p.get("amount", 0)),
                payment=str(p.get("payment", "")),
                type=r.type,
                voided=r.id in voided,
            )
        )
    return out


def search(entries: list[ReceiptEntry], query: str) -> list[ReceiptEntry]:
    """The entries matching every word of ``query`` in their number, service or time.

    Full-width digits and letters count as half-width; ``1030`` matches 10:30.
    """
    words = unicodedata.normalize("NFKC", query).lower().split()
    if not words:
        return list(entries)

    def hay(e: ReceiptEntry) -> str:
        return (
            f"{e.number} {e.service} {e.time} {e.time.replace(':', '')} {e.payment_label}".lower()
        )

    return [e for e in entries if all(w in hay(e) for w in words)]


def get_entry(db: sqlite_utils.Database, day: date, number: str) -> ReceiptEntry | None:
    """One of the day's receipts by number."""
    return next((e for e in receipts_on(db, day) if e.number == number.strip()), None)


@dataclass(frozen=True)
class IssuedAt:
    """Where and by whom a receipt was issued (printed on it)."""

    site: str
    issuer: str


def issued_at(db: sqlite_utils.Database, record: rec.Record) -> IssuedAt:
    """The site of the record's stop and the issuing operator's name (for a reprint)."""
    from odekake.errors import NotFound
    from odekake.services.stops import get_stop

    p = record.payload or {}
    try:
        site = get_stop(db, str(p.get("stop_id", ""))).site_name
    except NotFound:
        site = ""
    row = db.execute("SELECT name FROM operators WHERE id = ?", [p.get("operator_id")]).fetchone()
    return IssuedAt(site=site, issuer=str(row[0]) if row else str(p.get("operator_id", "")))
