"""Read the planning policy (TOML) and the hub's master data into a :class:`PlanInput`.

The format is documented, section by section, in ``examples/plan.toml`` and
``docs/planner.md``. Dates are ISO (``"2026-12-08"``) or an integer N meaning the
N-th calendar day of the horizon (1 = its first day), so one policy file can be
reused month after month.
"""

from __future__ import annotations

import calendar
import difflib
import json
import tomllib
from dataclasses import replace
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import sqlite_utils

from odekake.masterdata import master
from planner.demand import forecast
from planner.inputs import (
    ACTIVITY_DISASTER,
    ACTIVITY_RESERVATION,
    ACTIVITY_VOTING,
    DRIVING_MODES,
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
    hhmm,
    parse_hhmm,
)
from planner.travel import TravelModel

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
    # Hand edits (``[[pins]]``, ``[[forbid]]``), read by planner.policy's pin/forbid readers.
    "pins",
    "forbid",
    "objective",
}
# Every documented key, per table (``None``: the table's keys are names, not settings).
KEYS: dict[str, set[str]] = {
    "horizon": {"start", "end", "days", "months"},
    "vans": {"id", "shift", "maintenance"},
    "windows": {"default", "setup_minutes", "teardown_minutes", "days"},
    "windows.days": {"date", "windows"},
    "travel": {"road_factor", "speed_kmh", "matrix"},
    "districts.*": {"min_visits", "max_visits", "min_days_between", "weight"},
    "sites": {"exclude", "per_district"},
    "demand": {"history_months", "diminishing"},
    "services": {"regular"},
    "weights": {"users", "travel_per_minute", "moved_visit", "shortfall"},
    "calendar": {"opened", "closed"},
    "events": {"voting", "disaster", "reservation"},
    "events.voting": {"id", "label", "date", "van", "stops"},
    "events.voting.stops": {"site", "window", "start", "end"},
    "events.disaster": {"id", "label", "start", "end", "van", "sites", "spread"},
    "events.reservation": {"id", "label", "site", "from", "to", "van", "services", "window"},
    "objective": {"driving"},
    "pins": {"site", "date", "window", "van", "note"},
    "forbid": {"site", "district", "dates", "from", "to", "note"},
}


def check_keys(table: Any, valid: set[str], where: str) -> None:
    """Refuse a key that is not documented, naming the nearest valid one."""
    if not isinstance(table, dict):
        return
    for key in table:
        if key in valid:
            continue
        near = difflib.get_close_matches(str(key), sorted(valid), n=1, cutoff=0.5)
        hint = f"({near[0]} のことですか?)" if near else f"(使える項目: {', '.join(sorted(valid))})"
        raise PolicyError(f"設定ファイルの {where} に不明な項目 {key} があります{hint}")


def _check_all_keys(doc: dict[str, Any]) -> None:
    check_keys(doc, SECTIONS, "最上位")
    for section in (
        "horizon",
        "windows",
        "travel",
        "sites",
        "demand",
        "services",
        "weights",
        "objective",
    ):
        check_keys(doc.get(section), KEYS[section], f"[{section}]")
    check_keys(doc.get("calendar"), KEYS["calendar"], "[calendar]")
    check_keys(doc.get("events"), KEYS["events"], "[events]")
    win = doc.get("windows")
    if isinstance(win, dict):
        for item in win.get("days", []) if isinstance(win.get("days"), list) else []:
            check_keys(item, KEYS["windows.days"], "[[windows.days]]")
    vans = doc.get("vans")
    for item in vans if isinstance(vans, list) else []:
        check_keys(item, KEYS["vans"], "[[vans]]")
    dists = doc.get("districts")
    if isinstance(dists, dict):
        for name, rule in dists.items():
            check_keys(rule, KEYS["districts.*"], f"[districts.{name}]")
    ev = doc.get("events")
    if isinstance(ev, dict):
        for kind in ("voting", "disaster", "reservation"):
            items = ev.get(kind, [])
            for item in items if isinstance(items, list) else []:
                check_keys(item, KEYS[f"events.{kind}"], f"[[events.{kind}]]")
                if kind == "voting" and isinstance(item, dict):
                    stops = item.get("stops", [])
                    for stop in stops if isinstance(stops, list) else []:
                        check_keys(stop, KEYS["events.voting.stops"], "期日前投票の stops")
    for key in ("pins", "forbid"):
        items = doc.get(key)
        for item in items if isinstance(items, list) else []:
            check_keys(item, KEYS[key], f"[[{key}]]")


