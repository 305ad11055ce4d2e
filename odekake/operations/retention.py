"""Retention: personal data on the van is purged N days after the hub acknowledged it.

Only acknowledgements the hub signed count (their signed answer is kept in
``hub_acks.evidence`` and checked again at every purge against the pinned hub key).

Only records that hold personal data (a sealed envelope or a personal key) lose
their payload; the hash stays, so the chain still verifies, and records that hold
only counts (stops, frailty participants, visitors) stay whole for the van's own
summaries. The hub keeps everything the reports need.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlite_utils

from odekake.access import audit
from odekake.storage.db import device_id_of, write
from odekake.storage.records import utc_now
from odekake.storage.sealing import is_personal_key
from odekake.sync.wire import SignedAnswer, acked_by_evidence, proven_body


@dataclass(frozen=True)
class PurgePlan:
    """What a purge removes (or would remove with ``--dry-run``)."""

    record_ids: list[str]
    acked_through: int
    cutoff: str
    days: int
    signed_ack: int = 0  # the hub's signed acknowledgement, old enough for the period
    backup_mark: int = 0  # the hub's signed backup mark

    @property
    def count(self) -> int:
        """How many payloads go."""
        return len(self.record_ids)

    def describe(self, *, dry_run: bool = False) -> str:
        """Japanese summary: how many, up to which record, and which limit decided it."""
        verb = "消去対象" if dry_run else "消去しました"
        head = f"{verb}: {self.count} 件({self.acked_through} 番まで、保存期間 {self.days} 日)。"
        if self.backup_mark < self.signed_ack:
            why = (
                f"上限はバックアップの記録 {self.backup_mark} 番です: 市役所の受領確認は "
                f"{self.signed_ack} 番までですが、検証済みのバックアップにあるのは "
                f"{self.backup_mark} 番までなので、それより後の個人情報はバックアップが取れるまで"
                "車両に残します。"
            )
        else:
            why = (
                f"上限は市役所の受領確認 {self.signed_ack} 番です(受領から保存期間を過ぎたもの。"
                f"バックアップは {self.backup_mark} 番まで)。"
            )
        return head + why


def retention_days(db: sqlite_utils.Database) -> int:
    """The retention period from master data (``settings.retention_days``)."""
    row = db.execute("SELECT value FROM settings WHERE key = 'retention_days'").fetchone()
    return 30 if row is None else int(row[0])


def record_ack(
    db: sqlite_utils.Database, answer: SignedAnswer, when: datetime | None = None
) -> None:
    """Remember the hub's signed acknowledgement (its proof is kept for the purge)."""
    with write(db):
        db.execute(
            "INSERT INTO hub_acks(seq, acked_at, evidence) VALUES (?, ?, ?)",
            [
                int(answer.data["acked_seq"]),
                (when or utc_now()).isoformat(timespec="milliseconds"),
                answer.evidence(),
            ],
        )


def signed_through(db: sqlite_utils.Database, cutoff: str) -> int:
    """The highest mark acknowledged by or before ``cutoff`` that the hub signed for.

    An acknowledgement counts only when its stored answer still verifies with a hub
    key this van pinned; the mark is the one the signed answer states.
    """
    device = device_id_of(db)
    for seq, evidence in db.execute(
        "SELECT seq, evidence FROM hub_acks WHERE acked_at <= ? ORDER BY seq DESC", [cutoff]
    ).fetchall():
        proven = acked_by_evidence(db, evidence, device)
        if proven is not None:
            return min(int(seq), proven)
    return 0


def record_backup_mark(db: sqlite_utils.Database, answer: SignedAnswer) -> None:
    """Remember the hub's signed backup mark (what a verified hub backup holds)."""
    device = device_id_of(db)
    with write(db):
        db.execute(
            "INSERT INTO sync_state(device_id, backup_seq, backup_evidence) VALUES (?, ?, ?) "
            "ON CONFLICT(device_id) DO UPDATE SET backup_seq = excluded.backup_seq, "
            "backup_evidence = excluded.backup_evidence",
            [device, int(answer.data["backup_seq"]), answer.evidence()],
        )


def backup_through(db: sqlite_utils.Database) -> int:
    """The hub's backup mark for this van, when the hub signed it (else 0: purge nothing)."""
    device = device_id_of(db)
    row = db.execute(
        "SELECT backup_evidence FROM sync_state WHERE device_id = ?", [device]
    ).fetchone()
    data = proven_body(db, None if row is None else row[0], device)
    try:
        return 0 if data is None else int(data["backup_seq"])
    except (KeyError, TypeError, ValueError):
        return 0


def _holds_personal(payload_text: str) -> bool:
    payload = json.loads(payload_text)
    return "sealed" in payload or any(is_personal_key(k) for k in payload)


def plan_purge(
    db: sqlite_utils.Database, *, now: datetime | None = None, days: int | None = None
) -> PurgePlan:
    """Which records' personal data may go.

    A record goes when the hub acknowledged it at least ``days`` ago (a signed
    acknowledgement) AND the hub says, signed, that a verified backup holds it (the
    backup mark): a hub that loses its disk and is restored from that backup still
    has every record the van purged.
    """
    keep = retention_days(db) if days is None else days
    cutoff = ((now or utc_now()) - timedelta(days=keep)).isoformat(timespec="milliseconds")
    acked, backed_up = signed_through(db, cutoff), backup_through(db)
    through = min(acked, backed_up)
    ids = [
        r[0]
        for r in db.execute(
            "SELECT id, payload FROM records WHERE seq <= ? AND payload IS NOT NULL ORDER BY seq",
            [through],
        )
        if _holds_personal(r[1])
    ]
    return PurgePlan(ids, through, cutoff, keep, acked, backed_up)


def purge(
    db: sqlite_utils.Database,
    *,
    actor: str = "system",
    now: datetime | None = None,
    days: int | None = None,
    dry_run: bool = False,
) -> PurgePlan:
    """Purge (or, with ``dry_run``, only list) personal payloads past retention."""
    plan = plan_purge(db, now=now, days=days)
    if dry_run or not plan.record_ids:
        return plan
    with write(db):
        for rid in plan.record_ids:
            db.execute("UPDATE records SET payload = NULL WHERE id = ?", [rid])
        audit.log(
            db,
            actor,
            "purge",
            f"seq<={plan.acked_through}",
            {"count": plan.count, "days": plan.days},
        )
    return plan
