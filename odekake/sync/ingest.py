"""The hub's ingest: at-least-once delivery, exactly-once effect.

Rules (design.md), applied to one verified bundle at a time:

- a record the hub already stores with the same hash is ignored;
- a record whose id (or whose device and sequence number) the hub already holds
  with a *different* hash is quarantined (``sync_quarantine``) and reported;
- records after a gap in the device's sequence are held (``sync_held``) until the
  gap is filled, and the gap is reported;
- a broken chain (inside the bundle, or against the hub's last hash for the
  device) or a bad signature refuses the whole bundle: nothing is stored;
- an accepted bundle commits in one :func:`odekake.storage.db.write` transaction, and the
  acknowledged high-water mark (the highest contiguous sequence number stored)
  moves with it.
"""

from __future__ import annotations

import io
import random
import sqlite3
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO, Any, TypeVar

import sqlite_utils

from odekake.errors import OdekakeError
from odekake.storage.db import write
from odekake.storage.records import GENESIS
from odekake.sync.bundle import (
    FIELDS,
    BundleReader,
    BundleRecord,
    BundleRefused,
    parse_record_line,
)
from odekake.sync.keys import device_public_key, now_iso

_INSERT = f"INSERT INTO records ({', '.join(FIELDS)}) VALUES ({', '.join('?' * len(FIELDS))})"
_FLUSH_EVERY = 2000
T = TypeVar("T")


class HubBusy(OdekakeError):
    """The hub database stayed locked through every retry."""


