"""Backups of the hub database, and restoring one without losing a record.

A backup is taken while the hub serves (``VACUUM INTO`` runs inside one read
transaction, and WAL readers never block the writers that ingest pushes), written
under a temporary name, flushed to disk, verified like ``odekake doctor`` verifies a
live file (SQLite's integrity check, every device's record chain, the audit chain)
and only then renamed to its final name. The hub remembers each verified backup
and, per device, the highest sequence number it holds: the *backup mark*. Vans
purge personal data only below that mark (``odekake.retention``), so a hub restored
from its newest verified backup lacks nothing that a van has already purged.

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

import sqlite_utils

from odekake import audit
from odekake import records as rec
from odekake.db import connect, write
from odekake.errors import OdekakeError

BACKUP_PREFIX = "hub-"
BACKUP_SUFFIX = ".db"
DEFAULT_KEEP = 7


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
    """Open a database file read-only, without running migrations."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, isolation_level=None)
    return sqlite_utils.Database(conn)


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
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OdekakeError(f"バックアップ先 {out_dir} を作れません: {exc.strerror}") from exc
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%S%fZ")
    final = out_dir / f"{BACKUP_PREFIX}{stamp}{BACKUP_SUFFIX}"
    partial = out_dir / f"{BACKUP_PREFIX}{stamp}.partial{BACKUP_SUFFIX}"
    db = connect(db_path, role="hub")
    try:
        try:
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
        with write(db):
            db.execute(
                "INSERT INTO hub_backups(taken_at, file, sha256, records, marks) "
                "VALUES (?, ?, ?, ?, ?)",
                [
                    rec.utc_now().isoformat(timespec="milliseconds"),
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
        with contextlib.suppress(OSError):
            old.unlink()
    kept = [p for p in existing if p not in removed]
    return BackupResult(final, check.marks, check.records, digest, kept, removed)


def backup_mark(db: sqlite_utils.Database, device_id: str) -> int:
    """The highest sequence of ``device_id`` held in a verified backup that still exists.

    The newest backup whose file is still on disk and unchanged in size decides; a
    backup deleted by hand no longer protects anything, so the mark falls back to an
    older one (never rises on a guess).
    """
    for file, marks in db.execute("SELECT file, marks FROM hub_backups ORDER BY n DESC"):
        if Path(file).is_file():
            return int(json.loads(marks).get(device_id, 0))
    return 0


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
