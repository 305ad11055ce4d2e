"""Master data: districts, sites, vans, operators, holidays, disasters.

Districts and sites as CSV files (check, import, export) are in
:mod:`odekake.masterdata.site_files`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import jpholiday
import sqlite_utils

from odekake.access.auth import DEFAULT_KDF, KdfParams, hash_pin, pin_problem
from odekake.access.authz import ROLE_LABELS as ROLE_LABELS
from odekake.access.authz import ROLES
from odekake.errors import NotFound, OdekakeError
from odekake.storage.db import write

CITY_HALL = ("いわき市役所(平)", 37.0505, 140.8877)
WEEKDAYS = "月火水木金土日"
SITE_KINDS = ("公民館", "集会所", "団地集会室", "スーパー駐車場", "支所", "その他")


@dataclass(frozen=True)
class District:
    """A 地区: the unit of fairness in the planner and a row in the usage report."""

    id: str
    name: str
    kana: str
    kind: str
    lat: float
    lon: float
    population: int | None
    notes: str = ""


# Coordinates from the domain brief (支所 locations); 中央台 is an estate in 平 and its
# point is approximate. Populations are rounded approximations used only as the
# planner's prior when there is no history.
IWAKI_DISTRICTS: tuple[District, ...] = (
    District("uchigo", "内郷", "うちごう", "支所地区", 37.0360, 140.8573, 23000),
    District("yoshima", "好間", "よしま", "支所地区", 37.0633, 140.8569, 12000),
    District("joban", "常磐", "じょうばん", "支所地区", 37.0084, 140.8461, 33000),
    District("ogawa", "小川", "おがわ", "支所地区", 37.1273, 140.8610, 6000),
    District("onahama", "小名浜", "おなはま", "支所地区", 36.9547, 140.9038, 75000),
    District("yotsukura", "四倉", "よつくら", "支所地区", 37.1098, 140.9894, 13000),
    District("tono", "遠野", "とおの", "支所地区", 37.0074, 140.7502, 5000),
    District(
        "hisanohama", "久之浜・大久", "ひさのはま・おおひさ", "支所地区", 37.1415, 140.9979, 5000
    ),
    District("nakoso", "勿来", "なこそ", "支所地区", 36.9066, 140.7910, 45000),
    District("tabito", "田人", "たびと", "支所地区", 36.9521, 140.7052, 2000),
    District("miwa", "三和", "みわ", "支所地区", 37.1429, 140.6849, 2700),
    District("kawamae", "川前", "かわまえ", "支所地区", 37.2072, 140.7512, 900),
    District(
        "chuodai",
        "中央台",
        "ちゅうおうだい",
        "団地",
        37.0300,
        140.9030,
        12000,
        "平の大規模団地(座標は概略)",
    ),
)

DISTRICT_FIELDS = ("id", "name", "kana", "kind", "lat", "lon", "population", "notes")
SITE_FIELDS = (
    "id",
    "district",
    "name",
    "kind",
    "lat",
    "lon",
    "open_weekdays",
    "open_from",
    "open_to",
    "notes",
)
SITE_HEADERS_JA = {
    "id": "ID",
    "district": "地区",
    "name": "名称",
    "kind": "種別",
    "lat": "緯度",
    "lon": "経度",
    "open_weekdays": "利用可能曜日",
    "open_from": "開始時刻",
    "open_to": "終了時刻",
    "notes": "備考",
}
_TIME = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
_ID = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


def upsert_district(db: sqlite_utils.Database, d: District) -> None:
    """Insert or update one district (inside a write transaction)."""
    db.execute(
        "INSERT INTO districts(id, name, kana, kind, lat, lon, population, notes) "
        "VALUES (?,?,?,?,?,?,?,?) ON CONFLICT(id) DO UPDATE SET name=excluded.name, "
        "kana=excluded.kana, kind=excluded.kind, lat=excluded.lat, lon=excluded.lon, "
        "population=excluded.population, notes=excluded.notes",
        [d.id, d.name, d.kana, d.kind, d.lat, d.lon, d.population, d.notes],
    )


def seed_districts(db: sqlite_utils.Database) -> None:
    """Load Iwaki's 13 districts (idempotent)."""
    with write(db):
        for d in IWAKI_DISTRICTS:
            upsert_district(db, d)


def districts(db: sqlite_utils.Database) -> list[District]:
    """All districts, in the order of the seed table (then by id)."""
    order = {d.id: i for i, d in enumerate(IWAKI_DISTRICTS)}
    rows = [
        District(
            r["id"],
            r["name"],
            r["kana"],
            r["kind"],
            r["lat"],
            r["lon"],
            r["population"],
            r["notes"],
        )
        for r in db["districts"].rows
    ]
    return sorted(rows, key=lambda d: (order.get(d.id, 999), d.id))


def district(db: sqlite_utils.Database, key: str) -> District:
    """A district by id or by its Japanese name."""
    for d in districts(db):
        if key in (d.id, d.name):
            return d
    raise NotFound(f"地区がありません: {key}")