@dataclass
class IngestResult:
    """What one bundle did to the hub."""

    device_id: str
    from_seq: int
    to_seq: int
    received: int = 0
    stored: int = 0
    duplicates: int = 0
    held: int = 0
    released: int = 0
    quarantined: int = 0
    acked_seq: int = 0
    gaps: list[tuple[int, int]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (the HTTP push response)."""
        d = asdict(self)
        d["gaps"] = [list(g) for g in self.gaps]
        return d

    def describe(self) -> str:
        """Japanese summary for the operator."""
        lines = [
            f"端末 {self.device_id}: 受信 {self.received} 件(新規 {self.stored}、重複のため無視 "
            f"{self.duplicates}、保留 {self.held}、保留から登録 {self.released}、隔離 "
            f"{self.quarantined})。受領済み {self.acked_seq} 番まで"
        ]
        for a, b in self.gaps:
            lines.append(f"  欠番: {a}〜{b} 番が届いていないため、後の記録を保留しています")
        lines.extend(f"  注意: {p}" for p in self.problems)
        return "\n".join(lines)


def hub_mark(db: sqlite_utils.Database, device_id: str) -> tuple[int, str]:
    """The highest contiguous sequence number stored for a device, and its hash.

    Ingest only ever stores a device's records contiguously, so the last stored
    record is the mark.
    """
    row = db.execute(
        "SELECT seq, hash FROM records WHERE device_id = ? ORDER BY seq DESC LIMIT 1",
        [device_id],
    ).fetchone()
    return (0, GENESIS) if row is None else (int(row[0]), str(row[1]))


def _is_locked(exc: sqlite3.OperationalError) -> bool:
    text = str(exc).lower()
    return "locked" in text or "busy" in text


def with_retry(fn: Callable[[], T], *, attempts: int = 8, base_delay: float = 0.05) -> T:
    """Run ``fn``; retry with jittered exponential backoff while SQLite is locked.

    ``busy_timeout`` already waits inside SQLite; this covers the cases it does
    not (a lock upgrade, a checkpoint). A user never sees "database is locked":
    after the last attempt it becomes :class:`HubBusy` with a Japanese message.
    """
    for attempt in range(attempts):
        try:
            return fn()
        except sqlite3.OperationalError as exc:
            if not _is_locked(exc):
                raise
            if attempt == attempts - 1:
                raise HubBusy(
                    "ハブのデータベースが混み合っています。しばらく待ってから再送してください"
                ) from exc
            time.sleep(base_delay * (2**attempt) * (0.5 + random.random()))
    raise AssertionError("unreachable")


def _quarantine(
    db: sqlite_utils.Database, rec: BundleRecord, existing_hash: str, reason: str, at: str
) -> int:
    cur = db.execute(
        "INSERT OR IGNORE INTO sync_quarantine"
        "(device_id, seq, record_id, hash, existing_hash, reason, line, received_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [rec.device_id, rec.seq, rec.id, rec.hash, existing_hash, reason, rec.line, at],
    )
    return cur.rowcount


class _SlowPath(Exception):
    """A record id clashes: redo the bundle checking every id one by one."""


def _flush(db: sqlite_utils.Database, pending: list[tuple[Any, ...]], careful: bool) -> None:
    """Insert new records.

    In the fast path an id that is already stored (or twice in the bundle) makes the
    insert fail on the primary key; the whole bundle is then redone in the careful
    path, which checks each id and quarantines the clash.
    """
    try:
        db.conn.executemany(_INSERT, pending)
    except sqlite3.IntegrityError as exc:
        if careful:
            raise
        raise _SlowPath from exc


def _ingest(
    db: sqlite_utils.Database,
    stream: IO[bytes],
    expected_device: str | None,
    careful: bool = False,
) -> IngestResult:
    at = now_iso()
    reader = BundleReader(stream, lambda dev: device_public_key(db, dev))
    h = reader.header
    dev = h.device_id
    if expected_device is not None and dev != expected_device:
        raise BundleRefused(f"端末 {expected_device} の送信に端末 {dev} の記録が入っています")
    result = IngestResult(device_id=dev, from_seq=h.from_seq, to_seq=h.to_seq)
    mark, mark_hash = hub_mark(db, dev)
    next_seq, last_hash = mark + 1, mark_hash
    pending: list[tuple[Any, ...]] = []
    holding = False  # once a record cannot join the chain, the rest of the bundle is held
    for rec in reader.records():
        result.received += 1
        if rec.seq <= mark:
            row = db.execute(
                "SELECT id, hash FROM records WHERE device_id = ? AND seq = ?", [dev, rec.seq]
            ).fetchone()
            if row is not None and row[1] == rec.hash:
                result.duplicates += 1
            else:
                why = (
                    "同じIDで内容の異なる記録"
                    if row is not None and row[0] == rec.id
                    else "同じ連番で内容の異なる記録"
                )
                result.quarantined += _quarantine(db, rec, "" if row is None else row[1], why, at)
            continue
        if rec.seq == next_seq and not holding:
            if rec.prev_hash != last_hash:
                raise BundleRefused(
                    f"端末 {dev} の {rec.seq} 番の記録が、ハブにある {rec.seq - 1} 番の記録と"
                    "つながりません(ハッシュの連鎖が切れています)"
                )
            clash = (
                db.execute(
                    "SELECT device_id, seq, hash FROM records WHERE id = ?", [rec.id]
                ).fetchone()
                if careful
                else None
            )
            if clash is not None:
                result.quarantined += _quarantine(
                    db, rec, str(clash[2]), "同じIDの記録が別の連番で登録済み", at
                )
                holding = True
                continue
            pending.append(rec.row())
            next_seq += 1
            last_hash = rec.hash
            if careful or len(pending) >= _FLUSH_EVERY:
                _flush(db, pending, careful)
                result.stored += len(pending)
                pending.clear()
            continue
        # After a gap: hold until the missing records arrive.
        row = db.execute(
            "SELECT hash FROM sync_held WHERE device_id = ? AND seq = ?", [dev, rec.seq]
        ).fetchone()
        if row is None:
            db.execute(
                "INSERT INTO sync_held(device_id, seq, id, hash, prev_hash, line, received_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                [dev, rec.seq, rec.id, rec.hash, rec.prev_hash, rec.line, at],
            )
            result.held += 1
        elif row[0] == rec.hash:
            result.duplicates += 1
        else:
            result.quarantined += _quarantine(
                db, rec, str(row[0]), "保留中の同じ連番の記録と内容が異なる", at
            )
    if pending:
        _flush(db, pending, careful)
        result.stored += len(pending)
        pending.clear()
    next_seq, last_hash = _settle_held(db, dev, mark, next_seq, last_hash, result, at)
    result.acked_seq = next_seq - 1
    db.execute(
        "INSERT INTO sync_acks(device_id, acked_seq, acked_hash, last_seen, last_batch_at) "
        "VALUES (?, ?, ?, ?, ?) ON CONFLICT(device_id) DO UPDATE SET "
        "acked_seq = excluded.acked_seq, acked_hash = excluded.acked_hash, "
        "last_seen = excluded.last_seen, last_batch_at = excluded.last_batch_at",
        [dev, result.acked_seq, last_hash, at, at],
    )
    result.gaps = held_gaps(db, dev, result.acked_seq)
    return result


def _settle_held(
    db: sqlite_utils.Database,
    dev: str,
    mark: int,
    next_seq: int,
    last_hash: str,
    result: IngestResult,
    at: str,
) -> tuple[int, str]:
    """Drop held copies of what was just stored; release held records that now fit."""
    for seq, hash_, line in db.execute(
        "SELECT seq, hash, line FROM sync_held WHERE device_id = ? AND seq > ? AND seq < ?",
        [dev, mark, next_seq],
    ).fetchall():
        stored = db.execute(
            "SELECT hash FROM records WHERE device_id = ? AND seq = ?", [dev, seq]
        ).fetchone()[0]
        if hash_ != stored:
            rec = parse_record_line(line)
            result.quarantined += _quarantine(
                db, rec, str(stored), "保留中の記録が登録済みの記録と異なる", at
            )
    db.execute("DELETE FROM sync_held WHERE device_id = ? AND seq < ?", [dev, next_seq])
    release: list[tuple[Any, ...]] = []
    for seq, line, prev_hash, hash_ in db.execute(
        "SELECT seq, line, prev_hash, hash FROM sync_held WHERE device_id = ? AND seq >= ? "
        "ORDER BY seq",
        [dev, next_seq],
    ).fetchall():
        if seq != next_seq:
            break
        rec = parse_record_line(line)
        if prev_hash != last_hash:
            result.quarantined += _quarantine(
                db, rec, last_hash, "保留中の記録が連鎖と合わない", at
            )
            result.problems.append(
                f"保留していた {seq} 番の記録が {seq - 1} 番とつながらないため隔離しました"
            )
            db.execute("DELETE FROM sync_held WHERE device_id = ? AND seq = ?", [dev, seq])
            break
        release.append(rec.row())
        next_seq += 1
        last_hash = str(hash_)
    if release:
        db.conn.executemany(_INSERT, release)
        db.execute("DELETE FROM sync_held WHERE device_id = ? AND seq < ?", [dev, next_seq])
        result.released += len(release)
    return next_seq, last_hash


def held_gaps(db: sqlite_utils.Database, device_id: str, acked: int) -> list[tuple[int, int]]:
    """Missing sequence ranges in front of and between the device's held records."""
    gaps: list[tuple[int, int]] = []
    expect = acked + 1
    for (seq,) in db.execute(
        "SELECT seq FROM sync_held WHERE device_id = ? ORDER BY seq", [device_id]
    ):
        if seq > expect:
            gaps.append((expect, seq - 1))
        expect = seq + 1
    return gaps


def ingest_bytes(
    db: sqlite_utils.Database, data: bytes, *, expected_device: str | None = None
) -> IngestResult:
    """Ingest a bundle held in memory (an HTTP batch)."""
    return ingest_stream(db, lambda: io.BytesIO(data), expected_device=expected_device)


def ingest_file(db: sqlite_utils.Database, path: Path) -> IngestResult:
    """Ingest a bundle file (USB), streaming it."""
    if not path.exists():
        raise OdekakeError(f"バンドルファイルがありません: {path}")

    def opener() -> IO[bytes]:
        return path.open("rb")

    return ingest_stream(db, opener)


def ingest_stream(
    db: sqlite_utils.Database,
    open_stream: Callable[[], IO[bytes]],
    *,
    expected_device: str | None = None,
) -> IngestResult:
    """Verify and ingest one bundle atomically, retrying while the database is locked.

    Args:
        db: The hub database.
        open_stream: Opens the bundle from its start (called again on a retry).
        expected_device: The authenticated device (HTTP); the bundle must be its own.

    Raises:
        BundleRefused: Verification failed; nothing was stored.
        UnknownDevice, RevokedDevice: The bundle's device may not send.
        HubBusy: The database stayed locked.
    """

    # A bigger page cache for the hub's connection: a large bundle updates five
    # indexes of ``records``; 32 MB keeps them in memory (bounded, well under the
    # 300 MB budget).
    db.execute("PRAGMA cache_size = -32768")

    def attempt() -> IngestResult:
        try:
            with open_stream() as stream, write(db):
                return _ingest(db, stream, expected_device)
        except _SlowPath:
            with open_stream() as stream, write(db):
                return _ingest(db, stream, expected_device, careful=True)

    return with_retry(attempt)


def hub_state(db: sqlite_utils.Database) -> dict[str, Any]:
    """The hub's sync-relevant state, for comparing runs (tests, diagnostics)."""
    return {
        "records": db.execute(
            "SELECT device_id, seq, id, hash FROM records ORDER BY device_id, seq"
        ).fetchall(),
        "held": db.execute(
            "SELECT device_id, seq, hash FROM sync_held ORDER BY device_id, seq"
        ).fetchall(),
        "quarantine": db.execute(
            "SELECT device_id, seq, record_id, hash FROM sync_quarantine "
            "ORDER BY device_id, seq, hash"
        ).fetchall(),
        "acks": db.execute(
            "SELECT device_id, acked_seq, acked_hash FROM sync_acks ORDER BY device_id"
        ).fetchall(),
    }
