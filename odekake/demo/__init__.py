"""A local demo: Iwaki's districts, plausible stops, a van, operators and a year of
synthetic history whose per-visit rates follow the FY2022 usage table.

Only synthetic residents: every name and address is made up (addresses say デモ).
Deterministic for a given ``seed`` and ``today``.
"""

from __future__ import annotations

import json
import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, timezone
from functools import partial
from pathlib import Path
from typing import Any

import sqlite_utils

from odekake.masterdata import master
from odekake.masterdata.catalog import ACTIVITIES, STOP_CLOSE, STOP_OPEN
from odekake.storage.db import connect, set_meta, write
from odekake.errors import OdekakeError
from odekake.plans import IN_FORCE
from odekake.storage.private_files import write_private
from odekake.receipts import fiscal_year, format_receipt_no
from odekake.storage.records import GENESIS, SEAL_KEY_META, Record, build_record, insert_record
from odekake.storage.sealing import generate_keypair, save_private_key, seal_payload

JST = timezone(timedelta(hours=9), "JST")
DEVICE_ID = "van-1"
HUB_KEY_FILE = "hub-seal.key"
VAN_ID = "van-1"

# Per-visit rates (users per 回) from the FY2022 table in the domain brief;
# districts not in that table use the all-district average. None = not offered.
_AVG = {
    "certificate": 3 / 22,
    "mynumber": 44 / 22,
    "garbage": 1 / 22,
    "consultation": 31 / 22,
    "frailty": 47 / 22,
}
RATES: dict[str, dict[str, float | None]] = {
    "kawamae": {
        "certificate": 0 / 5,
        "mynumber": 5 / 5,
        "garbage": 1 / 5,
        "consultation": 12 / 5,
        "frailty": 9 / 5,
    },
    "hisanohama": {
        "certificate": 2 / 6,
        "mynumber": 30 / 6,
        "garbage": None,
        "consultation": 8 / 6,
        "frailty": 14 / 6,
    },
    "tabito": {
        "certificate": 0 / 6,
        "mynumber": 1 / 6,
        "garbage": 0 / 6,
        "consultation": 8 / 6,
        "frailty": 14 / 6,
    },
    "chuodai": {
        "certificate": 1 / 5,
        "mynumber": 8 / 5,
        "garbage": None,
        "consultation": 3 / 5,
        "frailty": 10 / 5,
    },
}

OPERATORS = (
    ("op001", "山田 花子", ("operator",), "123456"),
    ("op002", "佐藤 次郎", ("operator", "clerk"), "234567"),
    ("cl001", "高橋 美咲", ("clerk",), "345678"),
    ("sv001", "鈴木 一郎", ("supervisor", "operator", "clerk"), "999999"),
)

_SITE_TEMPLATES = (
    ("{d}公民館", "公民館"),
    ("{d}地区集会所", "集会所"),
    ("{d}ふれあいセンター", "集会所"),
    ("{d}支所 駐車場", "支所"),
    ("スーパーマルト{d}店 駐車場", "スーパー駐車場"),
)
_WEEKDAY_PATTERNS = ("月火水木金", "月火水木金", "月火水木金", "月水金", "火木", "月火水木金土")
_SURNAMES = (
    "佐藤",
    "鈴木",
    "高橋",
    "渡辺",
    "遠藤",
    "斎藤",
    "菅野",
    "吉田",
    "根本",
    "草野",
    "猪狩",
    "蛭田",
)
_GIVEN = ("ヨシ子", "清", "正雄", "和子", "トミ", "勝", "幸子", "茂", "節子", "博", "キヨ", "実")
_KANA_S = (
    "サトウ",
    "スズキ",
    "タカハシ",
    "ワタナベ",
    "エンドウ",
    "サイトウ",
    "カンノ",
    "ヨシダ",
    "ネモト",
    "クサノ",
    "イガリ",
    "ヒルタ",
)
_KANA_G = (
    "ヨシコ",
    "キヨシ",
    "マサオ",
    "カズコ",
    "トミ",
    "マサル",
    "サチコ",
    "シゲル",
    "セツコ",
    "ヒロシ",
    "キヨ",
    "ミノル",
)
_CONSULT_TOPICS = ("福祉", "介護", "税", "年金", "子育て", "生活困窮", "孤独・孤立", "その他")
_CERTS = ("cert.juminhyo",) * 6 + ("cert.shotoku", "cert.nozei", "cert.inkan", "cert.koseki")
_CERT_NAMES = {
    "cert.juminhyo": ("住民票の写し", 300),
    "cert.shotoku": ("所得・課税証明書", 300),
    "cert.nozei": ("納税証明書", 300),
    "cert.inkan": ("印鑑登録証明書", 300),
    "cert.koseki": ("戸籍全部事項証明書(謄本)", 450),
}