def _int(value: Any, what: str) -> int:
    """An integer setting, or one Japanese line naming it."""
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise PolicyError(f"{what} は整数で書きます({value!r})")
    try:
        return int(value)
    except ValueError as exc:
        raise PolicyError(f"{what} は整数で書きます({value!r})") from exc


def _float(value: Any, what: str) -> float:
    """A number setting, or one Japanese line naming it."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise PolicyError(f"{what} は数で書きます({value!r})")
    try:
        return float(value)
    except ValueError as exc:
        raise PolicyError(f"{what} は数で書きます({value!r})") from exc


def _table(doc: dict[str, Any], key: str) -> dict[str, Any]:
    value = doc.get(key, {})
    if not isinstance(value, dict):
        raise PolicyError(f"[{key}] は表(テーブル)で書きます")
    return value


class Dates:
    """Reads the policy's dates for one horizon (no module state: one per policy read).

    ``"+N"`` is the N-th working day from the horizon's start. In ``horizon.end`` and
    ``calendar.closed`` a working day is a weekday that is not a public holiday or
    city closure day; everywhere else the ``calendar.closed`` days are left out too.
    """

    def __init__(self, start: date, holidays: set[str]) -> None:
        self.start = start
        self.holidays = holidays
        self.closed: set[date] = set()
        self.end: date | None = None

    def workdays(self, *, with_closed: bool) -> list[date]:
        """The working days from the start (to the end when known, else a year)."""
        last = self.end or self.start + timedelta(days=366)
        out = []
        d = self.start
        while d <= last:
            workday = d.weekday() < 5 and d.isoformat() not in self.holidays
            if workday and (not with_closed or d not in self.closed):
                out.append(d)
            d += timedelta(days=1)
        return out

    def read(self, value: Any, what: str, *, with_closed: bool = True) -> date:
        """One date of the policy (ISO, day number or ``"+N"``)."""
        if isinstance(value, date) and not isinstance(value, datetime):
            return value
        if isinstance(value, str) and value.startswith("+") and value[1:].isdigit():
            days = self.workdays(with_closed=with_closed)
            n = int(value[1:])
            if not 1 <= n <= len(days):
                raise PolicyError(f"{what}: 計画期間の稼働日は{len(days)}日です({value} は範囲外)")
            return days[n - 1]
        if isinstance(value, int) and not isinstance(value, bool):
            if value < 1:
                raise PolicyError(f"{what}: 日の番号は1以上です({value})")
            return self.start + timedelta(days=value - 1)
        try:
            return date.fromisoformat(str(value))
        except ValueError as exc:
            raise PolicyError(
                f"{what}: 日付は 2026-12-08 の形か期間の何日目かで書きます({value!r})"
            ) from exc


def _date(value: Any, what: str) -> date:
    """A date that cannot be relative (the horizon's own start)."""
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError as exc:
        raise PolicyError(f"{what}: 日付は 2026-12-08 の形で書きます({value!r})") from exc


def _horizon(doc: dict[str, Any], today: date, holidays: set[str]) -> Dates:
    h = _table(doc, "horizon")
    raw = h.get("start", "next-month")
    if raw == "next-month":
        y, m = (today.year + 1, 1) if today.month == 12 else (today.year, today.month + 1)
        start = date(y, m, 1)
    else:
        start = _date(raw, "horizon.start")
    dates = Dates(start, holidays)
    if "end" in h:
        end = dates.read(h["end"], "horizon.end", with_closed=False)
    elif "days" in h:
        end = start + timedelta(days=_int(h["days"], "horizon.days") - 1)
    else:
        months = _int(h.get("months", 1), "horizon.months")
        y, m = start.year, start.month + months - 1
        y, m = y + (m - 1) // 12, (m - 1) % 12 + 1
        end = date(y, m, calendar.monthrange(y, m)[1])
    dates.end = end
    return dates


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
                min_visits=_int(rule.get("min_visits", 0), f"{d.name}の min_visits"),
                max_visits=_int(rule.get("max_visits", 99), f"{d.name}の max_visits"),
                min_days_between=_int(
                    rule.get("min_days_between", 1), f"{d.name}の min_days_between"
                ),
                weight=_float(rule.get("weight", 1.0), f"{d.name}の weight"),
            )
        )
    return out


