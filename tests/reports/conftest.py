"""Fixtures for the report tests: a small November 2023 built as the kiosk builds it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlite_utils

from odekake.masterdata.master import seed_city
from odekake.storage import records
from odekake.storage.db import memory_db
from tests.reports import util as u

REGULAR = ["certificate", "mynumber", "garbage", "consultation", "explanation"]


def build_november(db: sqlite_utils.Database) -> None:
    """Stops A–K of November 2023 (see EXPECTED_NOVEMBER in test_report.py for the sums).

    Every number of the expected table can be traced to a line here.
    """
    d = "2023-11-"
    # A: 川前, regular; certificate corrected (copies 1→2, still one person),
    # consultation voided, 2 My Number applications, 3 visitors.
    u.open_stop(db, "A", "regular", "kawamae", u.at(d + "06", "10:00"), REGULAR)
    cert = u.certificate(db, "A", u.at(d + "06", "10:05"))
    u.certificate(db, "A", u.at(d + "06", "10:07"), copies=2, supersedes=cert.id)
    u.mynumber(db, "A", u.at(d + "06", "10:10"))
    u.mynumber(db, "A", u.at(d + "06", "10:20"))
    cons = u.consultation(db, "A", u.at(d + "06", "10:30"))
    records.void(db, cons.id, "入力誤り")
    u.explanation(db, "A", u.at(d + "06", "10:40"), 3)
    u.close_stop(db, "A", u.at(d + "06", "12:00"))
    # B: 川前 again; certificate/mynumber/consultation offered, one My Number.
    u.open_stop(
        db,
        "B",
        "regular",
        "kawamae",
        u.at(d + "20", "13:30"),
        ["certificate", "mynumber", "consultation"],
    )
    u.mynumber(db, "B", u.at(d + "20", "13:40"))
    # C: 田人, all five offered; 1 garbage ticket; frailty 4 corrected to 5.
    u.open_stop(
        db,
        "C",
        "regular",
        "tabito",
        u.at(d + "07", "10:00"),
        ["certificate", "mynumber", "garbage", "consultation", "frailty"],
    )
    u.garbage(db, "C", u.at(d + "07", "10:15"), quantity=2)
    fr = u.frailty(db, "C", u.at(d + "07", "10:30"), 4)
    u.frailty(db, "C", u.at(d + "07", "11:30"), 5, supersedes=fr.id)
    # D: 予約訪問 in 遠野: frailty 8, consultation 2, explanation offered but nobody.
    u.open_stop(
        db,
        "D",
        "reservation",
        "tono",
        u.at(d + "09", "10:00"),
        ["consultation", "frailty", "explanation"],
    )
    u.frailty(db, "D", u.at(d + "09", "10:30"), 8)
    u.consultation(db, "D", u.at(d + "09", "11:00"))
    u.consultation(db, "D", u.at(d + "09", "11:10"))
    # E: 移動期日前投票所 in 小川: 3 voters.
    u.open_stop(db, "E", "voting", "ogawa", u.at(d + "08", "10:00"), ["voting"])
    for k in range(3):
        u.vote(db, "E", u.at(d + "08", f"1{k}:30"))
    # F: その他 (an expo): 40 visitors.
    u.open_stop(db, "F", "other", "uchigo", u.at(d + "15", "10:00"), ["explanation"])
    u.explanation(db, "F", u.at(d + "15", "12:00"), 40)
    # G: り災 in 内郷: 2 applications, one voided.
    u.open_stop(db, "G", "disaster", "uchigo", u.at(d + "10", "10:00"), ["disaster"])
    u.disaster(db, "G", u.at(d + "10", "10:10"), 1)
    bad = u.disaster(db, "G", u.at(d + "10", "10:20"), 2)
    records.void(db, bad.id, "二重入力")
    # H: 中央台 at 23:30 JST on Nov 30 (14:30 UTC): November; nobody served.
    u.open_stop(db, "H", "regular", "chuodai", u.at(d + "30", "23:30"), ["certificate", "mynumber"])
    # I: 中央台 at 00:30 JST on Dec 1 (still Nov 30 in UTC): December, not November.
    u.open_stop(db, "I", "regular", "chuodai", u.at("2023-12-01", "00:30"), ["certificate"])
    u.certificate(db, "I", u.at("2023-12-01", "00:40"))
    # J: opened by mistake and voided: not a 回.
    j = u.open_stop(db, "J", "regular", "hisanohama", u.at(d + "13", "10:00"), REGULAR)
    records.void(db, j.id, "誤って開始")
    # K: opened as 好間, corrected to 久之浜・大久; one certificate.
    k = u.open_stop(
        db, "K", "regular", "yoshima", u.at(d + "14", "10:00"), ["certificate", "mynumber"]
    )
    u.open_stop(
        db,
        "K",
        "regular",
        "hisanohama",
        u.at(d + "14", "10:00"),
        ["certificate", "mynumber"],
        supersedes=k.id,
    )
    u.certificate(db, "K", u.at(d + "14", "10:30"), payment="cashless")


@pytest.fixture
def hub() -> Iterator[sqlite_utils.Database]:
    """An in-memory hub database with the city's master data."""
    db = memory_db("hub")
    seed_city(db)
    yield db
    db.close()


@pytest.fixture
def november(hub: sqlite_utils.Database) -> sqlite_utils.Database:
    """The hub with the November 2023 stops."""
    build_november(hub)
    return hub
