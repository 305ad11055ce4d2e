"""Today's receipts on this van: the list the counter voids and reprints from.

A receipt is any record with a ``receipt_no`` (certificates, ごみ納付券). The list
is read from the local records only; a voided receipt stays in it, marked.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import date, datetime

import sqlite_utils

from odekake.errors import OdekakeError
from odekake.services.common import JST, PAYMENTS, local_date, local_hhmm
from odekake.storage import records as rec
from odekake.storage.db import device_id_of


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


@dataclass(frozen=True)
class VoidInfo:
    """When and by whom a receipt was voided (書損)."""

    at: datetime
    operator_id: str
    operator_name: str
    approved_by: str | None = None

    def when_who(self) -> str:
        """「2026-12-06 10:31 山田 一郎(op001)、承認 sv001」 in JST."""
        when = self.at.astimezone(JST).strftime("%Y-%m-%d %H:%M")
        name = self.operator_name
        who = f"{name}({self.operator_id})" if name else self.operator_id
        approved = f"、承認 {self.approved_by}" if self.approved_by else ""
        return f"{when} {who}{approved}"

    def describe(self) -> str:
        """「書損(無効) 2026-12-06 10:31 山田 一郎(op001)」."""
        return f"{VOID_MARK} {self.when_who()}"


@dataclass(frozen=True)
class ReceiptStatus:
    """One receipt by number: the record holding it and whether it was voided."""

    number: str
    record: rec.Record
    void: VoidInfo | None

    @property
    def voided(self) -> bool:
        return self.void is not None

    @property
    def amount(self) -> int:
        return int((self.record.payload or {}).get("amount", 0))

    @property
    def service(self) -> str:
        return str((self.record.payload or {}).get("service_name", self.record.type))


#: The mark a voided receipt carries wherever it is shown or printed.
VOID_MARK = "書損(無効)"


class ReceiptCodeError(OdekakeError):
    """A scanned receipt code that is not one of this van's receipts."""


def _operator_name(db: sqlite_utils.Database, operator_id: str) -> str:
    row = db.execute("SELECT name FROM operators WHERE id = ?", [operator_id]).fetchone()
    return str(row[0]) if row else ""


def void_of(db: sqlite_utils.Database, record: rec.Record) -> VoidInfo | None:
    """The void (書損) of a record, or None while it stands."""
    for r in rec.iter_records(db, device_id=record.device_id):
        if r.type == rec.VOID and r.supersedes == record.id:
            p = r.payload or {}
            operator_id = str(p.get("operator_id", ""))
            approved = p.get("approved_by")
            return VoidInfo(
                at=r.wall_datetime,
                operator_id=operator_id,
                operator_name=_operator_name(db, operator_id),
                approved_by=str(approved) if approved else None,
            )
    return None


def receipt_status(db: sqlite_utils.Database, number: str) -> ReceiptStatus | None:
    """The receipt holding ``number`` (any device in this database), voided or not."""
    wanted = number.strip()
    for r in rec.iter_records(db):
        if r.type != rec.VOID and (r.payload or {}).get("receipt_no") == wanted:
            return ReceiptStatus(number=wanted, record=r, void=void_of(db, r))
    return None


def read_receipt_code(db: sqlite_utils.Database, text: str) -> ReceiptStatus:
    """This van's receipt from its QR text ``ODEKAKE|<number>|<amount>|<code>``.

    Raises:
        ReceiptCodeError: Not a receipt code, not a receipt of this van, or its
            amount or 確認コード differ from the record (a forged or altered slip).
    """
    parts = text.strip().split("|")
    if len(parts) != 4 or not parts[2].isdigit():
        raise ReceiptCodeError(
            "領収書のQRコードを最後まで読み取れません。もう一度読み取ってください"
        )
    number, amount, code = parts[1], int(parts[2]), parts[3]
    status = receipt_status(db, number)
    if status is None or status.record.device_id != device_id_of(db):
        raise ReceiptCodeError(f"領収番号 {number} はこの車両の領収書ではありません")
    stamped = str((status.record.payload or {}).get("check_code") or "")
    if status.amount != amount or (stamped and stamped != code):
        raise ReceiptCodeError(
            f"領収番号 {number} の金額または確認コードが記録と一致しません。"
            "偽造・改ざんの疑いがあります。監督者に連絡してください"
        )
    return status
