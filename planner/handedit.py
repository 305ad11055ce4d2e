"""A plan CSV edited in Excel, back into a draft (``odekake plan import-csv``).

The CSV is the one ``odekake plan --csv`` writes (Japanese headers, UTF-8 with BOM);
Excel may save it back as Shift_JIS (cp932) or UTF-8 with BOM, turn 2026-12-08 into
2026/12/8 and 10:00 into 10:00:00, and a coordinator may delete rows, copy a row
to another day, change a site id or a time. Each row is read on its own; every bad
line is named (line numbers as Excel shows them) and nothing is stored unless all
lines are good. The result is a new draft whose parent is the stored plan the CSV
came from (given, or the stored plan sharing the most visits with it).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import sqlite_utils

from odekake.documents.spreadsheet import read_csv as read_csv_file
from odekake.errors import ImportRejected, OdekakeError
from odekake.masterdata import master
from odekake.masterdata.catalog import ACTIVITIES, CATEGORIES
from planner.draft_edits import rebuild, refuse_overlaps
from planner.inputs import PolicyError, Window, hhmm, parse_hhmm
from planner.output import CSV_HEADERS
from planner.plan import Plan, PlanVisit, SolverReport
from planner.plan_store import load_plan, save_draft, summary

REQUIRED = ("日付", "車両", "開始", "終了")
_DATE = re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})$")
_TIME = re.compile(r"^(\d{1,2}):(\d{2})(?::\d{2})?$")


@dataclass(frozen=True)
class ImportedPlan:
    """What :func:`import_csv` stored."""

    plan_id: str
    parent_id: str | None
    visits: int


def _date(text: str) -> str:
    m = _DATE.match(text.strip())
    if not m:
        raise ValueError(f"日付 {text!r} は 2026-12-08 の形で書きます")
    try:
        return date(int(m.group(1)), int(m.group(2)), int(m.group(3))).isoformat()
    except ValueError:
        # Python's own words ("month must be in 1..12") are English: say it in Japanese.
        raise ValueError(
            f"日付 {text.strip()!r} はありません(月は1〜12、日はその月の日数まで)"
        ) from None


def _time(text: str, what: str) -> int:
    m = _TIME.match(text.strip())
    if not m:
        raise ValueError(f"{what} {text!r} は 10:00 の形で書きます")
    return parse_hhmm(f"{m.group(1)}:{m.group(2)}")


def _best_parent(db: sqlite_utils.Database, rows: list[tuple[str, str, str, str]]) -> str | None:
    """The stored plan that shares the most (date, van, start, site) visits with the CSV."""
    wanted = Counter[str]()
    for d, van, start, site in rows:
        for (pid,) in db.execute(
            "SELECT plan_id FROM plan_visits WHERE date = ? AND van_id = ? AND start = ?"
            " AND site_id = ?",
            [d, van, start, site],
        ):
            wanted[pid] += 1
    if not wanted:
        return None
    return max(wanted, key=lambda pid: (wanted[pid], pid))


def read_csv(
    db: sqlite_utils.Database, path: Path, base: Plan | None
) -> tuple[list[PlanVisit], list[tuple[int, str]]]:
    """The visits of a plan CSV and the problems found, by line (header = line 1)."""
    header, rows = read_csv_file(path)
    missing = [h for h in REQUIRED if h not in header]
    if "会場ID" not in header and "会場" not in header:
        missing.append("会場ID")
    if missing:
        raise OdekakeError(
            f"計画CSVの見出しに {'・'.join(missing)} がありません"
            f"(odekake plan --csv が書き出す形: {','.join(CSV_HEADERS)})"
        )
    sites = {s["id"]: s for s in master.sites(db)}
    by_name: dict[str, list[str]] = {}
    for s in sites.values():
        by_name.setdefault(s["name"], []).append(s["id"])
    districts = {d.id: d.name for d in master.districts(db)}
    vans = {r[0] for r in db.execute("SELECT id FROM vans")}
    activity_of = {v: k for k, v in ACTIVITIES.items()} | {k: k for k in ACTIVITIES}
    service_of = {v: k for k, v in CATEGORIES.items()} | {k: k for k in CATEGORIES}
    offsets = (15, 15)
    if base is not None and base.visits:
        v0 = base.visits[0]
        offsets = (
            parse_hhmm(v0.start) - parse_hhmm(v0.arrive),
            parse_hhmm(v0.depart) - parse_hhmm(v0.end),
        )
    base_services = {v.activity: v.services for v in (base.visits if base else []) if v.services}
    # A pinned event's visits keep their event (a reservation must come back as one).
    base_events = {v.event_id: v for v in (base.visits if base else []) if v.event_id}
    problems: list[tuple[int, str]] = []
    visits: list[PlanVisit] = []
    for line, row in rows:
        if "__error__" in row:
            problems.append((line, row["__error__"]))
            continue
        try:
            d = _date(row["日付"])
            van = row["車両"].strip()
            if van not in vans:
                raise ValueError(f"車両 {van!r} がマスタにありません")
            w = Window(_time(row["開始"], "開始"), _time(row["終了"], "終了"))
            sid = row.get("会場ID", "").strip()
            if not sid:
                ids = by_name.get(row.get("会場", "").strip(), [])
                if len(ids) != 1:
                    raise ValueError(
                        f"会場 {row.get('会場', '')!r} を特定できません(会場IDを書いてください)"
                    )
                sid = ids[0]
            site = sites.get(sid)
            if site is None:
                raise ValueError(f"会場ID {sid!r} がマスタにありません")
            kind = row.get("種別", "").strip() or ACTIVITIES["regular"]
            if kind not in activity_of:
                raise ValueError(f"種別 {kind!r} は {'・'.join(ACTIVITIES.values())} のどれかです")
            activity = activity_of[kind]
            services: tuple[str, ...] = ()
            text = row.get("サービス", "").strip()
            if text:
                names = [x.strip() for x in re.split(r"[・,、]", text) if x.strip()]
                bad = [x for x in names if x not in service_of]
                if bad:
                    raise ValueError(f"サービス {'・'.join(bad)} が分かりません")
                services = tuple(service_of[x] for x in names)
            services = services or base_services.get(activity, ())
            arrive = (
                _time(row["到着"], "到着") if row.get("到着", "").strip() else w.start - offsets[0]
            )
            depart = (
                _time(row["出発"], "出発") if row.get("出発", "").strip() else w.end + offsets[1]
            )
            users_text = row.get("見込み利用者", "").strip()
            try:
                users = float(users_text) if users_text else 0.0
            except ValueError:
                raise ValueError(f"見込み利用者 {users_text!r} は数で書きます") from None
            event_id = row.get("予定ID", "").strip()
            if event_id and base is not None and event_id not in base_events:
                raise ValueError(f"予定ID {event_id!r} は元の計画にありません")
        except (ValueError, PolicyError) as exc:
            problems.append((line, str(exc)))
            continue
        visits.append(
            PlanVisit(
                date=d,
                van_id=van,
                window=w.label,
                start=hhmm(w.start),
                end=hhmm(w.end),
                site_id=sid,
                site_name=site["name"],
                district_id=site["district_id"],
                district_name=districts.get(site["district_id"], site["district_id"]),
                activity=activity,
                arrive=hhmm(arrive),
                depart=hhmm(depart),
                order=1,
                opened_day=master.is_closed(db, date.fromisoformat(d)),
                travel_minutes=0,
                services=services,
                expected_users=users,
                event_id=event_id,
                label=base_events[event_id].label if event_id in base_events else "",
            )
        )
    return visits, problems


def import_csv(
    db: sqlite_utils.Database,
    path: Path,
    *,
    actor: str,
    parent_id: str | None = None,
    label: str = "",
) -> ImportedPlan:
    """Read an edited plan CSV and store it as a new draft.

    Raises:
        ImportRejected: Bad lines (each named); nothing was stored.
        OdekakeError: The file is not a plan CSV, or two visits of a van overlap.
    """
    base: Plan | None = None
    if parent_id is not None:
        base = load_plan(db, summary(db, parent_id).id)
    visits, problems = read_csv(db, path, base)
    if problems:
        raise ImportRejected("計画CSV", problems)
    if not visits:
        raise OdekakeError(f"計画CSVに訪問が1件もありません: {path}")
    if base is None:
        guess = _best_parent(db, [(v.date, v.van_id, v.start, v.site_id) for v in visits])
        if guess is not None:
            base = load_plan(db, guess)
    refuse_overlaps(visits)
    note = f"CSV {path.name} から取り込み"
    if base is None:
        dates = sorted(v.date for v in visits)
        empty = Plan(
            id="",
            created_at="",
            horizon_start=dates[0],
            horizon_end=dates[-1],
            visits=[],
            districts=[],
            solver=SolverReport("", "", 0.0, None, None, 0.0),
        )
        plan = rebuild(db, empty, visits, note=note)
        vans: list[str] | None = None
    else:
        plan = rebuild(db, base, visits, note=note)
        vans = list(summary(db, base.id).van_ids)
        outside = [v for v in visits if not plan.horizon_start <= v.date <= plan.horizon_end]
        if outside:
            raise OdekakeError(
                f"計画CSVの {outside[0].date} は元の計画の期間({plan.horizon_start}〜"
                f"{plan.horizon_end})の外です"
            )
    pid = save_draft(
        db,
        plan,
        policy_text=_policy(db, base.id) if base is not None else "",
        van_ids=vans,
        parent_id=base.id if base is not None else None,
        label=label or f"CSV {path.name}",
        actor=actor,
    )
    return ImportedPlan(pid, base.id if base is not None else None, len(plan.visits))


def _policy(db: sqlite_utils.Database, plan_id: str) -> str:
    row = db.execute("SELECT policy FROM plans WHERE id = ?", [plan_id]).fetchone()
    return str(row[0]) if row else ""
