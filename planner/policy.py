"""Read the planning policy (TOML) and the hub's master data into a :class:`PlanInput`.

The format is documented, section by section, in ``examples/plan.toml`` and
``docs/planner.md``. Dates are ISO (``"2026-12-08"``) or an integer N meaning the
N-th calendar day of the horizon (1 = its first day), so one policy file can be
reused month after month.
"""

from __future__ import annotations

import calendar
import json
import tomllib
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import sqlite_utils

from odekake import master
from planner.demand import forecast
from planner.inputs import (
    ACTIVITY_DISASTER,
    ACTIVITY_RESERVATION,
    ACTIVITY_VOTING,
    WEEKDAY_CHARS,
    Day,
    District,
    Forbid,
    KeptVisit,
    Pin,
    PinnedEvent,
    PlanInput,
    Policy,
    PolicyError,
    Site,
    Stop,
    Van,
    Weights,
    Window,
    depot_node,
    parse_hhmm,
)
from planner.travel import read_matrix, straight_line_matrix

JST = timezone(timedelta(hours=9), "JST")
DEFAULT_WINDOWS = ("10:00-12:00", "13:30-15:30")
SECTIONS = {
    "horizon",
    "vans",
    "windows",
    "travel",
    "districts",
    "sites",
    "demand",
    "services",
    "weights",
    "calendar",
    "events",
    "pins",
    "forbid",
}


def _table(doc: dict[str, Any], key: str) -> dict[str, Any]:
    value = doc.get(key, {})
    if not isinstance(value, dict):
        raise PolicyError(f"[{key}] は表(テーブル)で書きます")
    return value


# The working days of the horizon being read, for "+N" dates (set by policy_from_dict).
_WORKDAYS: list[date] = []


def _date(value: Any, start: date | None, what: str) -> date:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str) and value.startswith("+") and value[1:].isdigit():
        n = int(value[1:])
        if not 1 <= n <= len(_WORKDAYS):
            raise PolicyError(f"{what}: 計画期間の稼働日は{len(_WORKDAYS)}日です({value} は範囲外)")
        return _WORKDAYS[n - 1]
    if isinstance(value, int) and start is not None:
        if value < 1:
            raise PolicyError(f"{what}: 日の番号は1以上です({value})")
        return start + timedelta(days=value - 1)
    try:
        return date.fromisoformat(str(value))
    except ValueError as exc:
        raise PolicyError(
            f"{what}: 日付は 2026-12-08 の形か期間の何日目かで書きます({value!r})"
        ) from exc


def _horizon(doc: dict[str, Any], today: date) -> tuple[date, date]:
    h = _table(doc, "horizon")
    raw = h.get("start", "next-month")
    if raw == "next-month":
        y, m = (today.year + 1, 1) if today.month == 12 else (today.year, today.month + 1)
        start = date(y, m, 1)
    else:
        start = _date(raw, None, "horizon.start")
    if "end" in h:
        end = _date(h["end"], start, "horizon.end")
    elif "days" in h:
        end = start + timedelta(days=int(h["days"]) - 1)
    else:
        months = int(h.get("months", 1))
        y, m = start.year, start.month + months - 1
        y, m = y + (m - 1) // 12, (m - 1) % 12 + 1
        end = date(y, m, calendar.monthrange(y, m)[1])
    return start, end


def _windows(values: Any, what: str) -> tuple[Window, ...]:
    if not isinstance(values, list) or not values:
        raise PolicyError(f'{what} は ["10:00-12:00", …] の形で書きます')
    return tuple(sorted((Window.parse(v) for v in values), key=lambda w: w.start))


def _weekdays(text: str) -> frozenset[int]:
    return frozenset(WEEKDAY_CHARS.index(ch) for ch in text if ch in WEEKDAY_CHARS)


def load_sites(db: sqlite_utils.Database, exclude: set[str]) -> list[Site]:
    """All sites of the master data as planner inputs."""
    return [
        Site(
            id=s["id"],
            district_id=s["district_id"],
            name=s["name"],
            lat=float(s["lat"]),
            lon=float(s["lon"]),
            open_weekdays=_weekdays(s["open_weekdays"]),
            open_from=parse_hhmm(s["open_from"]),
            open_to=parse_hhmm(s["open_to"]),
        )
        for s in master.sites(db)
        if s["id"] not in exclude
    ]


