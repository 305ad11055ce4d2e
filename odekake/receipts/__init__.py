"""Receipt and application numbers: sequential per device and fiscal year."""

from __future__ import annotations

from datetime import date

import sqlite_utils

from odekake.storage.db import device_id_of, write


def fiscal_year(day: date) -> int:
    """The fiscal year (April–March) a day belongs to, by its starting calendar year."""
    return day.year if day.month >= 4 else day.year - 1


def format_receipt_no(device_id: str, fy: int, n: int) -> str:
    """``R2025-van-1-000123``: prefix, fiscal year, device, six-digit sequence."""
    return f"R{fy}-{device_id}-{n:06d}"


def next_number(db: sqlite_utils.Database, prefix: str, json_field: str) -> int:
    """The next value of a per-prefix counter, never reused.

    The counter lives in ``counters``; the records are consulted too, so numbers
    stay unique even for records written before the counter existed (the demo).
    Call inside the write transaction of the record that uses the number.
    """
    with write(db):
        row = db.execute("SELECT value FROM counters WHERE name = ?", [prefix]).fetchone()
        counted = 0 if row is None else int(row[0])
        found = db.execute(
            f"SELECT MAX(json_extract(payload, '$.{json_field}')) FROM records "
            f"WHERE json_extract(payload, '$.{json_field}') LIKE ?",
            [prefix + "%"],
        ).fetchone()
        recorded = 0 if found is None or found[0] is None else int(str(found[0]).rsplit("-", 1)[1])
        value = max(counted, recorded) + 1
        db.execute(
            "INSERT INTO counters(name, value) VALUES (?, ?) "
            "ON CONFLICT(name) DO UPDATE SET value = excluded.value",
            [prefix, value],
        )
    return value


def next_receipt_no(db: sqlite_utils.Database, day: date) -> str:
    """The next unused receipt number on this device for the day's fiscal year.

    Voided receipts keep their numbers (marked 書損) and purged records keep their
    place in the counter, so a number is never reused.
    """
    device = device_id_of(db)
    fy = fiscal_year(day)
    n = next_number(db, f"R{fy}-{device}-", "receipt_no")
    return format_receipt_no(device, fy, n)
