"""One signed format for HTTP batches and USB bundle files (JSON lines).

A bundle is UTF-8 text, one JSON object per line:

1. a header ``{"kind": "header", "format": "odekake-records", "version": 1,
   "device_id", "from_seq", "to_seq", "created_at"}``;
2. one ``{"kind": "record", ...}`` line per record with every field of
   ``docs/records.md`` (``payload`` is the canonical JSON *text* exactly as hashed,
   or null when purged);
3. a trailer ``{"kind": "trailer", "count", "sha256", "signature"}``: the SHA-256
   of every byte before the trailer line and the device's Ed25519 signature over
   that digest.

The records of a bundle are one contiguous piece of the device's chain
(``from_seq`` … ``to_seq``). Writing and verifying both stream: a bundle is never
held in memory as a whole.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import IO, Any, NoReturn

import sqlite_utils
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from odekake.errors import OdekakeError
from odekake.storage import strictjson
from odekake.storage.records import GENESIS
from odekake.sync.keys import now_iso, sign, verify

FORMAT = "odekake-records"
VERSION = 1
FIELDS = (
    "id",
    "device_id",
    "seq",
    "wall_time",
    "hlc",
    "type",
    "payload",
    "payload_hash",
    "prev_hash",
    "hash",
    "supersedes",
)
# The chain hash is recomputed for every record of a bundle. ``canonical_json`` of
# the header list is exactly "[" + the fields joined by "," + "]" with each string
# encoded as json.dumps(ensure_ascii=False) encodes strings and the int as itself;
# building it from the C string encoder directly is several times faster than
# json.dumps. (Every test bundle is made by odekake.storage.records, so a divergence fails.)
_encode_str = json.encoder.encode_basestring  # type: ignore[attr-defined]


def _header_text(rec: BundleRecord) -> str:
    e = _encode_str
    return (
        f"[{e(rec.id)},{e(rec.device_id)},{rec.seq},{e(rec.wall_time)},{e(rec.hlc)},"
        f"{e(rec.type)},{e(rec.payload_hash)},{e(rec.prev_hash)},{e(rec.supersedes or '')}]"
    )


_SELECT = f"SELECT {', '.join(FIELDS)} FROM records"


class BundleRefused(OdekakeError):
    """A bundle failed verification; nothing from it was stored."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(f"バンドルを受け付けませんでした(1件も取り込んでいません): {reason}")


def _dumps(obj: Any) -> bytes:
    return (json.dumps(obj, ensure_ascii=False, separators=(",", ":")) + "\n").encode("utf-8")


def record_line(row: tuple[Any, ...]) -> bytes:
    """One record line from a ``records`` row in :data:`FIELDS` order."""
    obj: dict[str, Any] = {"kind": "record"}
    obj.update(zip(FIELDS, row, strict=True))
    return _dumps(obj)


@dataclass
class BundleInfo:
    """What a written bundle holds."""

    device_id: str
    from_seq: int
    to_seq: int
    count: int
    sha256: str


def write_bundle(
    out: IO[bytes],
    rows: Iterable[tuple[Any, ...]],
    *,
    device_id: str,
    from_seq: int,
    to_seq: int,
    key: Ed25519PrivateKey,
) -> BundleInfo:
    """Stream a signed bundle to ``out`` from record rows (FIELDS order, by seq)."""
    digest = hashlib.sha256()
    header = _dumps(
        {
            "kind": "header",
            "format": FORMAT,
            "version": VERSION,
            "device_id": device_id,
            "from_seq": from_seq,
            "to_seq": to_seq,
            "created_at": now_iso(),
        }
    )
    out.write(header)
    digest.update(header)
    count = 0
    for row in rows:
        line = record_line(row)
        out.write(line)
        digest.update(line)
        count += 1
    hexdigest = digest.hexdigest()
    out.write(
        _dumps(
            {
                "kind": "trailer",
                "count": count,
                "sha256": hexdigest,
                "signature": sign(key, hexdigest.encode("ascii")),
            }
        )
    )
    return BundleInfo(device_id, from_seq, to_seq, count, hexdigest)


