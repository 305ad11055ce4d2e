"""Re-check a plan against every hard rule of its policy, naming each violation in Japanese.

A plan edited by hand (in the console, or as CSV in Excel and imported back) no
longer carries the solver's guarantee. :func:`check_plan` re-derives every hard
rule from the policy and the hub's master data, independently of the model:
working days and closed days, van maintenance, the sites' open days and hours, the
service windows, setup/teardown, the shift and the driving between stops, one
van-day of regular stops per district and day, minimum and maximum visits, spacing,
pins, forbids and the pinned events (early voting, disaster sessions,
reservations). ``odekake plan check`` prints what it finds and exits 1 if anything.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import sqlite_utils

from planner.inputs import (
    ACTIVITY_DISASTER,
    ACTIVITY_REGULAR,
    ACTIVITY_RESERVATION,
    ACTIVITY_VOTING,
    PlanInput,
    PolicyError,
    Site,
    Window,
    hhmm,
    parse_hhmm,
)
from planner.plan import Plan, PlanVisit

WEEKDAYS = "月火水木金土日"


@dataclass(frozen=True)
class Violation:
    """One broken rule: a stable ``code``, a Japanese ``message`` and what it is about."""

    code: str
    message: str
    visit_ids: tuple[str, ...] = ()
    date: str = ""
    van_id: str = ""
    site_id: str = ""
    district_id: str = ""


def _day(text: str) -> date:
    return date.fromisoformat(text)


def _jp(d: date) -> str:
    return f"{d.month}月{d.day}日({WEEKDAYS[d.weekday()]})"


def _hours(site: Site) -> str:
    days = "".join(WEEKDAYS[x] for x in sorted(site.open_weekdays))
    return f"{days} {hhmm(site.open_from)}-{hhmm(site.open_to)}"


def load_for(db: sqlite_utils.Database, policy: Path, plan: Plan) -> PlanInput:
    """Read ``policy`` for checking ``plan``: "next-month" means the plan's month."""
    from planner.policy import load_policy

    start = date.fromisoformat(plan.horizon_start)
    return load_policy(
        policy,
        db,
        today=start - timedelta(days=1),
        replan_from=date.fromisoformat(plan.replan_from) if plan.replan_from else None,
    )