@dataclass
class DemoSummary:
    """What the demo built."""

    directory: Path
    sites: int = 0
    hub_records: int = 0
    van_records: int = 0
    stops: int = 0
    first_day: date | None = None
    last_day: date | None = None
    unsynced_days: list[date] = field(default_factory=list)
    voters: int = 0

    def describe(self) -> str:
        """A short Japanese summary for the terminal."""
        return (
            f"デモデータを作成しました: {self.directory}\n"
            f"  hub.db: 記録 {self.hub_records} 件({self.first_day}〜{self.last_day}、{self.stops} 回の運行)\n"
            f"  van.db: 記録 {self.van_records} 件(うち未同期 {self.van_records - self.hub_records} 件)\n"
            f"  会場 {self.sites} か所、車両 1 台、職員 {len(OPERATORS)} 名"
            f"(PIN: op001=123456, sv001=999999 ほか README 参照)\n"
            f"  選挙 {DEMO_ELECTION_ID}: 本日の午前の会場が移動期日前投票所、"
            f"名簿 {self.voters} 人(投票事務 cl001=345678)\n" + console_help(self.directory)
        )


# City-hall staff of the demo (console accounts): login, name, role, password.
DEMO_STAFF = (
    ("coord", "企画 太郎(デモ)", "coordinator", "coord-demo-2026"),
    ("manager", "管理 花子(デモ)", "manager", "manager-demo-2026"),
)


def console_help(directory: Path) -> str:
    """How to open the demo's city-hall console and sign in (Japanese lines)."""
    accounts = "、".join(f"{login} / {pw}" for login, _, _, pw in DEMO_STAFF)
    return (
        f"管理画面(ブラウザ): odekake hub serve --db {directory / 'hub.db'} --port 8765 を起動し、\n"
        f"  http://127.0.0.1:8765/console/ を開いてログイン(企画担当・管理職: {accounts})"
    )


class _Chain:
    """Builds one device's chain in memory (the demo writes thousands at once)."""

    def __init__(self, device_id: str, rng: random.Random, seal_key: str | None = None) -> None:
        self.device_id = device_id
        self.rng = rng
        self.seal_key = seal_key
        self.records: list[Record] = []

    def add(self, type: str, payload: dict[str, Any], when: datetime) -> Record:
        last = self.records[-1] if self.records else None
        if self.seal_key:
            payload = seal_payload(payload, self.seal_key, self.rng, record_type=type)
        r = build_record(
            device_id=self.device_id,
            seq=len(self.records) + 1,
            prev_hash=GENESIS if last is None else last.hash,
            prev_hlc=None if last is None else last.hlc,
            type=type,
            payload=payload,
            now=when,
            rng=self.rng,
        )
        self.records.append(r)
        return r


def _poisson(rng: random.Random, lam: float) -> int:
    if lam <= 0:
        return 0
    limit, k, p = math.exp(-lam), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def _resident(rng: random.Random, district_name: str) -> dict[str, Any]:
    i, j = rng.randrange(len(_SURNAMES)), rng.randrange(len(_GIVEN))
    born = date(1935, 1, 1) + timedelta(days=rng.randrange(365 * 35))
    return {
        "name": f"{_SURNAMES[i]} {_GIVEN[j]}",
        "kana": f"{_KANA_S[i]} {_KANA_G[j]}",
        "address": f"いわき市{district_name}町デモ{rng.randint(1, 9)}丁目{rng.randint(1, 40)}番地",
        "birth_date": born.isoformat(),
        "phone": f"0246-{rng.randint(10, 99)}-{rng.randint(1000, 9999)}",
    }