def _districts(doc: dict[str, Any], db: sqlite_utils.Database) -> list[District]:
    table = _table(doc, "districts")
    default = table.get("default", {})
    rows = master.districts(db)
    by_key = {d.id: d for d in rows} | {d.name: d for d in rows}
    for key in table:
        if key != "default" and key not in by_key:
            raise PolicyError(f"[districts.{key}] の地区がマスタにありません")
    out = []
    for d in rows:
        rule = dict(default)
        rule.update(table.get(d.id, {}))
        rule.update(table.get(d.name, {}))
        unknown = set(rule) - {"min_visits", "max_visits", "min_days_between", "weight"}
        if unknown:
            raise PolicyError(f"地区の設定に不明な項目があります: {', '.join(sorted(unknown))}")
        out.append(
            District(
                id=d.id,
                name=d.name,
                lat=d.lat,
                lon=d.lon,
                population=d.population,
                min_visits=int(rule.get("min_visits", 0)),
                max_visits=int(rule.get("max_visits", 99)),
                min_days_between=int(rule.get("min_days_between", 1)),
                weight=float(rule.get("weight", 1.0)),
            )
        )
    return out


def _vans(doc: dict[str, Any], db: sqlite_utils.Database, start: date) -> list[Van]:
    rows = {r["id"]: r for r in db.query("SELECT * FROM vans ORDER BY id")}
    if not rows:
        raise PolicyError("車両がマスタに登録されていません")
    wanted = doc.get("vans") or [{"id": vid} for vid in rows]
    if not isinstance(wanted, list):
        raise PolicyError("[[vans]] は車両ごとの表の並びで書きます")
    out = []
    for v in wanted:
        row = rows.get(v.get("id", ""))
        if row is None:
            raise PolicyError(f"車両 {v.get('id')!r} がマスタにありません")
        shift = str(v.get("shift", f"{row['shift_start']}-{row['shift_end']}"))
        w = Window.parse(shift)
        out.append(
            Van(
                id=row["id"],
                name=row["name"],
                depot_name=row["depot_name"],
                depot_lat=float(row["depot_lat"]),
                depot_lon=float(row["depot_lon"]),
                shift_start=w.start,
                shift_end=w.end,
                maintenance=frozenset(
                    _date(x, start, f"車両 {row['id']} の整備日") for x in v.get("maintenance", [])
                ),
            )
        )
    return out


def _events(doc: dict[str, Any], start: date) -> list[PinnedEvent]:
    ev = _table(doc, "events")
    out: list[PinnedEvent] = []
    for i, e in enumerate(ev.get("voting", []), start=1):
        day = _date(e.get("date"), start, "期日前投票の日付")
        stops = []
        for s in e.get("stops", []):
            if "window" in s:
                w = Window.parse(s["window"])
            else:
                w = Window(parse_hhmm(s.get("start", "")), parse_hhmm(s.get("end", "")))
            stops.append(Stop(str(s.get("site", "")), w))
        out.append(
            PinnedEvent(
                id=str(e.get("id", f"voting-{i}")),
                kind=ACTIVITY_VOTING,
                date_from=day,
                date_to=day,
                label=str(e.get("label", "移動期日前投票所")),
                van_id=e.get("van"),
                stops=tuple(stops),
                services=("voting",),
            )
        )
    for i, e in enumerate(ev.get("disaster", []), start=1):
        out.append(
            PinnedEvent(
                id=str(e.get("id", f"disaster-{i}")),
                kind=ACTIVITY_DISASTER,
                date_from=_date(e.get("start"), start, "災害対応の開始日"),
                date_to=_date(e.get("end"), start, "災害対応の終了日"),
                label=str(e.get("label", "り災証明書出張申請受付")),
                van_id=e.get("van"),
                site_ids=tuple(str(s) for s in e.get("sites", [])),
                services=("disaster",),
            )
        )
    for i, e in enumerate(ev.get("reservation", []), start=1):
        out.append(
            PinnedEvent(
                id=str(e.get("id", f"reservation-{i}")),
                kind=ACTIVITY_RESERVATION,
                date_from=_date(e.get("from"), start, "予約訪問の開始日"),
                date_to=_date(e.get("to", e.get("from")), start, "予約訪問の終了日"),
                label=str(e.get("label", "予約訪問")),
                van_id=e.get("van"),
                site_ids=(str(e.get("site", "")),),
                services=tuple(e.get("services", ["consultation", "frailty"])),
                window=Window.parse(e["window"]) if "window" in e else None,
            )
        )
    unknown = set(ev) - {"voting", "disaster", "reservation"}
    if unknown:
        raise PolicyError(f"[events] の種類が不明です: {', '.join(sorted(unknown))}")
    return out


def _array(doc: dict[str, Any], key: str) -> list[dict[str, Any]]:
    value = doc.get(key, [])
    if not isinstance(value, list) or not all(isinstance(x, dict) for x in value):
        raise PolicyError(f"[[{key}]] は表の並びで書きます([[{key}]] を項目ごとに繰り返します)")
    return value


