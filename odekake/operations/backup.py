"""Backups of the hub database, and restoring one without losing a record.

A backup is taken while the hub serves (``VACUUM INTO`` runs inside one read
transaction, and WAL readers never block the writers that ingest pushes), written
under a temporary name, flushed to disk, verified like ``odekake doctor`` verifies a
live file (SQLite's integrity check, every device's record chain, the audit chain)
and only then renamed to its final name. The hub remembers each verified backup
and, per device, the highest sequence number it holds: the *backup mark*. Vans
purge personal data only below that mark (``odekake.operations.retention``), so a hub restored
from its newest verified backup lacks nothing that a van has already purged.

Each backup carries a manifest beside it (``hub-….db.manifest.json``, 0600) signed
with the hub's Ed25519 signing key (``hub.db.sign.key``): the file's name, size and
SHA-256, when it was taken, the schema version and the last sequence per device it
holds. ``hub restore`` and ``odekake doctor`` refuse a backup whose manifest is
missing, not signed by this hub's key, or does not match the file. The backup mark
counts only backups whose manifest and hash verify *now*: a truncated or edited copy
lowers the mark at once (the check is repeated whenever the file's inode status
changes, and at least every :data:`RECHECK_SECONDS`).

A hub that serves a file holds an exclusive lock beside it (``hub.db.serve.lock``);
a restore takes the same lock, so it refuses while a hub runs on the file and no
hub can start on a half-restored one.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlite_utils
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from odekake.access import audit
from odekake.errors import OdekakeError
from odekake.storage import records as rec
from odekake.storage.canonical import canonical_json
from odekake.storage.db import connect, write
from odekake.storage.private_files import write_private

BACKUP_PREFIX = "hub-"
BACKUP_SUFFIX = ".db"
DEFAULT_KEEP = 7
MANIFEST_SUFFIX = ".manifest.json"
MANIFEST_FORMAT = "odekake-backup-manifest-v1"
RECHECK_SECONDS = 600
"""A backup whose file has not changed is hashed again at least this often."""


def lock_path(db_path: Path) -> Path:
    """The lock file a serving hub holds beside its database."""
    return db_path.with_name(db_path.name + ".serve.lock")


@contextlib.contextmanager
def serving_lock(db_path: Path, *, purpose: str) -> Iterator[None]:
    """Hold the hub's exclusive lock on ``db_path`` for the block.

    Raises:
        OdekakeError: another process (a running hub, or a restore) holds it.
    """
    path = lock_path(db_path)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            owner = ""
            with contextlib.suppress(OSError):
                owner = os.pread(fd, 200, 0).decode("utf-8", "replace").strip()
            raise OdekakeError(
                f"{db_path} は使用中です({owner or '別の処理'})。"
                f"{purpose}の前にハブを停止してください(systemctl stop odekake-hub など)"
            ) from exc
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{purpose} pid {os.getpid()}".encode(), 0)
        try:
            yield
        finally:
            with contextlib.suppress(OSError):
                os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def _readonly(path: Path) -> sqlite_utils.Database:
    """Open a database file read-only and immutable, without running migrations.

    ``immutable=1``: SQLite writes nothing, not even a ``-shm`` or ``-wal`` beside it,
    so checking a backup never changes it or its folder.
    """
    conn = sqlite3.connect(
        f"{path.resolve().as_uri()}?mode=ro&immutable=1", uri=True, isolation_level=None
    )
    return sqlite_utils.Database(conn)


def open_readonly(path: Path) -> sqlite_utils.Database:
    """A backup opened so that nothing can change it (``records verify``, ``doctor``)."""
    if not path.is_file():
        raise OdekakeError(f"{path} がありません")
    return _readonly(path)


def is_backup_name(path: Path) -> bool:
    """True for a file named like a hub backup (``hub-<time>.db``) or with a manifest."""
    name = path.name
    return (name.startswith(BACKUP_PREFIX) and name.endswith(BACKUP_SUFFIX)) or manifest_path(
        path
    ).exists()


def manifest_path(backup: Path) -> Path:
    """Where a backup's signed manifest lives: beside it, ``<name>.manifest.json``."""
    return backup.with_name(backup.name + MANIFEST_SUFFIX)


