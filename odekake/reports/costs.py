"""The cost table kept at the hub: 事業費 per fiscal year, for the cost per user.

``odekake costs set --db hub.db --fiscal-year 2026 --amount N [--note …]`` stores (or
replaces) a fiscal year's cost; each change is audited. The usage report divides it
by the year's サービス提供者数 (:func:`odekake.reports.council.costs`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import sqlite_utils

from odekake.errors import ValidationError
from odekake.storage.db import write


@dataclass(frozen=True)
class Cost:
    """One fiscal year's 事業費 (yen)."""

    fiscal_year: int
    amount: int
    note: str = ""
    updated_at: str = ""
    updated_by: str = ""


def set_cost(
    db: sqlite_utils.Database,
    fiscal_year: int,
    amount: int,
    *,
    note: str = "",
    actor: str = "system",
    now: datetime | None = None,
) -> tuple[Cost, Cost | None]:
    """Store the cost of ``fiscal_year``; returns (new, replaced or None). Audited.

    Raises:
        ValidationError: A negative amount or an implausible year.
    """
    from odekake.access import audit

    if amount < 0:
        raise ValidationError(f"事業費は0以上の金額(円)で指定してください: {amount}")
    if not 1989 <= fiscal_year <= 2200:
        raise ValidationError(f"年度が正しくありません: {fiscal_year}")
    stamp = (now or datetime.now(UTC)).isoformat(timespec="seconds")
    old = cost_of(db, fiscal_year)
    new = Cost(fiscal_year, amount, note.strip(), stamp, actor)
    with write(db):
        db.execute(
            "INSERT INTO report_costs(fiscal_year, amount, note, updated_at, updated_by) "
            "VALUES (?,?,?,?,?) ON CONFLICT(fiscal_year) DO UPDATE SET amount = excluded.amount, "
            "note = excluded.note, updated_at = excluded.updated_at, "
            "updated_by = excluded.updated_by",
            [fiscal_year, amount, new.note, stamp, actor],
        )
        audit.log(
            db,
            actor,
            "import",
            f"report_costs:{fiscal_year}",
            {
                "kind": "report_cost",
                "amount": amount,
                "old_amount": old.amount if old else None,
            },
            now=now,
        )
    return new, old


def cost_of(db: sqlite_utils.Database, fiscal_year: int) -> Cost | None:
    """A fiscal year's cost, or None when none was set."""
    row = db.execute(
        "SELECT fiscal_year, amount, note, updated_at, updated_by FROM report_costs "
        "WHERE fiscal_year = ?",
        [fiscal_year],
    ).fetchone()
    return Cost(*row) if row else None


def list_costs(db: sqlite_utils.Database) -> list[Cost]:
    """Every stored cost, by fiscal year."""
    return [
        Cost(*row)
        for row in db.execute(
            "SELECT fiscal_year, amount, note, updated_at, updated_by FROM report_costs "
            "ORDER BY fiscal_year"
        )
    ]