def _in_horizon(day: date, start: date, end: date, what: str) -> date:
    if not start <= day <= end:
        raise PolicyError(f"{what} {day} が計画期間({start}〜{end})の外です")
    return day


def _pins(doc: dict[str, Any], start: date, end: date) -> list[Pin]:
    """``[[pins]]``: visits the plan must contain (site, date, window; van optional)."""
    out = []
    for i, item in enumerate(_array(doc, "pins"), start=1):
        what = f"[[pins]] の{i}番目"
        unknown = set(item) - {"site", "date", "window", "van", "note"}
        if unknown:
            raise PolicyError(f"{what}に不明な項目があります: {', '.join(sorted(unknown))}")
        for key in ("site", "date", "window"):
            if key not in item:
                raise PolicyError(f"{what}に {key} がありません(site・date・window が必要です)")
        day = _in_horizon(_date(item["date"], start, f"{what}の日付"), start, end, f"{what}の日付")
        out.append(
            Pin(
                site_id=str(item["site"]),
                date=day,
                window=Window.parse(item["window"]),
                van_id=str(item["van"]) if "van" in item else None,
                note=str(item.get("note", "")),
            )
        )
    return out


def _names(value: Any, what: str) -> frozenset[str]:
    if value is None:
        return frozenset()
    if isinstance(value, str):
        return frozenset([value])
    if isinstance(value, list) and all(isinstance(x, str) for x in value):
        return frozenset(value)
    raise PolicyError(f'{what} は "ID" か ["ID", …] で書きます')


def _forbids(
    doc: dict[str, Any], start: date, end: date, districts: list[District]
) -> list[Forbid]:
    """``[[forbid]]``: no visit to these sites/districts on these dates (or from/to)."""
    by_key = {d.id: d.id for d in districts} | {d.name: d.id for d in districts}
    out = []
    for i, item in enumerate(_array(doc, "forbid"), start=1):
        what = f"[[forbid]] の{i}番目"
        unknown = set(item) - {"site", "district", "dates", "from", "to", "note"}
        if unknown:
            raise PolicyError(f"{what}に不明な項目があります: {', '.join(sorted(unknown))}")
        dates: set[date] = set()
        raw = item.get("dates", [])
        if not isinstance(raw, list):
            raise PolicyError(f'{what}の dates は日付の並び(["2026-12-08", …])で書きます')
        for x in raw:
            dates.add(_in_horizon(_date(x, start, f"{what}の日付"), start, end, f"{what}の日付"))
        if "from" in item or "to" in item:
            if "from" not in item or "to" not in item:
                raise PolicyError(f"{what}: 期間は from と to を両方書きます")
            a = _date(item["from"], start, f"{what}の from")
            b = _date(item["to"], start, f"{what}の to")
            if b < a:
                raise PolicyError(f"{what}: to({b})が from({a})より前です")
            if b < start or a > end:
                raise PolicyError(f"{what}の期間 {a}〜{b} が計画期間({start}〜{end})の外です")
            d = max(a, start)
            while d <= min(b, end):
                dates.add(d)
                d += timedelta(days=1)
        districts_named = set()
        for key in _names(item.get("district"), f"{what}の district"):
            if key not in by_key:
                raise PolicyError(f"{what}の地区 {key} がマスタにありません")
            districts_named.add(by_key[key])
        try:
            out.append(
                Forbid(
                    dates=frozenset(dates),
                    site_ids=_names(item.get("site"), f"{what}の site"),
                    district_ids=frozenset(districts_named),
                    note=str(item.get("note", "")),
                )
            )
        except PolicyError as exc:
            raise PolicyError(f"{what}: {exc}") from exc
    return out