def sites(db: sqlite_utils.Database, district_id: str | None = None) -> list[dict[str, Any]]:
    """Sites (stops), optionally of one district, ordered by district then id."""
    if district_id is None:
        return list(db["sites"].rows_where(order_by="district_id, id"))
    return list(db["sites"].rows_where("district_id = ?", [district_id], order_by="id"))


def search_sites(
    db: sqlite_utils.Database, *, district_id: str = "", text: str = "", kind: str = ""
) -> list[dict[str, Any]]:
    """Sites of a district, of a kind, whose id, name or notes contain ``text`` (all optional)."""
    t = text.strip()
    return [
        s
        for s in sites(db, district_id or None)
        if (not kind or s["kind"] == kind)
        and (not t or t in s["id"] or t in s["name"] or t in (s["notes"] or ""))
    ]


def site(db: sqlite_utils.Database, site_id: str) -> dict[str, Any]:
    """One site by id."""
    rows = list(db["sites"].rows_where("id = ?", [site_id]))
    if not rows:
        raise NotFound(f"会場(停車場所)がありません: {site_id}")
    return rows[0]


def upsert_site(db: sqlite_utils.Database, s: dict[str, Any]) -> None:
    """Insert or update one site row (inside a write transaction)."""
    cols = (
        "id",
        "district_id",
        "name",
        "kind",
        "lat",
        "lon",
        "open_weekdays",
        "open_from",
        "open_to",
        "notes",
    )
    db.execute(
        f"INSERT INTO sites({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))}) "
        "ON CONFLICT(id) DO UPDATE SET " + ", ".join(f"{c}=excluded.{c}" for c in cols[1:]),
        [s.get(c, "") for c in cols],
    )


def add_van(db: sqlite_utils.Database, van_id: str, name: str) -> None:
    """Register a van whose depot is city hall."""
    depot, lat, lon = CITY_HALL
    with write(db):
        db.execute(
            "INSERT INTO vans(id, name, depot_name, depot_lat, depot_lon) VALUES (?,?,?,?,?) "
            "ON CONFLICT(id) DO UPDATE SET name=excluded.name",
            [van_id, name, depot, lat, lon],
        )


def add_operator(
    db: sqlite_utils.Database,
    operator_id: str,
    name: str,
    roles: Iterable[str],
    pin: str,
    *,
    vans: Iterable[str] | None = None,
    kdf: KdfParams = DEFAULT_KDF,
) -> None:
    """Register (or reset) an operator with roles, a PIN of 6–8 digits and a van list.

    Args:
        vans: The vans the operator works on; ``None`` keeps the current list (a new
            operator: every van), an empty list means every van.
        kdf: The PIN KDF's cost. Leave the default; tests pass
            :data:`odekake.access.auth.TEST_ONLY_CHEAP_KDF` to stay fast.
    """
    role_list = list(roles)
    bad = [r for r in role_list if r not in ROLES]
    if bad or not role_list:
        raise OdekakeError(f"役割は {', '.join(ROLES)} から選びます: {bad}")
    problem = pin_problem(pin)
    if problem:
        raise OdekakeError(problem)
    from odekake.access.clerk_keys import KEY_ROLES, new_operator_keys

    # A clerk's key pair is made with the PIN (odekake.access.clerk_keys): the secret leaves
    # this function only sealed under the PIN; the public halves stay at the hub.
    sign_public, box_public, sealed = (
        new_operator_keys(pin, kdf) if KEY_ROLES & set(role_list) else ("", "", "")
    )
    with write(db):
        db.execute(
            "INSERT INTO operators(id, name, roles, pin_hash, sign_public, box_public, "
            "key_sealed) VALUES (?,?,?,?,?,?,?) "
            "ON CONFLICT(id) DO UPDATE SET name=excluded.name, roles=excluded.roles, "
            "pin_hash=excluded.pin_hash, sign_public=excluded.sign_public, "
            "box_public=excluded.box_public, key_sealed=excluded.key_sealed",
            [
                operator_id,
                name,
                ",".join(role_list),
                hash_pin(pin, kdf=kdf),
                sign_public,
                box_public,
                sealed,
            ],
        )
        if sign_public:
            db.execute(
                "INSERT OR IGNORE INTO operator_keys(sign_public, operator_id, created_at) "
                "VALUES (?,?,?)",
                [sign_public, operator_id, datetime.now(UTC).isoformat(timespec="seconds")],
            )
        if vans is not None:
            set_operator_vans(db, operator_id, vans)


def set_operator_vans(db: sqlite_utils.Database, operator_id: str, vans: Iterable[str]) -> None:
    """The vans an operator works on (an empty list: every van)."""
    van_list = sorted({v.strip() for v in vans if v.strip()})
    known = {str(r[0]) for r in db.execute("SELECT id FROM vans")}
    unknown = [v for v in van_list if v not in known]
    if unknown:
        raise NotFound(f"登録されていない車両です: {', '.join(unknown)}")
    with write(db):
        if db.execute("SELECT 1 FROM operators WHERE id = ?", [operator_id]).fetchone() is None:
            raise NotFound(f"職員 {operator_id} は登録されていません")
        db.execute("DELETE FROM operator_vans WHERE operator_id = ?", [operator_id])
        for v in van_list:
            db.execute(
                "INSERT INTO operator_vans(operator_id, van_id) VALUES (?, ?)", [operator_id, v]
            )


