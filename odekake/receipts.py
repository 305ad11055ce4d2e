"""Receipt and application numbers: sequential per device and fiscal year."""

from __future__ import annotations

from datetime import date

import sqlite_utils

from odekake.db import device_id_of


def fiscal_year(day: date) -> int:
    """The fiscal year (April–March) a day belongs to, by its starting calendar year."""
    return day.year if day.month >= 4 else day.year - 1


def format_receipt_no(device_id: str, fy: int, n: int) -> str:
    """``R2025-van-1-000123``: prefix, fiscal year, device, six-digit sequence."""
    return f"R{fy}-{device_id}-{n:06d}"


def next_receipt_no(db: sqlite_utils.Database, day: date) -> str:
    """The next unused receipt number on this device for the day's fiscal year.

    Voided receipts keep their numbers (marked 書損), so the sequence has no reuse.
    Call inside the same write transaction as the record that uses it.
    """
    device = device_id_of(db)
    fy = fiscal_year(day)
    prefix = f"R{fy}-{device}-"
    row = db.execute(
        "SELECT MAX(json_extract(payload, '$.receipt_no')) FROM records "
        "WHERE device_id = ? AND json_extract(payload, '$.receipt_no') LIKE ?",
        [device, prefix + "%"],
    ).fetchone()
    last = 0 if row is None or row[0] is None else int(str(row[0]).rsplit("-", 1)[1])
    return format_receipt_no(device, fy, last + 1)