def _schema(db: sqlite_utils.Database) -> dict[str, Any]:
    names = [str(r[0]) for r in db.execute("SELECT name FROM _sqlite_migrations ORDER BY rowid")]
    return {"migrations": len(names), "last": names[-1] if names else ""}


def write_manifest(
    backup: Path, key: Ed25519PrivateKey, *, marks: dict[str, int], records: int, taken_at: str
) -> Path:
    """Sign and write the backup's manifest (0600 from its first byte)."""
    from odekake.sync.keys import public_key_text, sign

    db = _readonly(backup)
    try:
        schema = _schema(db)
    finally:
        db.close()
    body = {
        "format": MANIFEST_FORMAT,
        "file": backup.name,
        "size": backup.stat().st_size,
        "sha256": _sha256(backup),
        "taken_at": taken_at,
        "schema": schema,
        "marks": marks,
        "records": records,
        "hub_key": public_key_text(key),
    }
    doc = {"manifest": body, "signature": sign(key, canonical_json(body).encode("utf-8"))}
    path = manifest_path(backup)
    write_private(path, json.dumps(doc, ensure_ascii=False, indent=1).encode("utf-8"))
    return path


class ManifestRefused(OdekakeError):
    """A backup without a valid manifest of this hub, or one that does not match it."""


def hub_public_key_for(hub_db_path: Path) -> Ed25519PublicKey:
    """The hub's public signing key, from ``<hub.db>.sign.key``.

    Raises:
        ManifestRefused: The key file is missing or unreadable.
    """
    from odekake.sync.keys import load_private_key
    from odekake.sync.wire import hub_key_path_for

    path = hub_key_path_for(hub_db_path)
    try:
        return load_private_key(path).public_key()
    except OdekakeError as exc:
        raise ManifestRefused(
            f"ハブの署名鍵 {path} がないため、バックアップの署名を確かめられません"
            f"(元のハブの {path.name} を {path.parent} に置いてください)"
        ) from exc


def check_manifest(backup: Path, hub_key: Ed25519PublicKey) -> dict[str, Any]:
    """The backup's verified manifest (hash recomputed now).

    Raises:
        ManifestRefused: With one Japanese line: no manifest, a signature that is
            not this hub's, a manifest naming another file, or a file that differs.
    """
    from odekake.storage import strictjson
    from odekake.sync.keys import verify

    where = manifest_path(backup)
    bad = f"バックアップ {backup.name} は使えません"
    try:
        doc = strictjson.loads(where.read_bytes())
        body, signature = doc["manifest"], doc["signature"]
        if not isinstance(body, dict) or not isinstance(signature, str):
            raise TypeError
    except FileNotFoundError:
        raise ManifestRefused(f"{bad}: 署名付きの目録({where.name})がありません") from None
    except (OSError, ValueError, KeyError, TypeError):
        raise ManifestRefused(f"{bad}: 目録({where.name})を読めません") from None
    if body.get("format") != MANIFEST_FORMAT or not verify(
        hub_key, canonical_json(body).encode("utf-8"), signature
    ):
        raise ManifestRefused(f"{bad}: 目録の署名がこのハブの鍵と一致しません")
    if body.get("file") != backup.name:
        raise ManifestRefused(f"{bad}: 目録は別のファイル({str(body.get('file'))[:60]})のものです")
    try:
        size = backup.stat().st_size
    except OSError:
        raise ManifestRefused(f"{bad}: ファイルがありません") from None
    if size != body.get("size") or _sha256(backup) != body.get("sha256"):
        raise ManifestRefused(
            f"{bad}: 中身が目録と一致しません(大きさ {size} バイト、目録では {body.get('size')})"
        )
    return body


_checked: dict[tuple[str, int, int, int, int, int], tuple[float, dict[str, Any] | str]] = {}