def _make_sites(rng: random.Random) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for d in master.IWAKI_DISTRICTS:
        n = rng.randint(2, 5)
        for k, (tmpl, kind) in enumerate(rng.sample(_SITE_TEMPLATES, n), start=1):
            name = tmpl.format(d=d.name.split("・")[0])
            if d.id == "chuodai" and kind == "集会所":
                kind, name = "団地集会室", f"中央台{'東西南北'[k % 4]}団地 集会室"
            out.append(
                {
                    "id": f"{d.id}-{k:02d}",
                    "district_id": d.id,
                    "name": name,
                    "kind": kind,
                    "lat": round(d.lat + rng.uniform(-0.02, 0.02), 5),
                    "lon": round(d.lon + rng.uniform(-0.02, 0.02), 5),
                    "open_weekdays": rng.choice(_WEEKDAY_PATTERNS),
                    "open_from": "09:00",
                    "open_to": "17:00" if kind != "スーパー駐車場" else "19:00",
                    "notes": "デモ用の架空の会場",
                }
            )
    return out


def _at(day: date, hhmm: str, rng: random.Random | None = None, spread_min: int = 0) -> datetime:
    h, m = (int(x) for x in hhmm.split(":"))
    base = datetime.combine(day, time(h, m), tzinfo=JST)
    if rng is not None and spread_min:
        base += timedelta(minutes=rng.randint(0, spread_min))
    return base.astimezone(UTC)


