"""The demo's history: a year of synthetic visits whose rates follow the FY2022 usage table (with a flood answered by り災 sessions), and the published plan's days served."""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from functools import partial
from typing import Any

import sqlite_utils

from odekake.demo.synthetic import (
    _AVG,
    _CERT_NAMES,
    _CERTS,
    _CONSULT_TOPICS,
    _GIVEN,
    _KANA_G,
    _KANA_S,
    _SITE_TEMPLATES,
    _SURNAMES,
    _WEEKDAY_PATTERNS,
    DEVICE_ID,
    JST,
    RATES,
    VAN_ID,
)
from odekake.masterdata import master
from odekake.masterdata.catalog import ACTIVITIES, STOP_CLOSE, STOP_OPEN
from odekake.plans import IN_FORCE
from odekake.receipts import fiscal_year, format_receipt_no
from odekake.storage.records import GENESIS, Record, build_record
from odekake.storage.sealing import seal_payload


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
