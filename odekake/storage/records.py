"""The append-only record log.

Every fact the van records is a :class:`Record`: a UUIDv7 made on the device, the
device id, a gapless per-device sequence number, wall time and a hybrid-logical-
clock stamp, a type, a JSON payload, the payload's SHA-256 and the previous record's
hash. Each record's ``hash`` covers all of that, so the records of one device form a
chain: changing one byte, removing or reordering a record breaks it, and
:func:`verify` names the first record where it breaks.

A correction is a new record with ``supersedes`` set to the id it replaces; a void
is a ``record.void`` record that supersedes its target. Nothing is updated in place,
except that the retention purge may blank a payload (its hash stays, so the chain
still verifies).
"""

from __future__ import annotations

import json
import os
import random
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

import sqlite_utils

from odekake.errors import NotFound, OdekakeError
from odekake.storage import receipt_mac

# The log hashes with the one canonical serialisation (odekake.storage.canonical).
from odekake.storage.canonical import canonical_json, sha256_hex
from odekake.storage.db import device_id_of, get_meta, role_of, write
from odekake.storage.sealing import SealingKeyMissing, personal_part, seal_payload

GENESIS = "0" * 64
# meta key holding city hall's X25519 public key; when set, personal fields are sealed.
SEAL_KEY_META = "hub_seal_public_key"
VOID = "record.void"

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


def uuid7(unix_ms: int | None = None, rng: random.Random | None = None) -> str:
    """A UUID version 7 (RFC 9562): 48-bit Unix milliseconds, then random bits.

    ``rng`` makes the random bits reproducible (the demo); devices use ``os.urandom``.
    """
    ms = int(time.time() * 1000) if unix_ms is None else unix_ms
    rand = rng.getrandbits(80) if rng is not None else int.from_bytes(os.urandom(10), "big")
    value = (ms & ((1 << 48) - 1)) << 80
    value |= 0x7 << 76
    value |= ((rand >> 62) & 0xFFF) << 64
    value |= 0b10 << 62
    value |= rand & ((1 << 62) - 1)
    return str(uuid.UUID(int=value))


def format_hlc(physical_ms: int, counter: int) -> str:
    """A sortable hybrid logical clock stamp: ``<13-digit ms>-<5-digit counter>``."""
    return f"{physical_ms:013d}-{counter:05d}"


def parse_hlc(stamp: str) -> tuple[int, int]:
    """Split an HLC stamp into (physical milliseconds, counter)."""
    ms, counter = stamp.split("-")
    return int(ms), int(counter)


def next_hlc(previous: str | None, now_ms: int) -> str:
    """Advance the clock: never goes backwards, even if the wall clock does."""
    if previous is None:
        return format_hlc(now_ms, 0)
    prev_ms, prev_counter = parse_hlc(previous)
    if now_ms > prev_ms:
        return format_hlc(now_ms, 0)
    return format_hlc(prev_ms, prev_counter + 1)


def record_hash(
    *,
    id: str,
    device_id: str,
    seq: int,
    wall_time: str,
    hlc: str,
    type: str,
    payload_hash: str,
    prev_hash: str,
    supersedes: str | None,
) -> str:
    """The chain hash of one record (covers every field but the payload text itself)."""
    header = canonical_json(
        [id, device_id, seq, wall_time, hlc, type, payload_hash, prev_hash, supersedes or ""]
    )
    return sha256_hex(header)


@dataclass(frozen=True)
class Record:
    """One entry of a device's log."""

    id: str
    device_id: str
    seq: int
    wall_time: str
    hlc: str
    type: str
    payload: dict[str, Any] | None
    payload_hash: str
    prev_hash: str
    hash: str
    supersedes: str | None = None
    # The personal values as typed, before sealing: in memory only (never stored,
    # never compared), so the resident's own slip can still show what was sealed.
    typed: dict[str, Any] | None = field(default=None, compare=False, repr=False)

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Record:
        """Build from a ``records`` row (payload stored as JSON text or NULL)."""
        raw = row["payload"]
        return cls(
            id=row["id"],
            device_id=row["device_id"],
            seq=int(row["seq"]),
            wall_time=row["wall_time"],
            hlc=row["hlc"],
            type=row["type"],
            payload=None if raw is None else json.loads(raw),
            payload_hash=row["payload_hash"],
            prev_hash=row["prev_hash"],
            hash=row["hash"],
            supersedes=row.get("supersedes"),
        )

    def to_row(self) -> dict[str, Any]:
        """The ``records`` row (payload as canonical JSON text)."""
        return {
            "id": self.id,
            "device_id": self.device_id,
            "seq": self.seq,
            "wall_time": self.wall_time,
            "hlc": self.hlc,
            "type": self.type,
            "payload": None if self.payload is None else canonical_json(self.payload),
            "payload_hash": self.payload_hash,
            "prev_hash": self.prev_hash,
            "hash": self.hash,
            "supersedes": self.supersedes,
        }

    @property
    def wall_datetime(self) -> datetime:
        """``wall_time`` parsed (UTC)."""
        return datetime.fromisoformat(self.wall_time)