def _vans(doc: dict[str, Any], db: sqlite_utils.Database, dates: Dates) -> list[Van]:
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
                    _in_horizon(dates, dates.read(x, f"車両 {row['id']} の整備日"), "整備日", x)
                    for x in v.get("maintenance", [])
                ),
            )
        )
    return out


def _in_horizon(dates: Dates, d: date, what: str, raw: Any) -> date:
    """A single date must lie in the horizon."""
    assert dates.end is not None
    if not dates.start <= d <= dates.end:
        raise PolicyError(f"{what} {raw} が計画期間({dates.start}〜{dates.end})の外です")
    return d


def _range(dates: Dates, first: date, last: date, what: str, notes: list[str]) -> tuple[date, date]:
    """A date range must touch the horizon; the part outside it is noted and cut."""
    assert dates.end is not None
    if last < dates.start or first > dates.end:
        raise PolicyError(
            f"{what}の期間 {first}〜{last} が計画期間({dates.start}〜{dates.end})の外です"
        )
    if first < dates.start or last > dates.end:
        notes.append(
            f"{what}の期間 {first}〜{last} のうち計画期間({dates.start}〜{dates.end})の外の日は"
            "この計画に含みません"
        )
    return max(first, dates.start), min(last, dates.end)


def _events(doc: dict[str, Any], dates: Dates, notes: list[str]) -> list[PinnedEvent]:
    ev = _table(doc, "events")
    out: list[PinnedEvent] = []
    for i, e in enumerate(ev.get("voting", []), start=1):
        day = dates.read(e.get("date"), "期日前投票の日付")
        _in_horizon(dates, day, f"期日前投票({e.get('label', '移動期日前投票所')})の日付", day)
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
        label = str(e.get("label", "り災証明書出張申請受付"))
        first, last = _range(
            dates,
            dates.read(e.get("start"), "災害対応の開始日"),
            dates.read(e.get("end"), "災害対応の終了日"),
            f"災害対応({label})",
            notes,
        )
        spread = e.get("spread", True)
        if not isinstance(spread, bool):
            raise PolicyError(f"災害対応({label})の spread は true か false で書きます")
        out.append(
            PinnedEvent(
                id=str(e.get("id", f"disaster-{i}")),
                kind=ACTIVITY_DISASTER,
                date_from=first,
                date_to=last,
                spread=spread,
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
                date_from=dates.read(e.get("from"), "予約訪問の開始日"),
                date_to=dates.read(e.get("to", e.get("from")), "予約訪問の終了日"),
                label=str(e.get("label", "予約訪問")),
                van_id=e.get("van"),
                site_ids=(str(e.get("site", "")),),
                services=tuple(e.get("services", ["consultation", "frailty"])),
                window=Window.parse(e["window"]) if "window" in e else None,
            )
        )
    for j, e in enumerate(out):
        if e.kind == ACTIVITY_RESERVATION:
            first, last = _range(
                dates, e.date_from, e.date_to, f"予約訪問「{e.label or e.id}」", notes
            )
            out[j] = replace(e, date_from=first, date_to=last)
    return out


def _array(doc: dict[str, Any], key: str) -> list[dict[str, Any]]:
    value = doc.get(key, [])
    if not isinstance(value, list) or not all(isinstance(x, dict) for x in value):
        raise PolicyError(f"[[{key}]] は表の並びで書きます([[{key}]] を項目ごとに繰り返します)")
    return value


def _pins(doc: dict[str, Any], dates: Dates) -> list[Pin]:
    """``[[pins]]``: visits the plan must contain (site, date, window; van optional)."""
    out = []
    for i, item in enumerate(_array(doc, "pins"), start=1):
        what = f"[[pins]] の{i}番目"
        for key in ("site", "date", "window"):
            if key not in item:
                raise PolicyError(f"{what}に {key} がありません(site・date・window が必要です)")
        raw = item["date"]
        day = _in_horizon(dates, dates.read(raw, f"{what}の日付"), f"{what}の日付", raw)
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


