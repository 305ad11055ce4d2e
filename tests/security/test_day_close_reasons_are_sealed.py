"""The day-close difference reason and the re-open reason are sealed to city hall.

Attack: both were stored in clear in the van's file (``grep -a`` finds them), next
to the day's records; an operator's reason can name a resident.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from odekake.access.auth import TEST_ONLY_CHEAP_KDF
from odekake.masterdata.master import add_operator
from odekake.services import dayclose
from odekake.storage import records as rec
from odekake.storage.db import connect
from odekake.storage.sealing import open_payload
from tests.conftest import TEST_SEAL_PRIVATE

NOW = datetime.fromisoformat("2026-11-24T17:00:00+09:00")
DIFF_REASON = "佐藤花子さんへの返金100円"
REOPEN_REASON = "鈴木一郎さんの手数料の受け直し"


def _files(path: Path) -> bytes:
    return b"".join(p.read_bytes() for p in path.parent.iterdir() if p.is_file())


def test_day_close_and_reopen_reasons_are_not_in_the_van_files(van_path: Path) -> None:
    db = connect(van_path)
    add_operator(db, "sv001", "監督 太郎", ["supervisor"], "482916", kdf=TEST_ONLY_CHEAP_KDF)
    values = {"change_float": "10000", "count_10000": "1", "count_100": "1", "reason": DIFF_REASON}
    closed = dayclose.close_day(db, values, operator_id="sv001", now=NOW)
    assert closed.payload and closed.payload["reason"] == DIFF_REASON  # printed at closing
    dayclose.reopen_day(db, NOW.date(), operator_id="sv001", reason=REOPEN_REASON, now=NOW)
    summary = dayclose.summarise(db, NOW.date())
    assert [r["reason"] for r in summary.reopenings] == ["(封印済み)"]
    stored = {r.type: r.payload for r in rec.iter_records(db) if r.type.startswith("day.")}
    db.close()
    blob = _files(van_path)
    for text in (DIFF_REASON, REOPEN_REASON, "佐藤花子", "鈴木一郎"):
        assert text.encode() not in blob, f"{text} readable in the van's files"
    # city hall opens them
    assert open_payload(stored["day.close"], TEST_SEAL_PRIVATE)["reason"] == DIFF_REASON
    assert open_payload(stored["day.reopen"], TEST_SEAL_PRIVATE)["reason"] == REOPEN_REASON
