"""Read the planning policy (TOML) and the hub's master data into a :class:`PlanInput`.

The format is documented, section by section, in ``examples/plan.toml`` and
``docs/planner.md``. Dates are ISO (``"2026-12-08"``) or an integer N meaning the
N-th calendar day of the horizon (1 = its first day), so one policy file can be
reused month after month.
"""

from __future__ import annotations

import json
import tomllib
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import sqlite_utils

from odekake.masterdata import master
from planner.demand import forecast
from planner.inputs import (
    ACTIVITY_VOTING,
    DRIVING_MODES,
    Day,
    District,
    KeptVisit,
    PlanInput,
    Policy,
    PolicyError,
    Site,
    Van,
    Weights,
    Window,
    depot_node,
    hhmm,
    parse_hhmm,
)
from planner.policy_events import read_events, read_forbids, read_pins
from planner.policy_values import (
    Dates,
    check_all_keys,
    in_horizon,
    read_float,
    read_horizon,
    read_int,
    read_table,
    read_weekdays,
    read_windows,
)
from planner.travel import TravelModel

JST = timezone(timedelta(hours=9), "JST")
DEFAULT_WINDOWS = ("10:00-12:00", "13:30-15:30")


def load_sites(db: sqlite_utils.Database, exclude: set[str]) -> list[Site]:
    """All sites of the master data as planner inputs."""
    return [
        Site(
            id=s["id"],
            district_id=s["district_id"],
            name=s["name"],
            lat=float(s["lat"]),
            lon=float(s["lon"]),
            open_weekdays=read_weekdays(s["open_weekdays"]),
            open_from=parse_hhmm(s["open_from"]),
            open_to=parse_hhmm(s["open_to"]),
        )
        for s in master.sites(db)
        if s["id"] not in exclude
    ]


def _districts(doc: dict[str, Any], db: sqlite_utils.Database) -> list[District]:
    table = read_table(doc, "districts")
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
                min_visits=read_int(rule.get("min_visits", 0), f"{d.name}の min_visits"),
                max_visits=read_int(rule.get("max_visits", 99), f"{d.name}の max_visits"),
                min_days_between=read_int(
                    rule.get("min_days_between", 1), f"{d.name}の min_days_between"
                ),
                weight=read_float(rule.get("weight", 1.0), f"{d.name}の weight"),
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
                    in_horizon(dates, dates.read(x, f"車両 {row['id']} の整備日"), "整備日", x)
                    for x in v.get("maintenance", [])
                ),
            )
        )
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
    check_all_keys(doc)
    today = today or datetime.now(JST).date()
    holidays = {r[0] for r in db.execute("SELECT date FROM holidays").fetchall()}
    dates = read_horizon(doc, today, holidays)
    start, end = dates.start, dates.end
    assert end is not None
    cal = read_table(doc, "calendar")
    closed = {dates.read(x, "calendar.closed", with_closed=False) for x in cal.get("closed", [])}
    dates.closed = closed
    notes: list[str] = []
    win = read_table(doc, "windows")
    default_windows = read_windows(win.get("default", list(DEFAULT_WINDOWS)), "windows.default")
    day_windows: dict[date, tuple[Window, ...]] = {}
    for item in win.get("days", []):
        day_windows[dates.read(item.get("date"), "windows.days の日付")] = read_windows(
            item.get("windows"), "windows.days.windows"
        )
    demand_t = read_table(doc, "demand")
    weights_t = read_table(doc, "weights")
    services_t = read_table(doc, "services")
    policy = Policy(
        horizon_start=start,
        horizon_end=end,
        setup_minutes=read_int(win.get("setup_minutes", 15), "windows.setup_minutes"),
        teardown_minutes=read_int(win.get("teardown_minutes", 15), "windows.teardown_minutes"),
        diminishing=tuple(
            read_float(f, "demand.diminishing")
            for f in demand_t.get("diminishing", [1.0, 0.7, 0.4])
        ),
        weights=Weights(
            users=read_float(weights_t.get("users", 1.0), "weights.users"),
            travel_per_minute=read_float(
                weights_t.get("travel_per_minute", 0.02), "weights.travel_per_minute"
            ),
            moved_visit=read_float(weights_t.get("moved_visit", 5.0), "weights.moved_visit"),
            shortfall=read_float(weights_t.get("shortfall", 1000.0), "weights.shortfall"),
        ),
        services=tuple(
            services_t.get(
                "regular", ["certificate", "mynumber", "garbage", "consultation", "frailty"]
            )
        ),
        replan_from=replan_from,
        sites_per_district=read_int(
            read_table(doc, "sites").get("per_district", 0), "sites.per_district"
        ),
        driving=str(read_table(doc, "objective").get("driving", DRIVING_MODES[0])),
    )
    events = read_events(doc, dates, notes)
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
    sites_t = read_table(doc, "sites")
    sites = load_sites(db, set(sites_t.get("exclude", [])))
    districts = _districts(doc, db)
    vans = _vans(doc, db, dates)
    _check_shifts(vans, days, policy, notes)
    travel_t = read_table(doc, "travel")
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
        months=read_int(demand_t.get("history_months", 12), "demand.history_months"),
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
        pins=tuple(read_pins(doc, dates)),
        forbids=tuple(read_forbids(doc, dates, districts)),
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