_COLUMNS = (
    "id, device_id, seq, wall_time, hlc, type, payload, payload_hash, prev_hash, hash, supersedes"
)


def _row(cursor_row: tuple[Any, ...]) -> dict[str, Any]:
    return dict(zip([c.strip() for c in _COLUMNS.split(",")], cursor_row, strict=True))


def seal_key_of(db: sqlite_utils.Database) -> str | None:
    """City hall's sealing public key: in ``settings`` (synced down) or ``meta``."""
    row = db.execute("SELECT value FROM settings WHERE key = ?", [SEAL_KEY_META]).fetchone()
    if row is not None and row[0]:
        return str(row[0])
    return get_meta(db, SEAL_KEY_META)


def require_seal_key(db: sqlite_utils.Database) -> str | None:
    """City hall's sealing key, or :class:`SealingKeyMissing` on a van without one.

    The hub may run without it (it records no resident's data of its own); a van
    never stores personal data in the clear: sealing fails closed.
    """
    key = seal_key_of(db)
    if not key and role_of(db) == "van":
        raise SealingKeyMissing()
    return key


def intake_ready(db: sqlite_utils.Database) -> str | None:
    """Why this van cannot take personal data now (one Japanese line), or None."""
    try:
        require_seal_key(db)
    except SealingKeyMissing as exc:
        return str(exc)
    return None


def build_record(
    *,
    device_id: str,
    seq: int,
    prev_hash: str,
    prev_hlc: str | None,
    type: str,
    payload: dict[str, Any],
    supersedes: str | None = None,
    now: datetime | None = None,
    rng: random.Random | None = None,
) -> Record:
    """Make the next record of a chain (pure: writes nothing)."""
    when = (now or utc_now()).astimezone(UTC)
    now_ms = int(when.timestamp() * 1000)
    wall_time = when.isoformat(timespec="milliseconds")
    hlc = next_hlc(prev_hlc, now_ms)
    rid = uuid7(now_ms, rng)
    text = canonical_json(payload)
    payload_hash = sha256_hex(text)
    h = record_hash(
        id=rid,
        device_id=device_id,
        seq=seq,
        wall_time=wall_time,
        hlc=hlc,
        type=type,
        payload_hash=payload_hash,
        prev_hash=prev_hash,
        supersedes=supersedes,
    )
    return Record(
        id=rid,
        device_id=device_id,
        seq=seq,
        wall_time=wall_time,
        hlc=hlc,
        type=type,
        payload=json.loads(text),
        payload_hash=payload_hash,
        prev_hash=prev_hash,
        hash=h,
        supersedes=supersedes,
    )


def insert_record(db: sqlite_utils.Database, record: Record) -> None:
    """Insert an already-built record as it is (sync ingest, demo); no checks."""
    row = record.to_row()
    db.execute(
        f"INSERT INTO records ({_COLUMNS}) VALUES ({', '.join('?' * len(row))})",
        list(row.values()),
    )


def append(
    db: sqlite_utils.Database,
    type: str,
    payload: dict[str, Any],
    *,
    supersedes: str | None = None,
    device_id: str | None = None,
    now: datetime | None = None,
) -> Record:
    """Append one record to this device's chain and commit it.

    The sequence number and previous hash are read inside the same
    ``BEGIN IMMEDIATE`` transaction as the insert, so concurrent writers (threads
    or processes) always produce a gapless sequence. When called inside an outer
    :func:`odekake.storage.db.write` block the record commits with that block.

    Args:
        db: The van (or hub) database.
        type: The record type, e.g. ``"stop.open"`` or ``"certificate.issue"``.
        payload: JSON-serialisable facts. Never a 12-digit My Number. When the
            database holds city hall's sealing key, personal fields
            (``odekake.storage.sealing.PERSONAL_KEYS``) are sealed before hashing; a
            van without the key refuses them (:class:`SealingKeyMissing`).
        supersedes: The id of the record this one corrects or voids.
        device_id: Defaults to the database's own device id.
        now: The wall time to stamp (tests and demo data); defaults to now.

    Returns:
        The stored record.
    """
    dev = device_id or device_id_of(db)
    payload = receipt_mac.stamp(db, payload)
    typed = personal_part(payload, type)
    if typed:
        seal_key = require_seal_key(db)
        if seal_key:
            payload = seal_payload(payload, seal_key, record_type=type)
    with write(db):
        if supersedes is not None:
            target = db.execute("SELECT 1 FROM records WHERE id = ?", [supersedes]).fetchone()
            if target is None:
                raise NotFound(f"訂正・取消の対象の記録がありません: {supersedes}")
        last = db.execute(
            "SELECT seq, hash, hlc FROM records WHERE device_id = ? ORDER BY seq DESC LIMIT 1",
            [dev],
        ).fetchone()
        seq, prev_hash, prev_hlc = (
            (1, GENESIS, None)
            if last is None
            else (
                int(last[0]) + 1,
                str(last[1]),
                str(last[2]),
            )
        )
        record = build_record(
            device_id=dev,
            seq=seq,
            prev_hash=prev_hash,
            prev_hlc=prev_hlc,
            type=type,
            payload=payload,
            supersedes=supersedes,
            now=now,
        )
        insert_record(db, record)
    if typed and "sealed" in (record.payload or {}):
        record = replace(record, typed=typed)
    return record