class _Generator:
    def __init__(
        self, rng: random.Random, sites: list[dict[str, Any]], seal_key: str | None = None
    ) -> None:
        self.rng = rng
        self.sites = sites
        self.by_district: dict[str, list[dict[str, Any]]] = {}
        for s in sites:
            self.by_district.setdefault(s["district_id"], []).append(s)
        self.names = {d.id: d.name for d in master.IWAKI_DISTRICTS}
        self.chain = _Chain(DEVICE_ID, random.Random(rng.random()), seal_key)
        self.receipts: dict[int, int] = {}
        self.applications = 0
        self.stops = 0

    def receipt(self, day: date) -> str:
        fy = fiscal_year(day)
        self.receipts[fy] = self.receipts.get(fy, 0) + 1
        return format_receipt_no(DEVICE_ID, fy, self.receipts[fy])

    def stop(
        self,
        day: date,
        activity: str,
        site: dict[str, Any],
        window: tuple[str, str],
        services: list[str],
        operator: str = "op001",
        plan_visit_id: str | None = None,
    ) -> tuple[str, datetime]:
        self.stops += 1
        stop_id = f"{DEVICE_ID}-{day.isoformat()}-{window[0].replace(':', '')}"
        opened = _at(day, window[0], self.rng, 5)
        # A stop of the published plan names its visit, as the kiosk's open_planned does.
        planned: dict[str, Any] = (
            {"plan_visit_id": plan_visit_id, "opened_at": opened.astimezone(JST).strftime("%H:%M")}
            if plan_visit_id
            else {}
        )
        self.chain.add(
            STOP_OPEN,
            {
                **planned,
                "stop_id": stop_id,
                "activity": activity,
                "activity_label": ACTIVITIES[activity],
                "site_id": site["id"],
                "site_name": site["name"],
                "district_id": site["district_id"],
                "van_id": VAN_ID,
                "date": day.isoformat(),
                "window": f"{window[0]}-{window[1]}",
                "operator_id": operator,
                "services": services,
                "planned": True,
            },
            opened,
        )
        return stop_id, opened

    def close(self, stop_id: str, day: date, end: str) -> None:
        self.chain.add(STOP_CLOSE, {"stop_id": stop_id, "closed_at": end}, _at(day, end))

    def serve_regular(
        self,
        day: date,
        district_id: str,
        window: tuple[str, str],
        site: dict[str, Any] | None = None,
        plan_visit_id: str | None = None,
    ) -> None:
        rng = self.rng
        if site is None:
            site = rng.choice(self.by_district[district_id])
        rates = RATES.get(district_id, _AVG)
        offered = [
            c
            for c in ("certificate", "mynumber", "garbage", "consultation", "frailty")
            if rates.get(c) is not None
        ]
        offered.append("explanation")
        stop_id, t0 = self.stop(day, "regular", site, window, offered, plan_visit_id=plan_visit_id)
        t = t0
        dname = self.names[district_id]

        def tick() -> datetime:
            nonlocal t
            t += timedelta(minutes=rng.randint(3, 12))
            return t

        for _ in range(_poisson(rng, rates.get("certificate") or 0)):
            code = rng.choice(_CERTS)
            name, fee = _CERT_NAMES[code]
            copies = 1 if rng.random() < 0.85 else 2
            self.chain.add(
                "certificate.issue",
                {
                    "stop_id": stop_id,
                    "people": 1,
                    "service_code": code,
                    "service_name": name,
                    "copies": copies,
                    "fee_each": fee,
                    "amount": fee * copies,
                    "payment": "cash" if rng.random() < 0.8 else "cashless",
                    "receipt_no": self.receipt(day),
                    "requester": _resident(rng, dname),
                    "relation": "本人",
                    "id_check": {"kind": "photo", "documents": ["運転免許証"]},
                    "optional_items": [],
                    "purpose": "年金手続き",
                },
                tick(),
            )
        for _ in range(_poisson(rng, rates.get("mynumber") or 0)):
            self.applications += 1
            res = _resident(rng, dname)
            self.chain.add(
                "mynumber.apply",
                {
                    "stop_id": stop_id,
                    "people": 1,
                    "application_id": "".join(str(rng.randrange(10)) for _ in range(23)),
                    "route": "申請時来庁方式" if rng.random() < 0.7 else "交付時来庁方式",
                    "photo_taken": True,
                    "applicant": {
                        "name": res["name"],
                        "kana": res["kana"],
                        "birth_date": res["birth_date"],
                    },
                    "id_check": {"kind": "two", "documents": ["資格確認書", "年金手帳"]},
                },
                tick(),
            )
        if rates.get("garbage") is not None:
            for _ in range(_poisson(rng, rates["garbage"] or 0)):
                qty = rng.randint(1, 3)
                self.chain.add(
                    "garbage.sell",
                    {
                        "stop_id": stop_id,
                        "people": 1,
                        "service_code": "garbage.large_s",
                        "service_name": "大型ごみ納付券(小)",
                        "quantity": qty,
                        "fee_each": 520,
                        "amount": 520 * qty,
                        "payment": "cash",
                        "receipt_no": self.receipt(day),
                    },
                    tick(),
                )
        for _ in range(_poisson(rng, rates.get("consultation") or 0)):
            self.chain.add(
                "consultation.hold",
                {
                    "stop_id": stop_id,
                    "people": 1,
                    "topic": rng.choice(_CONSULT_TOPICS),
                    "remote": rng.random() < 0.3,
                    "referral": None,
                },
                tick(),
            )
        frail = _poisson(rng, rates.get("frailty") or 0)
        if frail:
            self.chain.add(
                "frailty.check", {"stop_id": stop_id, "people": frail, "sheet": None}, tick()
            )
        visitors = _poisson(rng, 4.0)
        if visitors:
            self.chain.add("explanation.visit", {"stop_id": stop_id, "people": visitors}, tick())
        self.close(stop_id, day, window[1])

    def reservation(self, day: date, district_id: str) -> None:
        site = self.rng.choice(self.by_district[district_id])
        stop_id, t0 = self.stop(
            day, "reservation", site, ("10:00", "12:00"), ["consultation", "frailty", "explanation"]
        )
        n = _poisson(self.rng, 104 / 9)
        self.chain.add(
            "frailty.check",
            {"stop_id": stop_id, "people": max(n, 1), "sheet": None},
            t0 + timedelta(minutes=30),
        )
        for _ in range(_poisson(self.rng, 5 / 9)):
            self.chain.add(
                "consultation.hold",
                {
                    "stop_id": stop_id,
                    "people": 1,
                    "topic": "介護",
                    "remote": False,
                    "referral": "地域包括支援センター",
                },
                t0 + timedelta(minutes=60),
            )
        v = _poisson(self.rng, 20 / 9)
        if v:
            self.chain.add(
                "explanation.visit", {"stop_id": stop_id, "people": v}, t0 + timedelta(minutes=70)
            )
        self.close(stop_id, day, "12:00")

    def disaster(
        self, day: date, district_id: str, window: tuple[str, str], disaster_id: str
    ) -> None:
        site = self.rng.choice(self.by_district[district_id])
        stop_id, t0 = self.stop(day, "disaster", site, window, ["disaster"])
        t = t0
        for _ in range(_poisson(self.rng, 87 / 20)):
            t += timedelta(minutes=self.rng.randint(5, 20))
            self.applications += 1
            res = _resident(self.rng, self.names[district_id])
            self.chain.add(
                "disaster.apply",
                {
                    "stop_id": stop_id,
                    "people": 1,
                    "application_no": f"D{fiscal_year(day)}-{DEVICE_ID}-{self.applications:05d}",
                    "disaster_id": disaster_id,
                    "applicant": res,
                    "relation": "本人",
                    "building_address": res["address"],
                    "cause": "浸水",
                    "residence": True,
                    "ownership": "持家" if self.rng.random() < 0.8 else "借家",
                    "water_depth_cm": self.rng.choice([-20, 10, 30, 60, 90, 120]),
                    "photos": 4,
                    "self_assessment": self.rng.random() < 0.4,
                },
                t,
            )
        self.close(stop_id, day, window[1])

    def other(self, day: date) -> None:
        site = self.rng.choice(self.sites)
        stop_id, t0 = self.stop(day, "other", site, ("10:00", "15:00"), ["explanation"])
        self.chain.add(
            "explanation.visit",
            {"stop_id": stop_id, "people": _poisson(self.rng, 75.0)},
            t0 + timedelta(hours=2),
        )
        self.close(stop_id, day, "15:00")


