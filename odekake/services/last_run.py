"""Did the kiosk stop cleanly last time? If not, what was the last record it saved.

The kiosk marks the van database as in use when it starts (``meta``) and clears the
mark when it stops. A mark found at start means the last run ended without that:
a crash, a power cut, a ``kill -9``. The operator is then told the last record that
had committed before it, so a receipt saved just before the crash is not taken
again (a saved record is never lost: :func:`odekake.storage.db.write`).
"""

from __future__ import annotations

from datetime import datetime

import sqlite_utils

from odekake.masterdata.catalog import CATEGORIES, SERVICE_RECORD_TYPES
from odekake.services.common import JST
from odekake.storage import records as rec
from odekake.storage.db import device_id_of, get_meta, set_meta, write

RUNNING_META = "kiosk_running_since"

#: Names for record types that are not services.
_OTHER_LABELS = {
    "stop.open": "会場を開く",
    "stop.close": "会場を閉じる",
    "day.close": "日計の締め",
    "day.reopen": "日計の再開",
    rec.VOID: "書損",
}


def begin(db: sqlite_utils.Database, now: datetime) -> str | None:
    """Mark the van database as in use; the notice for an unclean last run, or None."""
    notice = None
    if get_meta(db, RUNNING_META):
        notice = unclean_notice(db)
    with write(db):
        set_meta(db, RUNNING_META, now.isoformat())
    return notice


def end(db: sqlite_utils.Database) -> None:
    """Clear the mark: this run ended cleanly."""
    with write(db):
        db.execute("DELETE FROM meta WHERE key = ?", [RUNNING_META])


def describe(record: rec.Record) -> str:
    """「証明書 R2026-van-1-000003(11/24 10:31)」: a record as the operator knows it."""
    p = record.payload or {}
    kind = SERVICE_RECORD_TYPES.get(record.type)
    label = CATEGORIES.get(kind, kind) if kind else _OTHER_LABELS.get(record.type, record.type)
    number = p.get("receipt_no") or p.get("application_no") or p.get("acceptance_no") or ""
    when = record.wall_datetime.astimezone(JST).strftime("%m/%d %H:%M")
    return f"{label} {number}({when})".replace(" (", "(")


def unclean_notice(db: sqlite_utils.Database) -> str:
    """What the operator reads after an unclean stop: the last record saved before it."""
    last = None
    for r in rec.iter_records(db, device_id=device_id_of(db)):
        last = r
    head = "前回、端末は正常に終了しませんでした(停電・強制終了など)。"
    if last is None:
        return head + "保存された記録はありません。"
    return (
        head + f"最後に保存された記録: {describe(last)}。"
        "それより後の入力は保存されていません。利用者に確認してください"
    )