def _forbids(doc: dict[str, Any], dates: Dates, districts: list[District]) -> list[Forbid]:
    """``[[forbid]]``: no visit to these sites/districts on these dates (or from/to)."""
    by_key = {d.id: d.id for d in districts} | {d.name: d.id for d in districts}
    out = []
    for i, item in enumerate(_array(doc, "forbid"), start=1):
        what = f"[[forbid]] の{i}番目"
        days: set[date] = set()
        raw = item.get("dates", [])
        if not isinstance(raw, list):
            raise PolicyError(f'{what}の dates は日付の並び(["2026-12-08", …])で書きます')
        for x in raw:
            days.add(_in_horizon(dates, dates.read(x, f"{what}の日付"), f"{what}の日付", x))
        if "from" in item or "to" in item:
            if "from" not in item or "to" not in item:
                raise PolicyError(f"{what}: 期間は from と to を両方書きます")
            a = dates.read(item["from"], f"{what}の from")
            b = dates.read(item["to"], f"{what}の to")
            if b < a:
                raise PolicyError(f"{what}: to({b})が from({a})より前です")
            start, end = dates.start, dates.end
            assert end is not None
            if b < start or a > end:
                raise PolicyError(f"{what}の期間 {a}〜{b} が計画期間({start}〜{end})の外です")
            d = max(a, start)
            while d <= min(b, end):
                days.add(d)
                d += timedelta(days=1)
        districts_named = set()
        for key in _names(item.get("district"), f"{what}の district"):
            if key not in by_key:
                raise PolicyError(f"{what}の地区 {key} がマスタにありません")
            districts_named.add(by_key[key])
        try:
            out.append(
                Forbid(
                    dates=frozenset(days),
                    site_ids=_names(item.get("site"), f"{what}の site"),
                    district_ids=frozenset(districts_named),
                    note=str(item.get("note", "")),
                )
            )
        except PolicyError as exc:
            raise PolicyError(f"{what}: {exc}") from exc
    return out