def set_local_pin(
    db: sqlite_utils.Database, operator_id: str, verifier: str, key_sealed: str | None = None
) -> None:
    """Set an operator's verifier on this van and keep it across pulls.

    The hub's verifier it replaces is remembered: while a pull brings that same
    verifier back, the local one is put back (:func:`reapply_local_pins`); a new one
    from the hub (city hall reset the PIN) wins. ``key_sealed`` is the clerk's key
    re-sealed under the new PIN (kept and put back the same way).
    """
    with write(db):
        row = db.execute("SELECT pin_hash FROM operators WHERE id = ?", [operator_id]).fetchone()
        if row is None:
            raise NotFound(f"職員 {operator_id} は登録されていません")
        kept = db.execute(
            "SELECT replaced_hash FROM local_pin_changes WHERE operator_id = ?", [operator_id]
        ).fetchone()
        replaced = str(kept[0]) if kept is not None else str(row[0])
        db.execute("UPDATE operators SET pin_hash = ? WHERE id = ?", [verifier, operator_id])
        if key_sealed:
            db.execute(
                "UPDATE operators SET key_sealed = ? WHERE id = ?", [key_sealed, operator_id]
            )
        db.execute(
            "INSERT INTO local_pin_changes(operator_id, pin_hash, replaced_hash, key_sealed) "
            "VALUES (?,?,?,?) ON CONFLICT(operator_id) DO UPDATE SET pin_hash = "
            "excluded.pin_hash, key_sealed = CASE WHEN excluded.key_sealed != '' "
            "THEN excluded.key_sealed ELSE local_pin_changes.key_sealed END",
            [operator_id, verifier, replaced, key_sealed or ""],
        )


def reapply_local_pins(db: sqlite_utils.Database) -> None:
    """After a pull: keep this van's own PIN changes unless city hall reset the PIN."""
    with write(db):
        for oid, local, replaced, sealed in db.execute(
            "SELECT operator_id, pin_hash, replaced_hash, key_sealed FROM local_pin_changes"
        ).fetchall():
            row = db.execute("SELECT pin_hash FROM operators WHERE id = ?", [oid]).fetchone()
            if row is not None and str(row[0]) == replaced:
                db.execute("UPDATE operators SET pin_hash = ? WHERE id = ?", [local, oid])
                if sealed:
                    db.execute("UPDATE operators SET key_sealed = ? WHERE id = ?", [sealed, oid])
            else:
                db.execute("DELETE FROM local_pin_changes WHERE operator_id = ?", [oid])


def operator_vans(db: sqlite_utils.Database, operator_id: str) -> list[str]:
    """The vans an operator works on (empty: every van)."""
    return [
        str(r[0])
        for r in db.execute(
            "SELECT van_id FROM operator_vans WHERE operator_id = ? ORDER BY van_id",
            [operator_id],
        )
    ]


def seed_holidays(db: sqlite_utils.Database, first_year: int, last_year: int) -> int:
    """Japanese public holidays (jpholiday) plus the city's 年末年始 closure (12/29–1/3)."""
    rows: dict[str, tuple[str, str]] = {}
    for year in range(first_year, last_year + 1):
        for day, name in jpholiday.year_holidays(year):
            rows[day.isoformat()] = (name, "national")
        for d in [date(year, 12, 29) + timedelta(days=i) for i in range(3)] + [
            date(year, 1, 1) + timedelta(days=i) for i in range(3)
        ]:
            rows.setdefault(d.isoformat(), ("年末年始(閉庁)", "city"))
    with write(db):
        for day_s, (name, kind) in rows.items():
            db.execute(
                "INSERT INTO holidays(date, name, kind) VALUES (?,?,?) ON CONFLICT(date) DO NOTHING",
                [day_s, name, kind],
            )
    return len(rows)


def is_closed(db: sqlite_utils.Database, day: date) -> bool:
    """True on weekends, public holidays and city closure days."""
    if day.weekday() >= 5:
        return True
    return (
        db.execute("SELECT 1 FROM holidays WHERE date = ?", [day.isoformat()]).fetchone()
        is not None
    )


def add_disaster(
    db: sqlite_utils.Database, disaster_id: str, name: str, day: date, causes: str = "浸水"
) -> None:
    """Define a disaster that り災 applications can refer to."""
    with write(db):
        db.execute(
            "INSERT INTO disasters(id, name, date, causes) VALUES (?,?,?,?) "
            "ON CONFLICT(id) DO UPDATE SET name=excluded.name, date=excluded.date, causes=excluded.causes",
            [disaster_id, name, day.isoformat(), causes],
        )


def seed_city(db: sqlite_utils.Database) -> None:
    """Districts, service catalogue and fees, holidays: what every database starts with."""
    from odekake.masterdata.catalog import seed_services

    seed_districts(db)
    seed_services(db)
    this_year = date.today().year
    seed_holidays(db, 2021, this_year + 2)
