"""The policy file's documented keys, and how one value of it is read: integers, numbers,
tables, dates (ISO, day numbers, ``"+N"`` working days), the horizon and service windows.
Every reader refuses with one Japanese line naming the setting."""

from __future__ import annotations

import calendar
import difflib
from datetime import date, datetime, timedelta
from typing import Any

from planner.inputs import (
    WEEKDAY_CHARS,
    PolicyError,
    Window,
)

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


def check_all_keys(doc: dict[str, Any]) -> None:
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


def read_int(value: Any, what: str) -> int:
    """An integer setting, or one Japanese line naming it."""
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise PolicyError(f"{what} は整数で書きます({value!r})")
    try:
        return int(value)
    except ValueError as exc:
        raise PolicyError(f"{what} は整数で書きます({value!r})") from exc


def read_float(value: Any, what: str) -> float:
    """A number setting, or one Japanese line naming it."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise PolicyError(f"{what} は数で書きます({value!r})")
    try:
        return float(value)
    except ValueError as exc:
        raise PolicyError(f"{what} は数で書きます({value!r})") from exc


def read_table(doc: dict[str, Any], key: str) -> dict[str, Any]:
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


def in_horizon(dates: Dates, d: date, what: str, raw: Any) -> date:
    """A single date must lie in the horizon."""
    assert dates.end is not None
    if not dates.start <= d <= dates.end:
        raise PolicyError(f"{what} {raw} が計画期間({dates.start}〜{dates.end})の外です")
    return d


def read_horizon(doc: dict[str, Any], today: date, holidays: set[str]) -> Dates:
    h = read_table(doc, "horizon")
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
        end = start + timedelta(days=read_int(h["days"], "horizon.days") - 1)
    else:
        months = read_int(h.get("months", 1), "horizon.months")
        y, m = start.year, start.month + months - 1
        y, m = y + (m - 1) // 12, (m - 1) % 12 + 1
        end = date(y, m, calendar.monthrange(y, m)[1])
    dates.end = end
    return dates


def read_windows(values: Any, what: str) -> tuple[Window, ...]:
    if not isinstance(values, list) or not values:
        raise PolicyError(f'{what} は ["10:00-12:00", …] の形で書きます')
    return tuple(sorted((Window.parse(v) for v in values), key=lambda w: w.start))


def read_weekdays(text: str) -> frozenset[int]:
    return frozenset(WEEKDAY_CHARS.index(ch) for ch in text if ch in WEEKDAY_CHARS)