def get(db: sqlite_utils.Database, record_id: str) -> Record:
    """One record by id."""
    row = db.execute(f"SELECT {_COLUMNS} FROM records WHERE id = ?", [record_id]).fetchone()
    if row is None:
        raise NotFound(f"記録がありません: {record_id}")
    return Record.from_row(_row(row))


def iter_records(
    db: sqlite_utils.Database,
    *,
    device_id: str | None = None,
    types: Iterable[str] | None = None,
    after_seq: int = 0,
    since: str | None = None,
    until: str | None = None,
) -> Iterator[Record]:
    """Records in (device, seq) order, optionally filtered."""
    where = ["seq > ?"]
    params: list[Any] = [after_seq]
    if device_id is not None:
        where.append("device_id = ?")
        params.append(device_id)
    if types is not None:
        tlist = list(types)
        where.append(f"type IN ({', '.join('?' * len(tlist))})")
        params.extend(tlist)
    if since is not None:
        where.append("wall_time >= ?")
        params.append(since)
    if until is not None:
        where.append("wall_time < ?")
        params.append(until)
    sql = f"SELECT {_COLUMNS} FROM records WHERE {' AND '.join(where)} ORDER BY device_id, seq"
    for row in db.execute(sql, params):
        yield Record.from_row(_row(row))


def effective(records: Iterable[Record]) -> list[Record]:
    """Drop superseded records and voids: what counts after every correction.

    A record superseded by a correction is replaced by the correction; a record
    superseded by a ``record.void`` disappears; the void itself counts as nothing.
    """
    items = list(records)
    superseded = {r.supersedes for r in items if r.supersedes}
    return [r for r in items if r.id not in superseded and r.type != VOID]


def void(
    db: sqlite_utils.Database, record_id: str, reason: str, *, operator_id: str | None = None
) -> Record:
    """Void a record (e.g. a receipt marked 書損): a new record, the old one stays."""
    if not reason.strip():
        raise OdekakeError("取消の理由を入力してください")
    return append(
        db,
        VOID,
        {"reason": reason, "operator_id": operator_id, "target": record_id},
        supersedes=record_id,
    )


@dataclass
class VerifyReport:
    """What :func:`verify` found."""

    devices: dict[str, int] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    purged: int = 0

    @property
    def ok(self) -> bool:
        """True when every chain is whole."""
        return not self.problems


def verify(db: sqlite_utils.Database, *, device_id: str | None = None) -> VerifyReport:
    """Check every device's chain and sequence; report the first break per device.

    Checks, per device in sequence order: the sequence starts at 1 with no gap or
    repeat; each payload still matches its hash (purged payloads are skipped and
    counted); each record's ``prev_hash`` is the previous record's ``hash``; each
    ``hash`` matches its recomputation.
    """
    report = VerifyReport()
    broken: set[str] = set()
    expected: dict[str, tuple[int, str]] = {}
    sql = f"SELECT {_COLUMNS} FROM records"
    params: list[Any] = []
    if device_id is not None:
        sql += " WHERE device_id = ?"
        params.append(device_id)
    sql += " ORDER BY device_id, seq"
    for raw in db.execute(sql, params):
        row = _row(raw)
        dev = row["device_id"]
        report.devices[dev] = report.devices.get(dev, 0) + 1
        if dev in broken:
            continue
        want_seq, want_prev = expected.get(dev, (1, GENESIS))
        where = f"端末 {dev} の {row['seq']} 番目の記録 (id {row['id']})"

        def fail(message: str, _dev: str = dev, _where: str = where) -> None:
            report.problems.append(f"{_where}: {message}")
            broken.add(_dev)

        if row["seq"] != want_seq:
            fail(f"連番が途切れています({want_seq} 番のはずが {row['seq']} 番)")
            continue
        if row["payload"] is None:
            report.purged += 1
        elif sha256_hex(row["payload"]) != row["payload_hash"]:
            fail("内容が書き換えられています(payload のハッシュが一致しません)")
            continue
        if row["prev_hash"] != want_prev:
            fail("直前の記録とのつながり(prev_hash)が一致しません")
            continue
        recomputed = record_hash(
            id=row["id"],
            device_id=dev,
            seq=row["seq"],
            wall_time=row["wall_time"],
            hlc=row["hlc"],
            type=row["type"],
            payload_hash=row["payload_hash"],
            prev_hash=row["prev_hash"],
            supersedes=row["supersedes"],
        )
        if recomputed != row["hash"]:
            fail("記録の見出し(時刻・種別・連番など)が書き換えられています")
            continue
        expected[dev] = (row["seq"] + 1, row["hash"])
    return report