def _check_shifts(vans: list[Van], days: list[Day], pol: Policy, notes: list[str]) -> None:
    """Service windows a van's shift cannot hold (even with no driving): said once.

    When no van can hold any window the plan could only be empty: an error. Otherwise
    each van's windows outside its shift are noted (a morning-only van, say).
    """
    windows = sorted({w for day in days for w in day.windows}, key=lambda w: (w.start, w.end))
    usable = False
    for van in vans:
        outside = [
            w
            for w in windows
            if w.start - pol.setup_minutes < van.shift_start
            or w.end + pol.teardown_minutes > van.shift_end
        ]
        if len(outside) < len(windows):
            usable = True
        if outside:
            notes.append(
                f"{van.name}の勤務時間 {hhmm(van.shift_start)}-{hhmm(van.shift_end)} には"
                f"受付時間帯 {'、'.join(w.label for w in outside)} が収まりません"
                f"(準備{pol.setup_minutes}分・片付け{pol.teardown_minutes}分を含む)。"
                "この時間帯にはこの車両を使いません"
            )
    if not usable:
        shifts = "、".join(f"{v.name} {hhmm(v.shift_start)}-{hhmm(v.shift_end)}" for v in vans)
        raise PolicyError(
            f"受付時間帯 {'、'.join(w.label for w in windows)} がどれも車両の勤務時間({shifts})に"
            f"収まりません(準備{pol.setup_minutes}分・片付け{pol.teardown_minutes}分を含む)"
        )


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
    _check_all_keys(doc)
    today = today or datetime.now(JST).date()
    holidays = {r[0] for r in db.execute("SELECT date FROM holidays").fetchall()}
    dates = _horizon(doc, today, holidays)
    start, end = dates.start, dates.end
    assert end is not None
    cal = _table(doc, "calendar")
    closed = {dates.read(x, "calendar.closed", with_closed=False) for x in cal.get("closed", [])}
    dates.closed = closed
    notes: list[str] = []
    win = _table(doc, "windows")
    default_windows = _windows(win.get("default", list(DEFAULT_WINDOWS)), "windows.default")
    day_windows: dict[date, tuple[Window, ...]] = {}
    for item in win.get("days", []):
        day_windows[dates.read(item.get("date"), "windows.days の日付")] = _windows(
            item.get("windows"), "windows.days.windows"
        )
    demand_t = _table(doc, "demand")
    weights_t = _table(doc, "weights")
    services_t = _table(doc, "services")
    policy = Policy(
        horizon_start=start,
        horizon_end=end,
        setup_minutes=_int(win.get("setup_minutes", 15), "windows.setup_minutes"),
        teardown_minutes=_int(win.get("teardown_minutes", 15), "windows.teardown_minutes"),
        diminishing=tuple(
            _float(f, "demand.diminishing") for f in demand_t.get("diminishing", [1.0, 0.7, 0.4])
        ),
        weights=Weights(
            users=_float(weights_t.get("users", 1.0), "weights.users"),
            travel_per_minute=_float(
                weights_t.get("travel_per_minute", 0.02), "weights.travel_per_minute"
            ),
            moved_visit=_float(weights_t.get("moved_visit", 5.0), "weights.moved_visit"),
            shortfall=_float(weights_t.get("shortfall", 1000.0), "weights.shortfall"),
        ),
        services=tuple(
            services_t.get(
                "regular", ["certificate", "mynumber", "garbage", "consultation", "frailty"]
            )
        ),
        replan_from=replan_from,
        sites_per_district=_int(_table(doc, "sites").get("per_district", 0), "sites.per_district"),
        driving=str(_table(doc, "objective").get("driving", DRIVING_MODES[0])),
    )
    events = _events(doc, dates, notes)
    opened = {dates.read(x, "calendar.opened") for x in cal.get("opened", [])}
    opened |= {e.date_from for e in events if e.kind == ACTIVITY_VOTING}
    explicitly_opened = {dates.read(x, "calendar.opened") for x in cal.get("opened", [])}
    days: list[Day] = []
    d = start
    while d <= end:
        off = d.weekday() >= 5 or d.isoformat() in holidays
        if d not in closed and (not off or d in opened):
            days.append(
                Day(
                    d,
                    day_windows.get(d, default_windows),
                    opened=off,
                    voting_only=off and d not in explicitly_opened,
                )
            )
        d += timedelta(days=1)
    sites_t = _table(doc, "sites")
    sites = load_sites(db, set(sites_t.get("exclude", [])))
    districts = _districts(doc, db)
    vans = _vans(doc, db, dates)
    _check_shifts(vans, days, policy, notes)
    travel_t = _table(doc, "travel")
    points = {s.id: (s.lat, s.lon) for s in sites} | {
        depot_node(v.id): (v.depot_lat, v.depot_lon) for v in vans
    }
    travel_model = TravelModel.from_table(travel_t, base_dir)
    travel = travel_model.legs(points)
    fc = forecast(
        db,
        districts,
        sites,
        as_of=start,
        months=_int(demand_t.get("history_months", 12), "demand.history_months"),
    )
    demand = {k: v.per_visit for k, v in fc.items()}
    demand_notes = {k: v.source for k, v in fc.items()}
    return PlanInput(
        policy=policy,
        districts=tuple(districts),
        sites=tuple(sites),
        vans=tuple(vans),
        days=tuple(days),
        travel=travel,
        travel_model=travel_model,
        demand=demand,
        events=tuple(events),
        keep=keep,
        demand_notes=demand_notes,
        notes=tuple(notes),
        pins=tuple(_pins(doc, dates)),
        forbids=tuple(_forbids(doc, dates, districts)),
    )


def refuse_past_start(pol: Policy, today: date) -> None:
    """Refuse a plan whose first planned day (horizon start, or --replan-from) is past.

    Raises:
        PolicyError: The horizon has ended, or planning would start before today.
    """
    first = pol.replan_from or pol.horizon_start
    if pol.horizon_end < today:
        raise PolicyError(
            f"計画期間({pol.horizon_start}〜{pol.horizon_end})はもう終わっています(今日は {today})。"
            "設定ファイルの horizon を直してください"
        )
    if first < today:
        raise PolicyError(
            f"計画する最初の日 {first} が今日({today})より前です。過去の日は計画できません。"
            f"今日以降を計画し直してください(コマンドでは --replan-from {today})。または"
            "設定ファイルの horizon.start を今日以降にしてください"
        )