def check_plan(
    db: sqlite_utils.Database | None, policy: PlanInput | Path, plan: Plan
) -> list[Violation]:
    """Every hard rule ``plan`` breaks under ``policy`` (empty when it keeps them all).

    Args:
        db: The hub database (needed when ``policy`` is a path to read).
        policy: The parsed inputs, or the policy TOML file to read with ``db``.
        plan: The plan to check (solved, edited or imported).
    """
    if isinstance(policy, Path):
        if db is None:
            raise PolicyError("設定ファイルを読むにはハブのデータベースが必要です")
        data = load_for(db, policy, plan)
    else:
        data = policy
    out: list[Violation] = []
    pol = data.policy
    sites = {s.id: s for s in data.sites}
    vans = {v.id: v for v in data.vans}
    days = {d.date: d for d in data.days}
    frozen = pol.replan_from

    def add(
        code: str,
        v: PlanVisit | None,
        text: str,
        *,
        date: str = "",
        site_id: str = "",
        district_id: str = "",
    ) -> None:
        if v is None:
            out.append(Violation(code, text, date=date, site_id=site_id, district_id=district_id))
            return
        name = sites[v.site_id].name if v.site_id in sites else v.site_id
        out.append(
            Violation(
                code,
                f"{_jp(_day(v.date))} {v.van_id} {v.start}-{v.end} {name}: {text}",
                visit_ids=(v.id,) if v.id else (),
                date=v.date,
                van_id=v.van_id,
                site_id=v.site_id,
                district_id=v.district_id,
            )
        )

    if (plan.horizon_start, plan.horizon_end) != (
        pol.horizon_start.isoformat(),
        pol.horizon_end.isoformat(),
    ):
        add(
            "horizon",
            None,
            f"計画の期間({plan.horizon_start}〜{plan.horizon_end})が設定ファイルの計画期間"
            f"({pol.horizon_start}〜{pol.horizon_end})と違います",
        )

    voting_stops: dict[tuple[date, str], list[tuple[str, Window]]] = defaultdict(list)
    for e in data.events:
        if e.kind == ACTIVITY_VOTING:
            van_id = e.van_id or data.vans[0].id
            voting_stops[(e.date_from, van_id)] += [(s.site_id, s.window) for s in e.stops]

    good: list[PlanVisit] = []
    for v in plan.visits:
        try:
            d = date.fromisoformat(v.date)
            w = Window(parse_hhmm(v.start), parse_hhmm(v.end))
            arrive, depart = parse_hhmm(v.arrive), parse_hhmm(v.depart)
        except (ValueError, PolicyError):
            add("format", v, "日付または時刻の書き方が正しくありません")
            continue
        site = sites.get(v.site_id)
        van = vans.get(v.van_id)
        if site is None:
            add("unknown_site", v, f"会場 {v.site_id} は設定ファイルとマスタの会場にありません")
            continue
        if van is None:
            add("unknown_van", v, f"車両 {v.van_id} はこの計画の車両ではありません")
            continue
        good.append(v)
        if v.district_id != site.district_id:
            add(
                "district",
                v,
                f"会場の地区は {site.district_id} です({v.district_id} ではありません)",
            )
        if not pol.horizon_start <= d <= pol.horizon_end:
            add("outside_horizon", v, "計画期間の外です")
        announced = frozen is not None and d < frozen
        if not announced:
            if d not in days:
                add("closed_day", v, "稼働日ではありません(土日・祝日・休業日)")
            if d in van.maintenance:
                add("maintenance", v, f"{van.name}の整備日です")
            if data.forbidden(site.id, d):
                add("forbidden", v, "[[forbid]] で訪問を禁止した会場・日です")
            allowed = set(days[d].windows) if d in days else set()
            allowed |= {sw for _sid, sw in voting_stops.get((d, v.van_id), [])}
            if d in days and w not in allowed:
                labels = "、".join(x.label for x in days[d].windows)
                add("window", v, f"その日の受付時間帯ではありません(受付時間帯: {labels})")
        if not site.is_open(d, w):
            add("site_hours", v, f"会場の利用可能時間外です(利用可能: {_hours(site)})")
        if arrive > w.start - pol.setup_minutes:
            add("setup", v, f"到着 {v.arrive} では準備({pol.setup_minutes}分)が間に合いません")
        if depart < w.end + pol.teardown_minutes:
            add(
                "teardown", v, f"出発 {v.depart} では片付け({pol.teardown_minutes}分)が終わりません"
            )

    by_vd: dict[tuple[str, str], list[PlanVisit]] = defaultdict(list)
    for v in good:
        by_vd[(v.van_id, v.date)].append(v)
    for (van_id, _vd), vs in sorted(by_vd.items()):
        van = vans[van_id]
        vs.sort(key=lambda v: v.start)
        first, last = vs[0], vs[-1]
        need = van.shift_start + data.minutes(van.depot, first.site_id)
        if need > parse_hhmm(first.arrive):
            add(
                "shift_start",
                first,
                f"勤務開始 {hhmm(van.shift_start)} に車庫を出ても到着 {first.arrive} に間に合いません"
                f"(移動 {data.minutes(van.depot, first.site_id)}分)",
            )
        back = parse_hhmm(last.depart) + data.minutes(last.site_id, van.depot)
        if back > van.shift_end:
            add(
                "shift_end",
                last,
                f"出発 {last.depart} から車庫に戻ると {hhmm(back)} で、勤務終了 {hhmm(van.shift_end)} を過ぎます",
            )
        for a, b in itertools.pairwise(vs):
            if parse_hhmm(a.end) > parse_hhmm(b.start):
                add("overlap", b, f"{a.start}-{a.end} の訪問と時間が重なります")
            elif a.site_id != b.site_id:
                drive = data.minutes(a.site_id, b.site_id)
                if parse_hhmm(a.depart) + drive > parse_hhmm(b.arrive):
                    add(
                        "travel",
                        b,
                        f"前の会場を {a.depart} に出て移動 {drive}分では、到着 {b.arrive} に間に合いません",
                    )

    # One van-day of regular stops per district and day.
    reg_vans: dict[tuple[str, str], set[str]] = defaultdict(set)
    for v in good:
        if v.activity == ACTIVITY_REGULAR:
            reg_vans[(v.district_id, v.date)].add(v.van_id)
    for (did, day_s), vs_ in sorted(reg_vans.items()):
        if len(vs_) > 1:
            name = data.district(did).name if did in {x.id for x in data.districts} else did
            add(
                "district_two_vans",
                None,
                f"{_jp(date.fromisoformat(day_s))} {name}に複数の車両({'、'.join(sorted(vs_))})が"
                "定期巡回に入っています(1地区1日1台まで)",
                date=day_s,
                district_id=did,
            )

    # District minimum, maximum and spacing, on regular visit days.
    disaster = any(e.kind == ACTIVITY_DISASTER for e in data.events)
    reg_days: dict[str, set[date]] = defaultdict(set)
    for v in good:
        if v.activity == ACTIVITY_REGULAR:
            reg_days[v.district_id].add(date.fromisoformat(v.date))
    for dist in data.districts:
        n = len(reg_days[dist.id])
        if n < dist.min_visits and not disaster:
            add(
                "min_visits",
                None,
                f"{dist.name}の訪問は{n}回で、最低訪問回数 {dist.min_visits}回に足りません",
                district_id=dist.id,
            )
        if n > dist.max_visits:
            add(
                "max_visits",
                None,
                f"{dist.name}の訪問は{n}回で、上限 {dist.max_visits}回を超えています",
                district_id=dist.id,
            )
        for d1, d2 in itertools.pairwise(sorted(reg_days[dist.id])):
            if (d2 - d1).days < dist.min_days_between:
                add(
                    "spacing",
                    None,
                    f"{dist.name}の訪問 {_jp(d1)} と {_jp(d2)} の間が{(d2 - d1).days}日で、"
                    f"{dist.min_days_between}日以上あける条件を満たしません",
                    district_id=dist.id,
                    date=d2.isoformat(),
                )

    # Pins.
    for pin in data.pins:
        if frozen is not None and pin.date < frozen:
            continue
        hit = [
            v
            for v in good
            if v.date == pin.date.isoformat()
            and v.site_id == pin.site_id
            and (v.start, v.end) == (hhmm(pin.window.start), hhmm(pin.window.end))
            and (pin.van_id is None or v.van_id == pin.van_id)
        ]
        if not hit:
            add(
                "pin_missing",
                None,
                f"固定した訪問 {_jp(pin.date)} {pin.window.label} {sites[pin.site_id].name}"
                + (f"({pin.van_id})" if pin.van_id else "")
                + " が計画にありません",
                date=pin.date.isoformat(),
                site_id=pin.site_id,
            )

    # Pinned events.
    for e in data.events:
        van_id = e.van_id or data.vans[0].id
        if e.kind == ACTIVITY_VOTING and (frozen is None or e.date_from >= frozen):
            day_s = e.date_from.isoformat()
            on_day = [v for v in good if v.date == day_s and v.van_id == van_id]
            for s in e.stops:
                if not any(
                    v.site_id == s.site_id
                    and (v.start, v.end) == (hhmm(s.window.start), hhmm(s.window.end))
                    and v.activity == ACTIVITY_VOTING
                    for v in on_day
                ):
                    add(
                        "voting_missing",
                        None,
                        f"期日前投票 {_jp(e.date_from)} {s.window.label} {sites[s.site_id].name}"
                        f"({van_id})の停車が計画にありません",
                        date=day_s,
                        site_id=s.site_id,
                    )
            for v in on_day:
                if v.activity != ACTIVITY_VOTING:
                    add("voting_day", v, "期日前投票の日の車両に、投票所以外の訪問があります")
        elif e.kind == ACTIVITY_DISASTER:
            van = vans[van_id]
            d = e.date_from
            while d <= e.date_to:
                # The van's early-voting day takes that day (as in the model): no sessions owed.
                taken = (d, van_id) in voting_stops
                if (
                    d in days
                    and d not in van.maintenance
                    and not taken
                    and (frozen is None or d >= frozen)
                ):
                    got = {
                        (v.start, v.end)
                        for v in good
                        if v.date == d.isoformat()
                        and v.van_id == van_id
                        and v.activity == ACTIVITY_DISASTER
                        and v.site_id in e.site_ids
                    }
                    for w in days[d].windows:
                        if (hhmm(w.start), hhmm(w.end)) not in got:
                            add(
                                "disaster_missing",
                                None,
                                f"災害対応 {_jp(d)} {w.label}({van_id})の受付が計画にありません",
                                date=d.isoformat(),
                            )
                d += timedelta(days=1)
        elif e.kind == ACTIVITY_RESERVATION:
            done = frozen is not None and e.date_to < frozen
            hit = [
                v
                for v in good
                if v.activity == ACTIVITY_RESERVATION
                and v.site_id == e.site_ids[0]
                and e.date_from <= date.fromisoformat(v.date) <= e.date_to
            ]
            if not hit and not done:
                add(
                    "reservation",
                    None,
                    f"予約訪問「{e.label or e.id}」({_jp(e.date_from)}〜{_jp(e.date_to)}、"
                    f"{sites[e.site_ids[0]].name})が計画にありません",
                    site_id=e.site_ids[0],
                )
            elif len(hit) > 1:
                for v in hit[1:]:
                    add("reservation", v, f"予約訪問「{e.label or e.id}」が2回以上入っています")
    return out