def record_rows(
    db: sqlite_utils.Database, device_id: str, from_seq: int, to_seq: int
) -> Iterator[tuple[Any, ...]]:
    """The device's records ``from_seq``..``to_seq`` as rows for :func:`write_bundle`."""
    yield from db.execute(
        f"{_SELECT} WHERE device_id = ? AND seq BETWEEN ? AND ? ORDER BY seq",
        [device_id, from_seq, to_seq],
    )


def export_range(
    db: sqlite_utils.Database,
    out: IO[bytes],
    *,
    device_id: str,
    from_seq: int,
    to_seq: int,
    key: Ed25519PrivateKey,
) -> BundleInfo:
    """Write the device's records ``from_seq``..``to_seq`` as one signed bundle."""
    return write_bundle(
        out,
        record_rows(db, device_id, from_seq, to_seq),
        device_id=device_id,
        from_seq=from_seq,
        to_seq=to_seq,
        key=key,
    )


@dataclass(frozen=True)
class BundleHeader:
    """The first line of a bundle."""

    device_id: str
    from_seq: int
    to_seq: int
    created_at: str


@dataclass(slots=True)
class BundleRecord:
    """One verified record line (``line`` is the JSON text, kept for held/quarantine)."""

    id: str
    device_id: str
    seq: int
    wall_time: str
    hlc: str
    type: str
    payload: str | None
    payload_hash: str
    prev_hash: str
    hash: str
    supersedes: str | None
    line: str

    def row(self) -> tuple[Any, ...]:
        """The ``records`` row in :data:`FIELDS` order."""
        return (
            self.id,
            self.device_id,
            self.seq,
            self.wall_time,
            self.hlc,
            self.type,
            self.payload,
            self.payload_hash,
            self.prev_hash,
            self.hash,
            self.supersedes,
        )


def parse_record_line(line: str) -> BundleRecord:
    """A record from a stored line (held / quarantined records); no chain check."""
    return _from_obj(strictjson.loads(line), line)


def _from_obj(obj: dict[str, Any], line: str) -> BundleRecord:
    """Build a record from a parsed line; ``KeyError`` names a missing field."""
    return BundleRecord(
        id=obj["id"],
        device_id=obj["device_id"],
        seq=obj["seq"],
        wall_time=obj["wall_time"],
        hlc=obj["hlc"],
        type=obj["type"],
        payload=obj["payload"],
        payload_hash=obj["payload_hash"],
        prev_hash=obj["prev_hash"],
        hash=obj["hash"],
        supersedes=obj["supersedes"],
        line=line,
    )


