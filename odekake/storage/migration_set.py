"""The one ``sqlite_utils.Migrations`` set and the helper its steps run SQL with.

The steps live in :mod:`odekake.storage.schema_base` and
:mod:`odekake.storage.schema_changes`; :mod:`odekake.storage.migrations` registers them in order.
"""

from __future__ import annotations

import sqlite3

import sqlite_utils
from sqlite_utils import Migrations

migrations = Migrations("odekake")


def run_script(db: sqlite_utils.Database, script: str) -> None:
    """Execute a multi-statement script inside the current transaction.

    ``sqlite3.executescript`` would COMMIT first and break the migration's
    atomicity, so statements are split (triggers included) and run one by one.
    """
    buffer = ""
    for line in script.splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            db.execute(buffer)
            buffer = ""
    if buffer.strip():
        raise ValueError(f"incomplete SQL statement in migration: {buffer!r}")
