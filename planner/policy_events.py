"""The policy's pinned events (``[events]``: early voting, disaster windows, reservation
visits) and hand edits (``[[pins]]``, ``[[forbid]]``), read against the horizon."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from typing import Any

from planner.inputs import (
    ACTIVITY_DISASTER,
    ACTIVITY_RESERVATION,
    ACTIVITY_VOTING,
    District,
    Forbid,
    Pin,
    PinnedEvent,
    PolicyError,
    Stop,
    Window,
    parse_hhmm,
)
from planner.policy_values import Dates, in_horizon, read_table


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


def read_events(doc: dict[str, Any], dates: Dates, notes: list[str]) -> list[PinnedEvent]:
    ev = read_table(doc, "events")
    out: list[PinnedEvent] = []
    for i, e in enumerate(ev.get("voting", []), start=1):
        day = dates.read(e.get("date"), "期日前投票の日付")
        in_horizon(dates, day, f"期日前投票({e.get('label', '移動期日前投票所')})の日付", day)
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


def read_pins(doc: dict[str, Any], dates: Dates) -> list[Pin]:
    """``[[pins]]``: visits the plan must contain (site, date, window; van optional)."""
    out = []
    for i, item in enumerate(_array(doc, "pins"), start=1):
        what = f"[[pins]] の{i}番目"
        for key in ("site", "date", "window"):
            if key not in item:
                raise PolicyError(f"{what}に {key} がありません(site・date・window が必要です)")
        raw = item["date"]
        day = in_horizon(dates, dates.read(raw, f"{what}の日付"), f"{what}の日付", raw)
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


def read_forbids(doc: dict[str, Any], dates: Dates, districts: list[District]) -> list[Forbid]:
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
            days.add(in_horizon(dates, dates.read(x, f"{what}の日付"), f"{what}の日付", x))
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