def _working_days(db: sqlite_utils.Database, start: date, end: date) -> list[date]:
    days, d = [], start
    while d <= end:
        if not master.is_closed(db, d):
            days.append(d)
        d += timedelta(days=1)
    return days


def generate_history(
    db: sqlite_utils.Database,
    sites: list[dict[str, Any]],
    rng: random.Random,
    start: date,
    end: date,
    seal_key: str | None = None,
    until: date | None = None,
) -> tuple[_Generator, dict[str, Any]]:
    """Build the van's record chain from ``start`` to ``end`` (in memory).

    With ``until``, the rotation is drawn to ``end`` as ever but the van serves only
    the days before ``until`` (the days from then on follow the published plan, see
    :func:`serve_plan`); the records before ``until`` are the same either way.
    """
    gen = _Generator(rng, sites, seal_key)
    days = _working_days(db, start, end)
    # A synthetic flood in the middle of the year: り災 sessions instead of rounds.
    flood_start = days[len(days) // 2]
    flood_days = [d for d in days if flood_start <= d < flood_start + timedelta(days=18)]
    flood = {
        "id": "demo-flood",
        "name": "デモ用 架空の大雨災害",
        "date": (flood_start - timedelta(days=3)).isoformat(),
    }
    affected = ["tabito", "nakoso", "uchigo", "yoshima"]
    district_ids = [d.id for d in master.IWAKI_DISTRICTS]
    months: dict[tuple[int, int], list[date]] = {}
    for d in days:
        months.setdefault((d.year, d.month), []).append(d)
    # Events are collected first and generated in time order, so the chain's
    # sequence follows the clock as it would on the van.
    events: list[tuple[date, str, Callable[[], None]]] = []
    for month_days in months.values():
        free = [d for d in month_days if d not in flood_days]
        rng.shuffle(free)
        order = district_ids[:]
        rng.shuffle(order)
        for i, did in enumerate(order[: len(free)]):
            day = free[i]
            events.append((day, "10:00", partial(gen.serve_regular, day, did, ("10:00", "12:00"))))
            if rng.random() < 0.35:
                events.append(
                    (day, "13:30", partial(gen.serve_regular, day, did, ("13:30", "15:30")))
                )
        extra = free[len(order) :]
        if extra:
            events.append(
                (extra[0], "10:00", partial(gen.reservation, extra[0], rng.choice(district_ids)))
            )
        if len(extra) > 1 and rng.random() < 0.8:
            events.append((extra[1], "10:00", partial(gen.other, extra[1])))
    for i, day in enumerate(flood_days):
        events.append(
            (
                day,
                "10:00",
                partial(
                    gen.disaster, day, affected[i % len(affected)], ("10:00", "12:00"), flood["id"]
                ),
            )
        )
        if i % 3 == 0:
            window = ("13:30", "15:30")
            events.append(
                (
                    day,
                    "13:30",
                    partial(
                        gen.disaster, day, affected[(i + 1) % len(affected)], window, flood["id"]
                    ),
                )
            )
    for day, _start, make in sorted(events, key=lambda e: (e[0], e[1])):
        if until is None or day < until:
            make()
    return gen, flood


def serve_plan(
    gen: _Generator, db: sqlite_utils.Database, first: date, last: date
) -> tuple[int, str | None]:
    """The van serves the published plan's visits from ``first`` to ``last`` at their
    site and window (``stop.open`` naming the visit), except one: the last visit of the
    first day with two or more, which the van did not reach (so 未実施 can be seen).

    Returns the visits served and the id of the one left out.
    """
    rows = db.execute(
        f'SELECT id, date, start, "end", site_id, district_id FROM plan_visits WHERE {IN_FORCE} '
        "AND van_id = ? AND date BETWEEN ? AND ? ORDER BY date, order_in_day, start",
        [VAN_ID, first.isoformat(), last.isoformat()],
    ).fetchall()
    per_day: dict[str, int] = {}
    for r in rows:
        per_day[r[1]] = per_day.get(r[1], 0) + 1
    busy = sorted(d for d, n in per_day.items() if n >= 2)
    skip = next(r[0] for r in reversed(rows) if r[1] == busy[0]) if busy else None
    sites = {s["id"]: s for s in gen.sites}
    served = 0
    for vid, day, start, end, site_id, district_id in rows:
        if vid == skip:
            continue
        gen.serve_regular(
            date.fromisoformat(day), district_id, (start, end), sites[site_id], plan_visit_id=vid
        )
        served += 1
    return served, skip


def _seed_master(
    db: sqlite_utils.Database,
    sites: list[dict[str, Any]],
    flood: dict[str, Any],
    operators_from: sqlite_utils.Database | None = None,
) -> None:
    master.seed_city(db)
    with write(db):
        for s in sites:
            master.upsert_site(db, s)
    master.add_van(db, VAN_ID, "お出かけ市役所 1号車")
    if operators_from is None:
        for oid, name, roles, pin in OPERATORS:
            master.add_operator(db, oid, name, roles, pin)
    else:  # the van gets the hub's verifiers, as a pull would (each PIN hashed once)
        cols = "id, name, roles, pin_hash, sign_public, box_public, key_sealed"
        rows = operators_from.execute(f"SELECT {cols} FROM operators").fetchall()
        with write(db):
            db.conn.executemany(f"INSERT INTO operators({cols}) VALUES (?,?,?,?,?,?,?)", rows)
    master.add_disaster(db, "r5-typhoon13", "令和5年台風第13号", date(2023, 9, 8), "浸水")
    master.add_disaster(db, flood["id"], flood["name"], date.fromisoformat(flood["date"]), "浸水")


def _publish_demo_plan(
    hub: sqlite_utils.Database,
    van: sqlite_utils.Database,
    sites: list[dict[str, Any]],
    rng: random.Random,
    today: date,
) -> None:
    """The planner's plan for four weeks from today, checked and published on the hub and
    copied to the van (as its first pull would bring it); today's stop is pinned at the
    first site of a district drawn by ``rng``.
    """
    from planner.demo_plan import copy_published, publish_demo_plan

    order = [d.id for d in master.IWAKI_DISTRICTS]
    rng.shuffle(order)
    site_id = next(s["id"] for s in sites if s["district_id"] == order[0])
    plan_id = publish_demo_plan(hub, today, site_id)
    copy_published(hub, van, plan_id)


DEMO_ELECTION_ID = "demo-election"
DEMO_HUB_URL = "http://127.0.0.1:8765"
# The demo roll: (番号, index into the name tables, birth date). Women's given names
# are the ones at even positions in _GIVEN_SEX below; everyone lives at a デモ address.
_DEMO_VOTERS = (
    ("D0001", 0, 0, "1941-04-03"),
    ("D0002", 1, 1, "1938-11-20"),
    ("D0003", 2, 3, "1950-03-02"),
    ("D0004", 3, 5, "1946-07-15"),
    ("D0005", 4, 6, "1944-01-05"),
    ("D0006", 5, 7, "1952-09-30"),
    ("D0007", 6, 8, "1939-12-12"),
    ("D0008", 7, 9, "1948-05-06"),
)
_FEMALE_GIVEN = {"ヨシ子", "和子", "トミ", "幸子", "節子", "キヨ"}


def _demo_election(
    hub: sqlite_utils.Database, van: sqlite_utils.Database, directory: Path, today: date
) -> int:
    """An election whose early voting covers the demo's days, with today's stop as a
    mobile station served by the demo van, a synthetic roll (デモ addresses) on both,
    and one voter who already voted at 平支所 yesterday (so 投票不可 can be seen).

    The demo station is open all day so that the demo can be tried at any hour; a
    real mobile station has its own hours (e.g. 10:00–17:00). Returns the roll size.
    """
    from odekake.voting import checkin as ck
    from odekake.voting import elections as el
    from odekake.voting import roll as rl

    row = hub.execute(
        "SELECT id, site_id, district_id FROM plan_visits WHERE date = ? AND van_id = ? "
        "ORDER BY order_in_day LIMIT 1",
        [today.isoformat(), VAN_ID],
    ).fetchone()
    visit_id, site_id, district_id = row
    district = master.district(hub, district_id)
    site_name = master.site(hub, site_id)["name"]
    election = el.election_from_dict(
        {
            "id": DEMO_ELECTION_ID,
            "name": "いわき市長選挙(デモ)",
            "early_from": (today - timedelta(days=3)).isoformat(),
            "early_to": (today + timedelta(days=3)).isoformat(),
            "election_day": (today + timedelta(days=4)).isoformat(),
            "ballots": [{"kind": "shicho", "label": "市長"}],
            "stations": [
                {
                    "id": "taira",
                    "name": "平支所",
                    "kind": "fixed",
                    "opens": "08:30",
                    "closes": "20:00",
                    "vans": ["taira-counter"],
                },
                {
                    "id": "demo-van",
                    "name": f"移動期日前投票所({site_name})",
                    "kind": "mobile",
                    "date": today.isoformat(),
                    "opens": "00:00",
                    "closes": "23:59",
                    "district": district_id,
                    "site_id": site_id,
                    "precincts": [f"{district.name}第1"],
                    "vans": [VAN_ID],
                },
            ],
        }
    )
    lines = ["選挙人番号,氏名,フリガナ,生年月日,性別,住所,投票区"]
    for k, (no, i, j, born) in enumerate(_DEMO_VOTERS):
        sex = "女" if _GIVEN[j] in _FEMALE_GIVEN else "男"
        address = f"いわき市{district.name}町デモ{k % 3 + 1}丁目{k * 4 + 3}番地"
        lines.append(
            f"{no},{_SURNAMES[i]} {_GIVEN[j]},{_KANA_S[i]} {_KANA_G[j]},{born},{sex},"
            f"{address},{district.name}第1"
        )
    roll_csv = directory / "demo-roll.csv"
    write_private(roll_csv, ("\n".join(lines) + "\n").encode("utf-8"))  # the roll: 0600
    el.save_election(hub, election)
    n = rl.import_roll(hub, DEMO_ELECTION_ID, roll_csv)
    # today's first stop offers early voting (on the hub and on the van alike)
    for db in (hub, van):
        services = json.loads(
            db.execute("SELECT services FROM plan_visits WHERE id = ?", [visit_id]).fetchone()[0]
        )
        with write(db):
            db.execute(
                "UPDATE plan_visits SET services = ? WHERE id = ?",
                [json.dumps(["voting", *services]), visit_id],
            )
    # D0008 already voted at 平支所 yesterday: the hub says 投票不可 for them
    yesterday = datetime.combine(today - timedelta(days=1), time(10, 30), tzinfo=JST)
    ck.checkin(
        hub,
        ck.CheckinRequest(
            request_id=f"demo-{today.isoformat()}-taira-1",
            election_id=DEMO_ELECTION_ID,
            voter_no=_DEMO_VOTERS[-1][0],
            station_id="taira",
            clerk_id="cl001",
            device_id="taira-counter",
            reason="work",
        ),
        now=yesterday,
    )
    # the van holds what its first pull would bring: the election and the roll copy
    el.import_election(van, el.export_election(hub, DEMO_ELECTION_ID))
    rl.load_roll(van, DEMO_ELECTION_ID, rl.roll_snapshot(hub, DEMO_ELECTION_ID))
    return n


def _insert_records(
    hub: sqlite_utils.Database, van: sqlite_utils.Database, records: list[Record], cut_utc: str
) -> None:
    """The van holds every record; the hub those before ``cut_utc`` (synced)."""
    with write(hub):
        for r in records:
            if r.wall_time < cut_utc:
                insert_record(hub, r)
    with write(van):
        for r in records:
            insert_record(van, r)


def build_demo(
    directory: Path, *, seed: int = 7, today: date | None = None, force: bool = False
) -> DemoSummary:
    """Create ``directory/hub.db`` and ``directory/van.db``.

    The hub holds a year of history from the van (as if synced); the van holds the
    same chain plus the last few working days' records, not yet synced.
    """
    today = today or datetime.now(JST).date()
    directory.mkdir(parents=True, exist_ok=True)
    hub_path, van_path = directory / "hub.db", directory / "van.db"
    demo_files = (hub_path, van_path, directory / HUB_KEY_FILE, directory / "van.db.key")
    for p in (*demo_files, directory / "hub.db.sign.key"):
        if p.exists():
            if not force:
                raise OdekakeError(f"{p} はすでにあります。作り直すときは --force を付けてください")
            for suffix in ("", "-wal", "-shm"):
                Path(str(p) + suffix).unlink(missing_ok=True)
    rng = random.Random(seed)
    sites = _make_sites(rng)
    hub = connect(hub_path, role="hub", create=True)
    van = connect(van_path, role="van", create=True, device_id=DEVICE_ID)
    start = today - timedelta(days=365)
    master.seed_holidays(hub, start.year, today.year + 1)
    recent = _working_days(hub, today - timedelta(days=10), today - timedelta(days=1))
    unsynced = recent[-3:]
    cut = unsynced[0] if unsynced else today
    # City hall's sealing key: vans seal residents' personal fields to it (see
    # odekake.storage.sealing); the private key stays next to hub.db, never on the van.
    private, public = generate_keypair(random.Random(seed * 7919 + 1))
    save_private_key(private, directory / HUB_KEY_FILE)
    from planner.demo_plan import plan_start

    # The history follows its own rotation up to the published plan's first day; from
    # then on the van serves the plan (below), so planned versus actual has days to show.
    first_planned = plan_start(today)
    gen, flood = generate_history(
        hub, sites, rng, start, today - timedelta(days=1), public, until=first_planned
    )
    for db in (hub, van):
        _seed_master(db, sites, flood, None if db is hub else hub)
        master.seed_holidays(db, start.year, today.year + 1)
        with write(db):
            set_meta(db, SEAL_KEY_META, public)
            db.execute("INSERT INTO settings(key, value) VALUES (?, ?)", [SEAL_KEY_META, public])
    cut_utc = (
        datetime.combine(cut, time(0, 0), tzinfo=JST)
        .astimezone(UTC)
        .isoformat(timespec="milliseconds")
    )
    history = list(gen.chain.records)
    _insert_records(hub, van, history, cut_utc)
    # Today is always planned, even on a holiday, so the demo kiosk has stops to open
    # (an opened day, as a coordinator would open a weekend for an event). The planner
    # reads the history above to forecast users, so the plan comes after it.
    _publish_demo_plan(hub, van, sites, random.Random(seed + 1), today)
    serve_plan(gen, hub, first_planned, today - timedelta(days=1))
    _insert_records(hub, van, gen.chain.records[len(history) :], cut_utc)
    synced = [r for r in gen.chain.records if r.wall_time < cut_utc]
    with write(van):
        set_meta(van, "demo_synced_through_seq", str(len(synced)))
    voters = _demo_election(hub, van, directory, today)
    from odekake.sync.keys import enroll_synced

    enroll_synced(
        van, hub, van_path, len(synced), hub_path
    )  # the demo van is enrolled and synced up to here
    from odekake.storage.receipt_mac import ensure_device_key

    # The receipts' 確認コード key, as the van's first pull would bring it.
    receipt_key = ensure_device_key(hub, DEVICE_ID)
    with write(van):
        van.execute(
            "INSERT INTO receipt_keys(device_id, key) VALUES (?, ?) "
            "ON CONFLICT(device_id) DO UPDATE SET key = excluded.key",
            [DEVICE_ID, receipt_key],
        )
    from odekake.sync.client import remember_hub_url

    # The hub of the README's tour (odekake hub serve --port 8765): key 8 then knows
    # where to check voters in, and says so when that hub is not running.
    remember_hub_url(van, DEVICE_ID, DEMO_HUB_URL)
    from odekake.access.staff import add_staff

    for login, name, role, password in DEMO_STAFF:
        add_staff(hub, login, name, role, password, actor="demo")
    return DemoSummary(
        directory=directory,
        sites=len(sites),
        hub_records=len(synced),
        van_records=len(gen.chain.records),
        stops=gen.stops,
        first_day=start,
        last_day=today - timedelta(days=1),
        unsynced_days=unsynced,
        voters=voters,
    )
