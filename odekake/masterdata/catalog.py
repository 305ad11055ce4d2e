"""The service catalogue, the activity kinds and the dated fee table.

Categories are the usage report's columns; activities are its rows. Keys are
stable ASCII identifiers used in record payloads; labels are what people read.
Fees are data (each city sets them by ordinance), looked up by date.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import sqlite_utils

from odekake.errors import NotFound, ValidationError
from odekake.storage.db import write

# Report columns (利用(相談)者数 by category), in print order.
CATEGORIES: dict[str, str] = {
    "certificate": "証明書",
    "mynumber": "マイナンバーカード",
    "garbage": "ごみ納付券",
    "consultation": "相談",
    "frailty": "フレイル",
    "disaster": "り災申請",
    "voting": "期日前投票",
    "explanation": "説明/見学",
}

# The five categories a 地区定期巡回 row reports per column.
REPORT_COLUMNS: tuple[str, ...] = ("certificate", "mynumber", "garbage", "consultation", "frailty")

# The categories counted as 利用(相談)者 (the usage report's 計): everything but 説明/見学,
# whose visitors are counted apart (活動等説明者数) wherever residents are counted.
USER_CATEGORIES: tuple[str, ...] = (*REPORT_COLUMNS, "disaster", "voting")

# Report rows: the kind of activity a stop (one 回) belongs to.
ACTIVITIES: dict[str, str] = {
    "regular": "地区定期巡回",
    "reservation": "予約訪問",
    "disaster": "り災証明書出張申請受付",
    "voting": "移動期日前投票所",
    "other": "その他",
}

# Record types that serve residents, and the report category each counts under.
# Every such record's payload has ``stop_id`` and ``people`` (residents served,
# normally 1; a frailty session or a visitor counter may count more).
SERVICE_RECORD_TYPES: dict[str, str] = {
    "certificate.issue": "certificate",
    "mynumber.apply": "mynumber",
    "garbage.sell": "garbage",
    "consultation.hold": "consultation",
    "frailty.check": "frailty",
    "disaster.apply": "disaster",
    "vote.cast": "voting",
    "explanation.visit": "explanation",
}

STOP_OPEN = "stop.open"
STOP_CLOSE = "stop.close"


@dataclass(frozen=True)
class Service:
    """One orderable service (a certificate type, a ticket kind, …)."""

    code: str
    category: str
    name: str
    chargeable: bool


# (code, category, name, chargeable, default fee in yen)
DEFAULT_SERVICES: tuple[tuple[str, str, str, bool, int], ...] = (
    ("cert.juminhyo", "certificate", "住民票の写し", True, 300),
    ("cert.jominhyo", "certificate", "除票の写し", True, 300),
    ("cert.kisai", "certificate", "住民票記載事項証明書", True, 300),
    ("cert.fuhyo", "certificate", "戸籍の附票の写し", True, 300),
    ("cert.inkan", "certificate", "印鑑登録証明書", True, 300),
    ("cert.shotoku", "certificate", "所得・課税証明書", True, 300),
    ("cert.nozei", "certificate", "納税証明書", True, 300),
    ("cert.koseki", "certificate", "戸籍全部事項証明書(謄本)", True, 450),
    ("cert.koseki_kojin", "certificate", "戸籍個人事項証明書(抄本)", True, 450),
    ("cert.joseki", "certificate", "除籍・改製原戸籍謄本", True, 750),
    ("garbage.large_s", "garbage", "大型ごみ納付券(小)", True, 520),
    ("garbage.large_m", "garbage", "大型ごみ納付券(中)", True, 1040),
    ("garbage.large_l", "garbage", "大型ごみ納付券(大)", True, 1560),
    ("mynumber.apply", "mynumber", "マイナンバーカード新規申請支援", False, 0),
    ("disaster.risai", "disaster", "り災証明書 申請受付", False, 0),
    ("disaster.hisai", "disaster", "被災証明願 受付", False, 0),
    ("consultation", "consultation", "相談", False, 0),
    ("frailty", "frailty", "フレイル予防チェック", False, 0),
    ("explanation", "explanation", "車両見学・事業説明", False, 0),
    ("voting", "voting", "期日前投票", False, 0),
)

FEES_VALID_FROM = "2014-04-01"


def seed_services(db: sqlite_utils.Database) -> None:
    """Load the default catalogue and fee table (idempotent)."""
    with write(db):
        for sort, (code, category, name, chargeable, fee) in enumerate(DEFAULT_SERVICES):
            db.execute(
                "INSERT INTO services(code, category, name, chargeable, sort) VALUES (?,?,?,?,?) "
                "ON CONFLICT(code) DO UPDATE SET category=excluded.category, "
                "name=excluded.name, chargeable=excluded.chargeable, sort=excluded.sort",
                [code, category, name, int(chargeable), sort],
            )
            exists = db.execute("SELECT 1 FROM fees WHERE service_code = ?", [code]).fetchone()
            if exists is None:
                db.execute(
                    "INSERT INTO fees(service_code, amount, valid_from, note) VALUES (?,?,?,?)",
                    [code, fee, FEES_VALID_FROM, "既定値(条例で定める額に置き換えてください)"],
                )


def services(db: sqlite_utils.Database, category: str | None = None) -> list[Service]:
    """The catalogue, in display order, optionally one category."""
    sql = "SELECT code, category, name, chargeable FROM services"
    params: list[str] = []
    if category is not None:
        sql += " WHERE category = ?"
        params.append(category)
    sql += " ORDER BY sort, code"
    return [Service(r[0], r[1], r[2], bool(r[3])) for r in db.execute(sql, params)]


def service(db: sqlite_utils.Database, code: str) -> Service:
    """One service by code."""
    row = db.execute(
        "SELECT code, category, name, chargeable FROM services WHERE code = ?", [code]
    ).fetchone()
    if row is None:
        raise NotFound(f"サービスの種類がありません: {code}")
    return Service(row[0], row[1], row[2], bool(row[3]))


def fee_for(db: sqlite_utils.Database, code: str, on: date) -> int:
    """The fee in yen for one unit of a service on a given day.

    Raises:
        ValidationError: No fee row covers that day (an "unknown fee").
    """
    day = on.isoformat()
    row = db.execute(
        "SELECT amount FROM fees WHERE service_code = ? AND valid_from <= ? "
        "AND (valid_to IS NULL OR valid_to >= ?) ORDER BY valid_from DESC LIMIT 1",
        [code, day, day],
    ).fetchone()
    if row is None:
        raise ValidationError(f"{day} に有効な手数料が料金表にありません({code})", field="fee")
    return int(row[0])


def set_fee(
    db: sqlite_utils.Database, code: str, amount: int, valid_from: date, note: str = ""
) -> None:
    """Add a new fee from a date on; the previous row ends the day before."""
    service(db, code)
    if amount < 0:
        raise ValidationError("手数料は0円以上です", field="fee")
    start = valid_from.isoformat()
    with write(db):
        db.execute(
            "UPDATE fees SET valid_to = date(?, '-1 day') WHERE service_code = ? "
            "AND valid_to IS NULL AND valid_from < ?",
            [start, code, start],
        )
        db.execute(
            "INSERT INTO fees(service_code, amount, valid_from, note) VALUES (?,?,?,?)",
            [code, amount, start, note],
        )