def read_keep(path: Path) -> tuple[KeptVisit, ...]:
    """The visits of an earlier ``plan.json`` (for ``--keep``)."""
    if not path.exists():
        raise PolicyError(f"前回の計画ファイルがありません: {path}")
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        return tuple(
            KeptVisit(
                date=date.fromisoformat(v["date"]),
                van_id=v["van_id"],
                window=Window(parse_hhmm(v["start"]), parse_hhmm(v["end"])),
                site_id=v["site_id"],
                activity=v.get("activity", "regular"),
                event_id=v.get("event_id") or None,
            )
            for v in doc["visits"]
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise PolicyError(
            f"前回の計画ファイルを読めません(plan.json の形式ではありません): {path}"
        ) from exc


def load_policy(
    path: Path,
    db: sqlite_utils.Database,
    *,
    today: date | None = None,
    replan_from: date | None = None,
    keep: tuple[KeptVisit, ...] = (),
) -> PlanInput:
    """Read ``path`` and the hub database into a validated :class:`PlanInput`."""
    if not path.exists():
        raise PolicyError(f"計画の設定ファイルがありません: {path}")
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(f"設定ファイル {path.name} の書き方に誤りがあります: {exc}") from exc
    return policy_from_dict(
        doc, db, today=today, replan_from=replan_from, keep=keep, base_dir=path.parent
    )


def policy_from_dict(
    doc: dict[str, Any],
    db: sqlite_utils.Database,
    *,
    today: date | None = None,
    replan_from: date | None = None,
    keep: tuple[KeptVisit, ...] = (),
    base_dir: Path = Path("."),
) -> PlanInput:
    """Same as :func:`load_policy` for an already-parsed TOML document."""
    unknown = set(doc) - SECTIONS
    if unknown:
        raise PolicyError(f"設定ファイルに不明な項目があります: {', '.join(sorted(unknown))}")
    today = today or datetime.now(JST).date()
    start, end = _horizon(doc, today)
    cal = _table(doc, "calendar")
    holidays = {r[0] for r in db.execute("SELECT date FROM holidays").fetchall()}
    closed = {_date(x, start, "calendar.closed") for x in cal.get("closed", [])}
    every_day = [start + timedelta(days=i) for i in range((end - start).days + 1)]
    _WORKDAYS[:] = [
        d
        for d in every_day
        if d.weekday() < 5 and d.isoformat() not in holidays and d not in closed
    ]
    win = _table(doc, "windows")
    default_windows = _windows(win.get("default", list(DEFAULT_WINDOWS)), "windows.default")
    day_windows: dict[date, tuple[Window, ...]] = {}
    for item in win.get("days", []):
        day_windows[_date(item.get("date"), start, "windows.days の日付")] = _windows(
            item.get("windows"), "windows.days.windows"
        )
    demand_t = _table(doc, "demand")
    weights_t = _table(doc, "weights")
    services_t = _table(doc, "services")
    policy = Policy(
        horizon_start=start,
        horizon_end=end,
        setup_minutes=int(win.get("setup_minutes", 15)),
        teardown_minutes=int(win.get("teardown_minutes", 15)),
        diminishing=tuple(float(f) for f in demand_t.get("diminishing", [1.0, 0.7, 0.4])),
        weights=Weights(
            users=float(weights_t.get("users", 1.0)),
            travel_per_minute=float(weights_t.get("travel_per_minute", 0.02)),
            moved_visit=float(weights_t.get("moved_visit", 5.0)),
            shortfall=float(weights_t.get("shortfall", 1000.0)),
        ),
        services=tuple(
            services_t.get(
                "regular", ["certificate", "mynumber", "garbage", "consultation", "frailty"]
            )
        ),
        replan_from=replan_from,
        sites_per_district=int(_table(doc, "sites").get("per_district", 0)),
    )
    events = _events(doc, start)
    opened = {_date(x, start, "calendar.opened") for x in cal.get("opened", [])}
    opened |= {e.date_from for e in events if e.kind == ACTIVITY_VOTING}
    days: list[Day] = []
    d = start
    while d <= end:
        off = d.weekday() >= 5 or d.isoformat() in holidays
        if d not in closed and (not off or d in opened):
            days.append(Day(d, day_windows.get(d, default_windows), opened=off))
        d += timedelta(days=1)
    sites_t = _table(doc, "sites")
    sites = load_sites(db, set(sites_t.get("exclude", [])))
    districts = _districts(doc, db)
    vans = _vans(doc, db, start)
    travel_t = _table(doc, "travel")
    points = {s.id: (s.lat, s.lon) for s in sites} | {
        depot_node(v.id): (v.depot_lat, v.depot_lon) for v in vans
    }
    if "matrix" in travel_t:
        mpath = Path(str(travel_t["matrix"]))
        if not mpath.is_absolute():
            mpath = base_dir / mpath
        travel = read_matrix(mpath, set(points))
    else:
        travel = straight_line_matrix(
            points,
            float(travel_t.get("road_factor", 1.4)),
            float(travel_t.get("speed_kmh", 35.0)),
        )
    fc = forecast(db, districts, sites, as_of=start, months=int(demand_t.get("history_months", 12)))
    demand = {k: v.per_visit for k, v in fc.items()}
    notes = {k: v.source for k, v in fc.items()}
    return PlanInput(
        policy=policy,
        districts=tuple(districts),
        sites=tuple(sites),
        vans=tuple(vans),
        days=tuple(days),
        travel=travel,
        demand=demand,
        events=tuple(events),
        keep=keep,
        demand_notes=notes,
        pins=tuple(_pins(doc, start, end)),
        forbids=tuple(_forbids(doc, start, end, districts)),
    )
