"""The hub's vans and devices for the console's 車両・同期 page.

Every device with its enrolment, last push and pull, acknowledged sequence, held
gaps and quarantined records; opening a quarantined record (both versions, a view
of personal data, audited) and resolving it (append-only, audited).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import sqlite_utils

from odekake.access import audit
from odekake.errors import NotFound, ValidationError
from odekake.storage.db import write
from odekake.storage.records import utc_now
from odekake.sync.keys import fingerprint, revoke_device
from odekake.sync.status import DeviceStatus, hub_status

KEEP_LABELS = {"hub": "ハブにある版を正とする", "van": "車両から届いた版を正とする"}


@dataclass(frozen=True)
class DeviceView:
    """One device as the 車両・同期 page shows it."""

    status: DeviceStatus
    van_id: str
    enrolled_at: str | None
    revoked_at: str | None
    fingerprint: str
    last_push: str | None
    last_pull: str | None
    open_quarantine: int


@dataclass(frozen=True)
class Resolution:
    """How a quarantined record was resolved."""

    kept: str
    kept_hash: str
    reason: str
    resolved_by: str
    resolved_at: str

    @property
    def label(self) -> str:
        """Japanese: which version counts."""
        return KEEP_LABELS[self.kept]


@dataclass(frozen=True)
class Quarantined:
    """A record the hub set aside: same id (or sequence), different content."""

    n: int
    device_id: str
    seq: int
    record_id: str
    type: str
    reason: str
    received_at: str
    van_hash: str
    hub_hash: str
    resolution: Resolution | None


def _open_quarantine(db: sqlite_utils.Database) -> dict[str, int]:
    return {
        str(d): int(c)
        for d, c in db.execute(
            "SELECT device_id, COUNT(*) FROM sync_quarantine WHERE n NOT IN "
            "(SELECT quarantine_n FROM sync_quarantine_resolutions) GROUP BY device_id"
        )
    }


def devices(db: sqlite_utils.Database) -> list[DeviceView]:
    """Every device the hub knows (enrolled, revoked, or only seen in records)."""
    enrolled = {
        str(r[0]): r[1:]
        for r in db.execute(
            "SELECT device_id, van_id, enrolled_at, revoked_at, public_key FROM devices"
        )
    }
    pushes = {str(d): t for d, t in db.execute("SELECT device_id, last_batch_at FROM sync_acks")}
    pulls = {
        str(d): t
        for d, t in db.execute(
            "SELECT device_id, MAX(created_at) FROM sync_snapshots GROUP BY device_id"
        )
    }
    open_q = _open_quarantine(db)
    out = []
    for st in hub_status(db):
        van_id, enrolled_at, revoked_at, key = enrolled.get(st.device_id, ("", None, None, ""))
        out.append(
            DeviceView(
                status=st,
                van_id=str(van_id or ""),
                enrolled_at=enrolled_at,
                revoked_at=revoked_at,
                fingerprint=fingerprint(str(key)) if key else "",
                last_push=pushes.get(st.device_id),
                last_pull=pulls.get(st.device_id),
                open_quarantine=open_q.get(st.device_id, 0),
            )
        )
    return out


def van_names(db: sqlite_utils.Database) -> list[tuple[str, str]]:
    """(van id, name) of every van in the master data (the enrol form's choices)."""
    return [(str(i), str(n)) for i, n in db.execute("SELECT id, name FROM vans ORDER BY id")]


def _resolution(db: sqlite_utils.Database, n: int) -> Resolution | None:
    row = db.execute(
        "SELECT kept, kept_hash, reason, resolved_by, resolved_at "
        "FROM sync_quarantine_resolutions WHERE quarantine_n = ?",
        [n],
    ).fetchone()
    return None if row is None else Resolution(*row)


def _hub_hash(db: sqlite_utils.Database, device_id: str, seq: int, record_id: str) -> str:
    row = db.execute("SELECT hash FROM records WHERE id = ?", [record_id]).fetchone()
    if row is None:
        row = db.execute(
            "SELECT hash FROM records WHERE device_id = ? AND seq = ?", [device_id, seq]
        ).fetchone()
    return "" if row is None else str(row[0])


def quarantined(db: sqlite_utils.Database) -> list[Quarantined]:
    """Every quarantined record (open ones first), without payloads."""
    out = []
    for n, dev, seq, rid, h, existing, reason, line, at in db.execute(
        "SELECT n, device_id, seq, record_id, hash, existing_hash, reason, line, received_at "
        "FROM sync_quarantine ORDER BY n"
    ).fetchall():
        kind = str(json.loads(line).get("type", ""))
        out.append(
            Quarantined(
                n=int(n),
                device_id=str(dev),
                seq=int(seq),
                record_id=str(rid),
                type=kind,
                reason=str(reason),
                received_at=str(at),
                van_hash=str(h),
                hub_hash=str(existing) or _hub_hash(db, dev, seq, rid),
                resolution=_resolution(db, int(n)),
            )
        )
    return sorted(out, key=lambda q: (q.resolution is not None, q.n))


def _get(db: sqlite_utils.Database, n: int) -> Quarantined:
    found = next((q for q in quarantined(db) if q.n == n), None)
    if found is None:
        raise NotFound(f"隔離された記録 {n} 番はありません")
    return found


def open_quarantined(
    db: sqlite_utils.Database, n: int, *, actor: str
) -> tuple[Quarantined, dict[str, Any], dict[str, Any]]:
    """Both versions of a quarantined record (the hub's and the van's), audited.

    The payloads may hold personal data: each look is a ``view.personal`` entry.
    Returns the record and the two versions (record fields as JSON objects).
    """
    q = _get(db, n)
    line = json.loads(db.execute("SELECT line FROM sync_quarantine WHERE n = ?", [n]).fetchone()[0])
    row = db.execute(
        "SELECT id, device_id, seq, wall_time, hlc, type, payload, hash, supersedes "
        "FROM records WHERE id = ? OR (device_id = ? AND seq = ?) LIMIT 1",
        [q.record_id, q.device_id, q.seq],
    ).fetchone()
    keys = ["id", "device_id", "seq", "wall_time", "hlc", "type", "payload", "hash", "supersedes"]
    hub = dict(zip(keys, row, strict=True)) if row is not None else {}
    audit.log(db, actor, "view.personal", f"quarantine:{n}", {"record": q.record_id})
    return q, hub, line


def resolve_quarantined(
    db: sqlite_utils.Database, n: int, keep: str, reason: str, *, actor: str
) -> Resolution:
    """Record which version of a quarantined record counts (a new row; audited).

    Nothing in ``records`` or ``sync_quarantine`` changes: the resolution is its own
    append-only row, so the hub's version, the van's version and the decision all stay.
    """
    if keep not in KEEP_LABELS:
        raise ValidationError("どちらの版を正とするか選んでください", "keep")
    if not reason.strip():
        raise ValidationError("理由を入力してください", "reason")
    q = _get(db, n)
    if q.resolution is not None:
        raise ValidationError(f"隔離された記録 {n} 番は解決済みです", "keep")
    kept_hash = q.hub_hash if keep == "hub" else q.van_hash
    at = utc_now().isoformat(timespec="seconds")
    with write(db):
        db.execute(
            "INSERT INTO sync_quarantine_resolutions"
            "(quarantine_n, kept, kept_hash, reason, resolved_by, resolved_at) "
            "VALUES (?,?,?,?,?,?)",
            [n, keep, kept_hash, reason.strip(), actor, at],
        )
        audit.log(
            db,
            actor,
            "sync.resolve",
            f"quarantine:{n}",
            {
                "record": q.record_id,
                "device": q.device_id,
                "seq": q.seq,
                "kept": keep,
                "reason": reason.strip(),
            },
        )
    resolved = _resolution(db, n)
    assert resolved is not None
    return resolved


def revoke(db: sqlite_utils.Database, device_id: str, *, actor: str) -> None:
    """Revoke a device (``odekake device revoke``), audited."""
    with write(db):
        revoke_device(db, device_id)
        audit.log(db, actor, "device.revoke", device_id)
