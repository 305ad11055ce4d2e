"""SQLite storage shared by the van and the hub.

One schema (``odekake.storage.migrations``) serves both; the ``meta`` table's ``role`` says
which one a file is. Connections run in autocommit mode so that every write goes
through :func:`write`, which takes SQLite's write lock up front (``BEGIN IMMEDIATE``)
and holds a per-connection thread lock, so two writers never interleave and a
reader never blocks a writer (WAL).
"""

from __future__ import annotations

import os
import sqlite3
import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Literal

import sqlite_utils

from odekake.errors import NotFound, OdekakeError

Role = Literal["van", "hub"]
ROLES: tuple[str, ...] = ("van", "hub")

_locks: weakref.WeakKeyDictionary[sqlite_utils.Database, threading.RLock] = (
    weakref.WeakKeyDictionary()
)
_locks_guard = threading.Lock()


def _lock_for(db: sqlite_utils.Database) -> threading.RLock:
    with _locks_guard:
        lock = _locks.get(db)
        if lock is None:
            lock = threading.RLock()
            _locks[db] = lock
        return lock


def _configure(conn: sqlite3.Connection, *, memory: bool) -> None:
    conn.execute("PRAGMA busy_timeout = 30000")
    if not memory:
        mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            raise OdekakeError(f"データベースをWALモードにできません (journal_mode={mode})")
    conn.execute("PRAGMA synchronous = FULL")
    conn.execute("PRAGMA foreign_keys = ON")


def connect(
    path: str | Path,
    *,
    role: Role | None = None,
    create: bool = False,
    device_id: str | None = None,
) -> sqlite_utils.Database:
    """Open (and migrate) an odekake database.

    Args:
        path: The database file, or ``":memory:"``.
        role: ``"van"`` or ``"hub"``. Required when creating; when opening an
            existing file it must match the stored role if given.
        create: Create the file if it does not exist. Without it a missing file is
            a :class:`NotFound` error, so a typo never silently makes an empty DB.
        device_id: The device id to store when creating a van database.

    Returns:
        A ``sqlite_utils.Database`` with migrations applied.

    Raises:
        NotFound: The file does not exist and ``create`` is false.
        OdekakeError: The file is not an odekake database, or the role differs.
    """
    memory = str(path) == ":memory:"
    if not memory:
        p = Path(path)
        if not p.exists() and not create:
            raise NotFound(f"データベースファイルがありません: {p}")
        if create:
            p.parent.mkdir(parents=True, exist_ok=True)
            if not p.exists():
                # Owner-only from the first byte: residents' data and PIN verifiers
                # live here. SQLite gives the -wal and -shm files the same mode.
                os.close(os.open(p, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    try:
        conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False, timeout=30)
        _configure(conn, memory=memory)
        db = sqlite_utils.Database(conn)
        from odekake.storage.migrations import migrations

        with _lock_for(db):
            migrations.apply(db)
        stored = get_meta(db, "role")
    except sqlite3.DatabaseError as exc:
        raise OdekakeError(
            f"データベースを開けません: {path} ({exc})。ファイルが壊れている可能性があります。"
        ) from exc
    if stored is None:
        if role is None:
            raise OdekakeError(f"新しいデータベースには役割(van/hub)の指定が必要です: {path}")
        with write(db):
            set_meta(db, "role", role)
            if device_id:
                set_meta(db, "device_id", device_id)
    elif role is not None and stored != role:
        raise OdekakeError(f"{path} は {stored} のデータベースです({role} として開こうとしました)")
    return db


def memory_db(role: Role = "van", device_id: str = "van-test") -> sqlite_utils.Database:
    """A migrated in-memory database (tests and previews)."""
    return connect(
        ":memory:", role=role, create=True, device_id=device_id if role == "van" else None
    )


@contextmanager
def write(db: sqlite_utils.Database) -> Iterator[sqlite_utils.Database]:
    """Run a block as one write transaction (``BEGIN IMMEDIATE`` … ``COMMIT``).

    Nested calls join the outer transaction. Only when the outermost block exits
    without error has the data committed; only then may the UI say 「保存しました」.
    """
    lock = _lock_for(db)
    with lock:
        conn = db.conn
        if conn.in_transaction:
            yield db
            return
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
            else:
                conn.execute("COMMIT")
        except sqlite3.OperationalError as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise _friendly(exc) from exc


def _friendly(exc: sqlite3.OperationalError) -> Exception:
    """Turn storage conditions a person can act on into one clear line."""
    text = str(exc).lower()
    if "full" in text:
        return OdekakeError(
            "記憶装置(ディスク)の空きがありません。この操作は保存していません(途中までの書き込みもありません)。"
            "不要なファイルを削除するか、同期して保存期間を過ぎた個人情報を消去してから、もう一度操作してください。"
        )
    if "locked" in text or "busy" in text:
        return OdekakeError(
            "データベースが他の処理で使用中です。しばらく待ってからもう一度操作してください。"
        )
    if "readonly" in text or "read-only" in text:
        return OdekakeError(
            "データベースに書き込めません(読み取り専用)。ファイルの権限を確認してください。"
        )
    return exc


def get_meta(db: sqlite_utils.Database, key: str) -> str | None:
    """Read one value from the ``meta`` table."""
    row = db.execute("SELECT value FROM meta WHERE key = ?", [key]).fetchone()
    return None if row is None else str(row[0])


def set_meta(db: sqlite_utils.Database, key: str, value: str) -> None:
    """Write one value into the ``meta`` table (inside :func:`write`)."""
    db.execute(
        "INSERT INTO meta(key, value) VALUES (?, ?) "
        "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        [key, value],
    )


def role_of(db: sqlite_utils.Database) -> str:
    """``"van"`` or ``"hub"``."""
    return get_meta(db, "role") or "van"


def device_id_of(db: sqlite_utils.Database) -> str:
    """The device id of a van database (the hub records under its own id ``hub``)."""
    return get_meta(db, "device_id") or "hub"