def verified_manifest(backup: Path, hub_key: Ed25519PublicKey) -> dict[str, Any] | str:
    """:func:`check_manifest`'s manifest, or why not; repeated whenever the files change.

    The result is reused only while both files' inode status (size, times, inode) is
    unchanged and for at most :data:`RECHECK_SECONDS`: any write, truncation or
    replacement changes ``st_ctime`` (which no user tool can set back), so a damaged
    backup is found on the next call.
    """
    import time

    try:
        a, b = backup.stat(), manifest_path(backup).stat()
    except OSError:
        try:
            return str(check_manifest(backup, hub_key))  # (raises with the reason)
        except ManifestRefused as exc:
            return str(exc)
    stamp = (str(backup), a.st_size, a.st_mtime_ns, a.st_ctime_ns, a.st_ino, b.st_ctime_ns)
    now = time.monotonic()
    seen = _checked.get(stamp)
    if seen is not None and now - seen[0] < RECHECK_SECONDS:
        return seen[1]
    try:
        body: dict[str, Any] | str = check_manifest(backup, hub_key)
    except ManifestRefused as exc:
        body = str(exc)
    if len(_checked) > 256:
        _checked.clear()
    _checked[stamp] = (now, body)
    return body


def _marks(db: sqlite_utils.Database) -> dict[str, int]:
    """Per device, the highest sequence number the file holds."""
    return {
        str(device): int(seq)
        for device, seq in db.execute(
            "SELECT device_id, MAX(seq) FROM records WHERE device_id != 'hub' GROUP BY device_id"
        )
    }


@dataclass
class Verification:
    """What checking one backup file found."""

    path: Path
    problems: list[str] = field(default_factory=list)
    marks: dict[str, int] = field(default_factory=dict)
    records: int = 0

    @property
    def ok(self) -> bool:
        """True when the file can be restored."""
        return not self.problems


def verify_file(path: Path) -> Verification:
    """Check a hub backup: a hub database, SQLite integrity, record chains, audit chain."""
    result = Verification(path)
    if not path.is_file():
        result.problems.append(f"{path} がありません")
        return result
    try:
        db = _readonly(path)
    except sqlite3.Error as exc:
        result.problems.append(f"{path} を開けません: {exc}")
        return result
    try:
        check = db.execute("PRAGMA integrity_check").fetchone()[0]
        if check != "ok":
            result.problems.append(f"SQLiteの整合性検査に失敗しました({check})")
            return result
        role = db.execute("SELECT value FROM meta WHERE key = 'role'").fetchone()
        if role is None or role[0] != "hub":
            result.problems.append(f"{path} はハブのデータベースではありません")
            return result
        result.problems.extend(rec.verify(db).problems)
        result.problems.extend(audit.verify(db))
        result.marks = _marks(db)
        result.records = int(db.execute("SELECT COUNT(*) FROM records").fetchone()[0])
    except sqlite3.DatabaseError as exc:
        result.problems.append(f"読み込み中にエラー: {exc}")
    finally:
        db.close()
    return result


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


@dataclass(frozen=True)
class BackupResult:
    """One ``odekake hub backup``: the new file, what was kept and what was removed."""

    path: Path
    marks: dict[str, int]
    records: int
    sha256: str
    kept: list[Path]
    removed: list[Path]

    def describe(self) -> str:
        """Japanese summary for the command line."""
        lines = [
            f"バックアップを作成し、検証しました: {self.path}(記録 {self.records:,} 件)",
        ]
        for device, seq in sorted(self.marks.items()):
            lines.append(f"  {device}: {seq} 番までを保持")
        lines.append(f"保管中の世代({len(self.kept)}):")
        lines.extend(f"  {p.name}" for p in self.kept)
        if self.removed:
            lines.append("古い世代を削除しました: " + "、".join(p.name for p in self.removed))
        return "\n".join(lines)


def generations(out_dir: Path) -> list[Path]:
    """The backups in ``out_dir``, oldest first (their names sort by time)."""
    return sorted(
        p
        for p in out_dir.glob(f"{BACKUP_PREFIX}*{BACKUP_SUFFIX}")
        if p.is_file() and not p.name.endswith(".partial" + BACKUP_SUFFIX)
    )


