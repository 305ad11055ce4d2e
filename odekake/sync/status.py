"""Sync status on both sides.

Hub: per device — enrollment status, last seen, acknowledged sequence, held and
quarantined records, missing ranges. Van: records not yet acknowledged by the hub
and the last sync time; :func:`van_status` is what the kiosk shows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

import sqlite_utils

from odekake.storage.db import device_id_of, role_of
from odekake.sync.ingest import held_gaps, hub_mark


@dataclass
class DeviceStatus:
    """One device as the hub sees it."""

    device_id: str
    status: str
    last_seen: str | None
    acked_seq: int
    held: int
    quarantined: int
    gaps: list[tuple[int, int]] = field(default_factory=list)

    def describe(self) -> str:
        """One Japanese line."""
        label = {"active": "有効", "revoked": "失効", "unknown": "未登録"}.get(
            self.status, self.status
        )
        text = (
            f"端末 {self.device_id} [{label}] 最終接続 {self.last_seen or 'なし'} / "
            f"受領済み {self.acked_seq} 番まで / 保留 {self.held} 件 / 隔離 {self.quarantined} 件"
        )
        if self.gaps:
            text += " / 欠番 " + ", ".join(f"{a}〜{b}" for a, b in self.gaps)
        return text


@dataclass
class VanStatus:
    """What the van knows about its own sync state (shown by the kiosk)."""

    device_id: str
    records: int
    acked_seq: int
    unsynced: int
    last_sync_at: str | None
    last_push_at: str | None
    last_pull_at: str | None
    snapshot_version: int | None

    def describe(self) -> str:
        """Japanese lines for the terminal or the kiosk."""
        return (
            f"端末 {self.device_id}: 記録 {self.records} 件、未同期 {self.unsynced} 件"
            f"(ハブ受領済み {self.acked_seq} 番まで)\n"
            f"  最終同期 {self.last_sync_at or 'まだありません'}"
            f"(送信 {self.last_push_at or '-'} / 受信 {self.last_pull_at or '-'})、"
            f"マスタデータ版 {self.snapshot_version if self.snapshot_version is not None else '未受信'}"
        )


def hub_status(db: sqlite_utils.Database) -> list[DeviceStatus]:
    """Every device the hub knows (enrolled, or with records)."""
    devices: dict[str, str] = {
        str(d): str(s) for d, s in db.execute("SELECT device_id, status FROM devices")
    }
    seen = {str(d): s for d, s in db.execute("SELECT device_id, last_seen FROM sync_acks")}
    ids = set(devices) | set(seen)
    ids |= {str(r[0]) for r in db.execute("SELECT DISTINCT device_id FROM sync_held")}
    ids |= {
        str(r[0])
        for r in db.execute("SELECT DISTINCT device_id FROM records WHERE device_id != 'hub'")
    }
    out: list[DeviceStatus] = []
    for dev in sorted(ids):
        acked, _ = hub_mark(db, dev)
        held = db.execute("SELECT COUNT(*) FROM sync_held WHERE device_id = ?", [dev]).fetchone()[0]
        quarantined = db.execute(
            "SELECT COUNT(*) FROM sync_quarantine WHERE device_id = ? AND n NOT IN "
            "(SELECT quarantine_n FROM sync_quarantine_resolutions)",  # resolved: no alert
            [dev],
        ).fetchone()[0]
        out.append(
            DeviceStatus(
                device_id=dev,
                status=devices.get(dev, "unknown"),
                last_seen=seen.get(dev),
                acked_seq=acked,
                held=int(held),
                quarantined=int(quarantined),
                gaps=held_gaps(db, dev, acked),
            )
        )
    return out


def van_status(db: sqlite_utils.Database) -> VanStatus:
    """Unsynced record count and last sync time of this van."""
    dev = device_id_of(db)
    row = db.execute("SELECT MAX(seq), COUNT(*) FROM records WHERE device_id = ?", [dev]).fetchone()
    top, count = int(row[0] or 0), int(row[1] or 0)
    st = db.execute(
        "SELECT acked_seq, last_push_at, last_pull_at, snapshot_version FROM sync_state "
        "WHERE device_id = ?",
        [dev],
    ).fetchone()
    acked, push_at, pull_at, version = (0, None, None, None) if st is None else st
    times = [t for t in (push_at, pull_at) if t]
    return VanStatus(
        device_id=dev,
        records=count,
        acked_seq=int(acked),
        unsynced=max(0, top - int(acked)),
        last_sync_at=max(times) if times else None,
        last_push_at=push_at,
        last_pull_at=pull_at,
        snapshot_version=None if version is None else int(version),
    )


def status_text(db: sqlite_utils.Database) -> str:
    """Status of either kind of database, in Japanese."""
    if role_of(db) == "hub":
        rows = hub_status(db)
        if not rows:
            return "登録された端末はありません。"
        lines = [r.describe() for r in rows]
        quarantined = db.execute(
            "SELECT device_id, seq, record_id, reason, received_at FROM sync_quarantine "
            "ORDER BY device_id, seq LIMIT 20"
        ).fetchall()
        if quarantined:
            lines.append("隔離した記録(最大20件。ハブの記録は変えていません):")
            lines.extend(
                f"  端末 {d} の {seq} 番 (id {rid}): {reason}(受信 {at})"
                for d, seq, rid, reason, at in quarantined
            )
        return "\n".join(lines)
    return van_status(db).describe()


#: A hub whose newest verified backup is older than this is reported as a warning.
BACKUP_WARN_HOURS = 26


def hub_health(db: sqlite_utils.Database, *, now: datetime | None = None) -> dict[str, object]:
    """What ``GET /health`` reports for monitoring: counts and times, nothing personal.

    ``status`` is ``ok``, or ``warning`` with the reasons in ``warnings`` (no
    verified backup within :data:`BACKUP_WARN_HOURS` hours, quarantined records,
    records held behind a gap). A database that cannot be read is the caller's 503.
    """
    at = now or datetime.now(UTC)
    devices = hub_status(db)
    quarantined = sum(d.quarantined for d in devices)
    held = sum(d.held for d in devices)
    row = db.execute("SELECT MAX(taken_at) FROM hub_backups").fetchone()
    last_backup = None if row is None else row[0]
    warnings: list[str] = []
    age_hours: float | None = None
    if last_backup is None:
        warnings.append("検証済みのバックアップがありません")
    else:
        age_hours = round((at - datetime.fromisoformat(last_backup)).total_seconds() / 3600, 1)
        if age_hours > BACKUP_WARN_HOURS:
            warnings.append(f"最後のバックアップは {age_hours} 時間前です")
    from odekake.operations.backup import backup_warnings

    warnings.extend(backup_warnings(db))
    if quarantined:
        warnings.append(f"隔離した記録が {quarantined} 件あります")
    if held:
        warnings.append(f"欠番のため保留中の記録が {held} 件あります")
    return {
        "status": "warning" if warnings else "ok",
        "warnings": warnings,
        "checked_at": at.isoformat(timespec="seconds"),
        "devices_active": sum(1 for d in devices if d.status == "active"),
        "records": int(db.execute("SELECT COUNT(*) FROM records").fetchone()[0]),
        "quarantined": quarantined,
        "held": held,
        "last_backup_at": last_backup,
        "backup_age_hours": age_hours,
    }
