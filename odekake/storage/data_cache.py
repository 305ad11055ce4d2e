"""Computed views of the hub's data, kept until the data they were computed from moves.

:func:`data_stamp` is a cheap answer to "did anything change?" (three indexed reads):

- the records' last rowid (every synced or hub record is a new row);
- the last audit entry that may change data: every change to master data, plans,
  tallies, costs, settings made through odekake and every retention purge is
  audited, while sign-ins, views and downloads (:data:`READ_ONLY_ACTIONS`) are
  not counted, so twenty staff signing in do not throw a report away;
- the ``settings`` table itself (a few rows; a setting written without an audit
  entry still moves the stamp).

:class:`BuildOnce` is a small LRU of such views: a miss is built by one thread while
the others asking for the same key wait for it (twenty sessions opening a cold
usage page build it once, not twenty times), and it holds at most ``size`` entries.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

import sqlite_utils

V = TypeVar("V")

READ_ONLY_ACTIONS: frozenset[str] = frozenset(
    {
        "login",
        "login.failed",
        "login.locked",
        "login.throttled",
        "logout",
        "view.personal",
        "export",
        "role.denied",
        "password.change.refused",
        "reauth.failed",
    }
)
"""Audit actions that change nothing a computed view reads (sessions, views, downloads)."""

_NOT_READ_ONLY = (
    "SELECT seq FROM audit_log WHERE action NOT IN ("
    + ", ".join("?" * len(READ_ONLY_ACTIONS))
    + ") ORDER BY seq DESC LIMIT 1"
)
_READ_ONLY_PARAMS = sorted(READ_ONLY_ACTIONS)


def data_stamp(db: sqlite_utils.Database) -> tuple[str, int, int, str]:
    """What the hub's data looks like now, cheaply: (database file, records' last rowid,
    last data-changing audit entry, digest of the settings). Equal stamps mean no
    record, audited change or setting was added in between."""
    where = str(db.execute("PRAGMA database_list").fetchone()[2])
    rec = int(db.execute("SELECT COALESCE(MAX(rowid), 0) FROM records").fetchone()[0])
    row = db.execute(_NOT_READ_ONLY, _READ_ONLY_PARAMS).fetchone()
    changed = int(row[0]) if row else 0
    settings = hashlib.sha256()
    for key, value in db.execute("SELECT key, value FROM settings ORDER BY key"):
        settings.update(f"{key}\x00{value}\x01".encode())
    return where, rec, changed, settings.hexdigest()[:16]


class BuildOnce(Generic[V]):
    """A bounded LRU whose misses are built once, however many threads ask at once."""

    def __init__(self, size: int) -> None:
        if size < 1:
            raise ValueError("size must be at least 1")
        self.size = size
        self._entries: OrderedDict[Hashable, V] = OrderedDict()
        self._building: dict[Hashable, threading.Lock] = {}
        self._lock = threading.Lock()
        self.builds = 0
        """How many times a value was built (for tests and benchmarks)."""

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def _hit(self, key: Hashable) -> tuple[bool, V | None]:
        with self._lock:
            if key in self._entries:
                self._entries.move_to_end(key)
                return True, self._entries[key]
            return False, None

    def get(self, key: Hashable, build: Callable[[], V]) -> V:
        """The value for ``key``, built with ``build()`` on a miss. One build per key at
        a time: the others asking wait and take its value; a build that fails raises to
        its caller and the next waiting caller builds again."""
        found, value = self._hit(key)
        if found:
            return value  # type: ignore[return-value]
        with self._lock:
            gate = self._building.setdefault(key, threading.Lock())
        with gate:
            found, value = self._hit(key)
            if found:
                return value  # type: ignore[return-value]
            try:
                built = build()
            except BaseException:
                with self._lock:
                    self._building.pop(key, None)
                raise
            with self._lock:
                self.builds += 1
                self._entries[key] = built
                self._entries.move_to_end(key)
                while len(self._entries) > self.size:
                    self._entries.popitem(last=False)
                self._building.pop(key, None)
            return built

    def values(self) -> list[V]:
        """The values held now, least recently used first."""
        with self._lock:
            return list(self._entries.values())

    def clear(self) -> None:
        """Forget every entry."""
        with self._lock:
            self._entries.clear()