def take_backup(
    db_path: Path,
    out_dir: Path,
    *,
    keep: int = DEFAULT_KEEP,
    actor: str = "system",
    now: datetime | None = None,
) -> BackupResult:
    """Copy the hub database consistently into ``out_dir``, verify it, keep ``keep`` copies.

    Raises:
        OdekakeError: the database is missing, the folder cannot be written, or the
            copy does not verify (the unverified copy is removed, nothing is marked).
    """
    if keep < 1:
        raise OdekakeError("--keep は1以上にしてください")
    if not db_path.is_file():
        raise OdekakeError(f"{db_path} がありません")
    from odekake.sync.wire import ensure_hub_key

    key = ensure_hub_key(db_path)  # signs the manifest (refuses if the key file is lost)
    try:
        out_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(out_dir, 0o700)  # personal data: the folder is the owner's only
    except OSError as exc:
        raise OdekakeError(f"バックアップ先 {out_dir} を作れません: {exc.strerror}") from exc
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%S%fZ")
    final = out_dir / f"{BACKUP_PREFIX}{stamp}{BACKUP_SUFFIX}"
    partial = out_dir / f"{BACKUP_PREFIX}{stamp}.partial{BACKUP_SUFFIX}"
    db = connect(db_path, role="hub")
    try:
        try:
            # 0600 from the first byte: VACUUM INTO fills an existing empty file.
            os.close(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
            # One read transaction: a consistent copy while pushes keep committing.
            db.execute("VACUUM INTO ?", [str(partial)])
        except sqlite3.OperationalError as exc:
            with contextlib.suppress(OSError):
                partial.unlink()
            raise OdekakeError(f"バックアップを書き込めません({exc})") from exc
        os.chmod(partial, 0o600)
        _fsync(partial)
        check = verify_file(partial)
        if not check.ok:
            partial.unlink()
            raise OdekakeError(
                "バックアップの検証に失敗しました(保存していません): " + " / ".join(check.problems)
            )
        digest = _sha256(partial)
        os.replace(partial, final)
        _fsync(final)
        taken_at = rec.utc_now().isoformat(timespec="milliseconds")
        write_manifest(final, key, marks=check.marks, records=check.records, taken_at=taken_at)
        _fsync(manifest_path(final))
        with write(db):
            db.execute(
                "INSERT INTO hub_backups(taken_at, file, sha256, records, marks) "
                "VALUES (?, ?, ?, ?, ?)",
                [
                    taken_at,
                    str(final.resolve()),
                    digest,
                    check.records,
                    json.dumps(check.marks, sort_keys=True),
                ],
            )
            audit.log(
                db,
                actor,
                "backup",
                str(final),
                {"records": check.records, "marks": check.marks, "sha256": digest},
            )
    finally:
        db.close()
    existing = generations(out_dir)
    removed = existing[:-keep] if len(existing) > keep else []
    for old in removed:
        for gone in (old, manifest_path(old)):
            with contextlib.suppress(OSError):
                gone.unlink()
    kept = [p for p in existing if p not in removed]
    return BackupResult(final, check.marks, check.records, digest, kept, removed)


def _hub_key_of(db: sqlite_utils.Database) -> Ed25519PublicKey | None:
    """The signing key of the hub whose database ``db`` is (None: in memory, or no key)."""
    row = db.execute("PRAGMA database_list").fetchone()
    if row is None or not row[2]:
        return None
    try:
        return hub_public_key_for(Path(str(row[2])))
    except ManifestRefused:
        return None


def backup_mark(db: sqlite_utils.Database, device_id: str) -> int:
    """The highest sequence of ``device_id`` held in a backup that verifies now.

    The newest recorded backup whose signed manifest and SHA-256 verify at this moment
    decides (:func:`verified_manifest`); a backup deleted, truncated or edited no
    longer protects anything, so the mark falls back to an older one (never rises on
    a guess).
    """
    key = _hub_key_of(db)
    if key is None:
        return 0
    for (file,) in db.execute("SELECT file FROM hub_backups ORDER BY n DESC"):
        body = verified_manifest(Path(file), key)
        if isinstance(body, dict):
            return int(dict(body.get("marks") or {}).get(device_id, 0))
    return 0


def backup_warnings(db: sqlite_utils.Database) -> list[str]:
    """Japanese lines for ``/health`` and the console's home when the newest backup fails.

    Empty when the newest recorded backup verifies now (or none was ever taken: that
    is reported by the health check's own "no backup" line).
    """
    rows = db.execute("SELECT file FROM hub_backups ORDER BY n DESC").fetchall()
    if not rows:
        return []
    key = _hub_key_of(db)
    if key is None:
        return ["ハブの署名鍵がないため、バックアップを検証できません(消去の目安は 0)"]
    newest = Path(str(rows[0][0]))
    body = verified_manifest(newest, key)
    if isinstance(body, dict):
        return []
    fallback = "ありません"
    for (file,) in rows[1:]:
        if isinstance(verified_manifest(Path(str(file)), key), dict):
            fallback = Path(str(file)).name
            break
    return [
        f"最新のバックアップ {newest.name} を検証できません({body})。"
        f"消去の目安は検証できる最新のバックアップ({fallback})まで下がっています"
    ]


@dataclass(frozen=True)
class RestoreResult:
    """One ``odekake hub restore``."""

    restored_from: Path
    db_path: Path
    kept: Path | None
    marks: dict[str, int]
    records: int

    def describe(self) -> str:
        """Japanese summary for the command line."""
        lines = [
            f"{self.restored_from} から {self.db_path} を復元しました(記録 {self.records:,} 件)。"
        ]
        if self.kept is not None:
            lines.append(f"置き換える前のファイルは {self.kept} に残しました(削除していません)。")
        for device, seq in sorted(self.marks.items()):
            lines.append(f"  {device}: {seq} 番まで。それより後の記録は次の送信で車両から届きます")
        return "\n".join(lines)


def restore(
    backup: Path, db_path: Path, *, actor: str = "system", now: datetime | None = None
) -> RestoreResult:
    """Replace ``db_path`` with a verified copy of ``backup``; keep the replaced file.

    Raises:
        OdekakeError: a hub serves ``db_path``, or the backup does not verify (then
            nothing is changed).
    """
    try:
        check_manifest(backup, hub_public_key_for(db_path))
    except ManifestRefused as exc:
        raise ManifestRefused(f"{exc}。何も変更していません") from None
    check = verify_file(backup)
    if not check.ok:
        raise OdekakeError(
            "バックアップの検証に失敗したため復元しません: " + " / ".join(check.problems)
        )
    db_path.parent.mkdir(parents=True, exist_ok=True)
    with serving_lock(db_path, purpose="復元"):
        stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
        incoming = db_path.with_name(db_path.name + ".restoring")
        with backup.open("rb") as src, incoming.open("wb") as dst:
            while chunk := src.read(1 << 20):
                dst.write(chunk)
        os.chmod(incoming, 0o600)
        _fsync(incoming)
        kept: Path | None = None
        if db_path.exists():
            kept = db_path.with_name(f"{db_path.name}.replaced-{stamp}")
            os.replace(db_path, kept)
            for suffix in ("-wal", "-shm"):
                side = db_path.with_name(db_path.name + suffix)
                if side.exists():
                    os.replace(side, kept.with_name(kept.name + suffix))
        else:
            for suffix in ("-wal", "-shm"):
                side = db_path.with_name(db_path.name + suffix)
                if side.exists():
                    side.unlink()
        os.replace(incoming, db_path)
        _fsync(db_path)
        db = connect(db_path, role="hub")
        try:
            with write(db):
                # The restored file is itself a verified backup: its marks stand.
                db.execute(
                    "INSERT INTO hub_backups(taken_at, file, sha256, records, marks) "
                    "VALUES (?, ?, ?, ?, ?)",
                    [
                        rec.utc_now().isoformat(timespec="milliseconds"),
                        str(backup.resolve()),
                        _sha256(backup),
                        check.records,
                        json.dumps(check.marks, sort_keys=True),
                    ],
                )
                audit.log(
                    db,
                    actor,
                    "restore",
                    str(backup),
                    {"kept": str(kept) if kept else None, "marks": check.marks},
                )
        finally:
            db.close()
    return RestoreResult(backup, db_path, kept, check.marks, check.records)
