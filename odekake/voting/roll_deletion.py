"""Deleting the van's copy of an election's roll when the election closes.

Apart from :mod:`odekake.voting.roll` so that both the election's own module (an election
received closed by down-sync) and the roll's (``election close`` on the van) can delete the
copy without importing each other.
"""

from __future__ import annotations

import sqlite_utils

from odekake.access import clerk_keys
from odekake.storage.db import write


def delete_roll(van_db: sqlite_utils.Database, election_id: str) -> int:
    """Delete every roll row of an election (the van's copy, when the election closes).

    On a van the sealed copy and its wrapped keys go too, overwritten on disk
    (``secure_delete``) and checkpointed out of the WAL.

    Returns:
        The number of rows deleted (sealed rolls count as one).
    """
    with write(van_db):
        van_db.execute("PRAGMA secure_delete = ON")
        cur = van_db.execute("DELETE FROM roll WHERE election_id = ?", [election_id])
        n = int(cur.rowcount)
        n += int(
            van_db.execute("DELETE FROM roll_sealed WHERE election_id = ?", [election_id]).rowcount
        )
        van_db.execute("DELETE FROM roll_wraps WHERE election_id = ?", [election_id])
    clerk_keys.forget(van_db, f"roll:{election_id}:")
    return n