class BundleReader:
    """Streamed verification of a bundle.

    Reading the header looks up the device's public key (``key_lookup`` raises for
    an unknown or revoked device). :meth:`records` yields each record after
    checking its payload hash, its own hash, its sequence and its link to the
    previous record of the bundle; after the last record it checks the trailer's
    count, digest and signature. Any failure raises :class:`BundleRefused` naming
    the line and the reason, so a caller that writes inside one transaction rolls
    everything back.
    """

    def __init__(self, stream: IO[bytes], key_lookup: Callable[[str], Ed25519PublicKey]) -> None:
        self._stream = stream
        self._digest = hashlib.sha256()
        self._lineno = 0
        first = self._next_line()
        if first is None:
            raise BundleRefused("空のファイルです")
        obj = self._parse(first)
        if obj.get("kind") != "header" or obj.get("format") != FORMAT:
            raise BundleRefused("odekake の記録バンドルではありません(見出し行がありません)")
        if obj.get("version") != VERSION:
            raise BundleRefused(f"バンドルの版 {obj.get('version')} には対応していません")
        try:
            self.header = BundleHeader(
                device_id=str(obj["device_id"]),
                from_seq=int(obj["from_seq"]),
                to_seq=int(obj["to_seq"]),
                created_at=str(obj["created_at"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise BundleRefused(f"見出し行の項目が足りません: {exc}") from exc
        self._digest.update(first)
        self._public = key_lookup(self.header.device_id)
        self.count = 0

    def _next_line(self) -> bytes | None:
        line = self._stream.readline()
        if not line:
            return None
        self._lineno += 1
        return line

    def _parse(self, line: bytes) -> dict[str, Any]:
        try:
            obj = strictjson.loads(line)
        except (UnicodeDecodeError, ValueError) as exc:
            raise BundleRefused(f"{self._lineno} 行目が壊れています(JSONとして読めません)") from exc
        if not isinstance(obj, dict):
            raise BundleRefused(f"{self._lineno} 行目が壊れています")
        return obj

    def records(self) -> Iterator[BundleRecord]:
        """Yield verified records; raise :class:`BundleRefused` at the first problem."""
        dev = self.header.device_id
        want_seq = self.header.from_seq
        prev: str | None = None
        sha256 = hashlib.sha256
        loads = strictjson.loads  # a repeated key is refused, never "last wins"
        update = self._digest.update
        readline = self._stream.readline
        while True:
            raw = readline()
            if not raw:
                raise BundleRefused("末尾の署名行がありません(ファイルが途中で切れています)")
            self._lineno += 1
            try:
                text = raw.decode("utf-8")
                obj = loads(text)
                kind = obj["kind"]
            except (UnicodeDecodeError, ValueError, TypeError, KeyError) as exc:
                raise BundleRefused(
                    f"{self._lineno} 行目が壊れています(JSONとして読めません)"
                ) from exc
            if kind == "trailer":
                self._check_trailer(obj, want_seq)
                return
            if kind != "record":
                raise BundleRefused(f"{self._lineno} 行目の種類 {kind!r} が不明です")
            update(raw)
            try:
                rec = _from_obj(obj, text.rstrip("\n"))
            except KeyError as exc:
                raise BundleRefused(f"{self._lineno} 行目に項目 {exc} がありません") from exc
            if not (
                type(rec.seq) is int
                and type(rec.id) is str
                and type(rec.device_id) is str
                and type(rec.wall_time) is str
                and type(rec.hlc) is str
                and type(rec.type) is str
                and type(rec.hash) is str
                and type(rec.payload_hash) is str
                and type(rec.prev_hash) is str
                and (rec.payload is None or type(rec.payload) is str)
                and (rec.supersedes is None or type(rec.supersedes) is str)
            ):
                raise BundleRefused(f"{self._lineno} 行目の項目の型が正しくありません")
            if rec.device_id != dev:
                self._refuse(rec, f"別の端末 {rec.device_id} の記録が混ざっています")
            if rec.seq != want_seq:
                self._refuse(rec, f"連番が途切れています({want_seq} 番のはず)。記録が抜けています")
            if (
                rec.payload is not None
                and sha256(rec.payload.encode("utf-8")).hexdigest() != rec.payload_hash
            ):
                self._refuse(rec, "内容が書き換えられています(payload のハッシュ不一致)")
            link = prev if prev is not None else (GENESIS if rec.seq == 1 else None)
            if link is not None and rec.prev_hash != link:
                self._refuse(rec, "直前の記録とのつながり(prev_hash)が切れています")
            header = _header_text(rec)
            if sha256(header.encode("utf-8")).hexdigest() != rec.hash:
                self._refuse(rec, "記録の見出し(時刻・種別など)が書き換えられています")
            prev = rec.hash
            want_seq += 1
            self.count += 1
            yield rec

    def _refuse(self, rec: BundleRecord, message: str) -> NoReturn:
        raise BundleRefused(
            f"端末 {self.header.device_id} の {rec.seq} 番の記録 ({self._lineno} 行目): {message}"
        )

    def _check_trailer(self, obj: dict[str, Any], next_seq: int) -> None:
        h = self.header
        if self._stream.readline():
            raise BundleRefused("署名行の後ろに余分なデータがあります")
        if obj.get("count") != self.count:
            raise BundleRefused(
                f"件数が合いません(署名行は {obj.get('count')} 件、実際は {self.count} 件)"
            )
        if self.count and next_seq - 1 != h.to_seq:
            raise BundleRefused(f"見出しの範囲 {h.from_seq}〜{h.to_seq} 番と記録が合いません")
        hexdigest = self._digest.hexdigest()
        if obj.get("sha256") != hexdigest:
            raise BundleRefused("ファイルの内容が書き換えられています(SHA-256 が一致しません)")
        if not verify(self._public, hexdigest.encode("ascii"), str(obj.get("signature", ""))):
            raise BundleRefused(
                f"署名が端末 {h.device_id} の鍵と一致しません(別の端末の鍵で署名されたか、改ざんされています)"
            )
