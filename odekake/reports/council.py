"""What a council asks next: the extra tables of a usage report, one function each.

Each function returns a :class:`DataTable` (title, header, rows of cells, flagged
cells, notes) and renders nothing; the PDF, CSV and XLSX (and later the console)
format the same cells. :func:`build_council` computes them all for a
:class:`~odekake.reports.model.Report` at build time (it needs the database for
the previous year, the electorate and the costs).

- :func:`previous_year` — each row against the previous fiscal year, same period;
- :func:`monthly_users` — users per month and category (recorded stops);
- :func:`users_per_session` — users per session, by district;
- :func:`copies` — certificate copies (通数) and garbage tickets (枚数) beside people;
- :func:`fees` — fees collected by payment method (現金 / キャッシュレス);
- :func:`early_voting` — the early-voting station's electorate and turnout;
- :func:`costs` — 事業費 and cost per user, per fiscal year.
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from dataclasses import dataclass, field
from datetime import date

import sqlite_utils

from odekake.masterdata.catalog import CATEGORIES
from odekake.masterdata.wareki import fiscal_year_label, fiscal_year_of
from odekake.reports.counting import Period, StopCount
from odekake.reports.model import TOTAL_CATEGORIES, Cell, DataTable, Flag, Report
from odekake.reports.tallies import BLANK, DASH, as_int

PAYMENTS: dict[str, str] = {"cash": "現金", "cashless": "キャッシュレス"}


def _n(value: Cell) -> int:
    """A cell's whole number ("–", blank and fractions count as 0)."""
    return value if isinstance(value, int) else 0


def _diff(now: Cell, before: Cell) -> Cell:
    if isinstance(now, int) and isinstance(before, int):
        return now - before
    return DASH


def shifted_year(day: date, years: int) -> date:
    """The same day ``years`` later (Feb 29 → Feb 28)."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def previous_period(period: Period, as_of: date) -> Period:
    """The same period one year earlier; ends where this one has data (the as-of day)."""
    end = min(period.end, max(as_of, period.start))
    return Period(shifted_year(period.start, -1), shifted_year(end, -1), period.kind)


def previous_year(report: Report, previous: Report) -> DataTable:
    """Each row of ``report`` beside the same row of the previous year's same period."""
    p = previous.period
    t = DataTable(
        "previous_year",
        "前年度同期との比較",
        [
            "活動",
            "地区",
            "回数",
            "前年同期 回数",
            "増減",
            "利用者数(計)",
            "前年同期 利用者数",
            "増減",
        ],
        numeric_from=2,
    )
    # An empty previous year is a skeleton of 0 回 rows: nothing to compare with, so "–".
    before = (
        {}
        if previous.empty
        else {(r.activity, r.district_id, r.is_total): r for r in previous.rows}
    )
    seen: set[tuple[str, str | None, bool]] = set()
    for r in report.rows:
        key = (r.activity, r.district_id, r.is_total)
        seen.add(key)
        b = before.get(key)
        # A row the previous year did not have is "–", never 0 (0 would say "ran, nobody came").
        bs: Cell = b.sessions if b else DASH
        bt: Cell = b.total if b else DASH
        t.rows.append(
            [r.label, r.sublabel, r.sessions, bs, _diff(r.sessions, bs), r.total, bt,
             _diff(r.total, bt)]
        )  # fmt: skip
    for b in previous.rows:
        key = (b.activity, b.district_id, b.is_total)
        if key not in seen and not previous.empty:
            t.rows.append(
                [b.label, b.sublabel, 0, b.sessions, _diff(0, b.sessions), DASH, b.total, DASH]
            )
    # 運用回数 counts sessions: it goes under the 回数 columns; サービス提供者数 under 利用者数.
    sessions_now = report.summary_line("sessions").value
    served_now = report.summary_line("served").value
    sessions_before: Cell = DASH if previous.empty else previous.summary_line("sessions").value
    served_before: Cell = DASH if previous.empty else previous.summary_line("served").value
    t.rows.append(
        ["運用回数", "", sessions_now, sessions_before, _diff(sessions_now, sessions_before),
         "", "", ""]
    )  # fmt: skip
    t.rows.append(
        ["サービス提供者数", "", "", "", "", served_now, served_before,
         _diff(served_now, served_before)]
    )  # fmt: skip
    t.notes.append(f"前年同期: {p.range_label()}")
    if report.period_statements:
        t.notes.append(
            f"今期は過去集計の期間{''.join(report.period_statements)}の値です。前年同期の過去集計は"
            "分割できないため、その期間全体の値と比べています。"
        )
    if previous.empty:
        t.notes.append("前年同期の運行記録・過去集計はありません。")
    t.notes += [f"前年同期: {n}" for n in previous.notes if "含めていません" in n]
    return t


def _offered_cell(stops: list[StopCount], category: str) -> Cell:
    if any(category in s.offered for s in stops):
        return sum(s.people[category] for s in stops)
    return DASH


@dataclass
class _Tally:
    """People per category and the categories offered, over some stops (one pass)."""

    sessions: int = 0
    people: Counter[str] = field(default_factory=Counter)
    offered: set[str] = field(default_factory=set)

    def add(self, s: StopCount, offered: set[str]) -> None:
        self.sessions += 1
        people = self.people
        for c, n in s.people.items():
            people[c] += n
        self.offered |= offered

    def cell(self, category: str) -> Cell:
        return self.people[category] if category in self.offered else DASH


def monthly_users(report: Report) -> DataTable:
    """Users per month and category, from the recorded stops (to the as-of day)."""
    whole = _Tally()
    by_month: dict[tuple[int, int], _Tally] = {}
    for s in report.stops:
        offered = s.offered
        whole.add(s, offered)
        by_month.setdefault((s.day.year, s.day.month), _Tally()).add(s, offered)
    cats = [c for c in CATEGORIES if c in whole.offered]
    t = DataTable(
        "monthly_users",
        "月別・分野別の利用者数",
        ["月", "回数", *(CATEGORIES[c] for c in cats), "計"],
    )
    known = {m for m, n in report.monthly_sessions if n is not None}
    for y, m in report.period.months():
        if (y, m) not in known:
            continue  # no data (before the records, inside a tally, after the as-of day)
        mt = by_month.get((y, m), _Tally())
        cells = [mt.cell(c) for c in cats]
        total = sum(mt.people[c] for c in cats if c in TOTAL_CATEGORIES)
        label = f"{y}年{m}月"
        if (y, m) == report.partial_month:
            label += f"({report.created.day}日現在)"
        t.rows.append([label, mt.sessions, *cells, total if mt.sessions else DASH])
    if not t.rows:
        t.notes.append("月別の内訳が分かる記録はありません。")
        return t
    t.rows.append(
        ["計", whole.sessions, *(whole.cell(c) for c in cats),
         sum(whole.people[c] for c in cats if c in TOTAL_CATEGORIES)]
    )  # fmt: skip
    t.notes.append(
        "「–」はその月にその分野を実施していない、0 は実施して利用がなかったことを示します。"
    )
    if "explanation" in cats:
        t.notes.append("計に説明・見学者は含みません(表の「計」と同じ)。")
    if report.sheets:
        t.notes.append(
            "過去集計は月別の内訳がないため含みません("
            + "、".join(s.label for s in report.sheets)
            + ")。"
        )
    return t


def _per(total: Cell, sessions: Cell) -> Cell:
    if isinstance(total, int) and isinstance(sessions, int) and sessions:
        return round(total / sessions, 1)
    return DASH


def users_per_session(report: Report) -> DataTable:
    """Users (計) per session, by district of 地区定期巡回 and by the other activities."""
    t = DataTable(
        "users_per_session",
        "1回あたりの利用者数(地区別)",
        ["活動", "地区", "回数", "利用者数(計)", "1回あたり"],
        numeric_from=2,
    )
    for r in report.rows:
        t.rows.append([r.label, r.sublabel, r.sessions, r.total, _per(r.total, r.sessions)])
    return t


def copies(report: Report) -> DataTable:
    """Certificate copies (通数) and garbage tickets (枚数) beside the people served."""
    t = DataTable(
        "copies",
        "証明書の通数・ごみ納付券の枚数(利用者数との比較)",
        ["活動", "地区", "証明書 人数", "証明書 通数", "ごみ納付券 人数", "ごみ納付券 枚数"],
        numeric_from=2,
    )
    groups: dict[tuple[str, str], list[StopCount]] = {}
    names = {
        r.district_id: r.sublabel for r in report.rows if r.activity == "regular" and r.district_id
    }
    for s in report.stops:
        if s.activity == "regular":
            key = ("地区定期巡回", names.get(s.district_id, s.district_id))
        else:
            key = (s.activity_label, "")
        groups.setdefault(key, []).append(s)
    order = [(r.label, r.sublabel) for r in report.rows]
    keys = sorted(groups, key=lambda k: order.index(k) if k in order else len(order))
    total: Counter[str] = Counter()
    for k in keys:
        ss = groups[k]
        row: list[Cell] = [*k]
        for c in ("certificate", "garbage"):
            people = _offered_cell(ss, c)
            units = sum(s.units[c] for s in ss) if people != DASH else DASH
            row += [people, units]
            total[c + "p"] += _n(people)
            total[c + "u"] += _n(units)
        if any(v != DASH for v in row[2:]):
            t.rows.append(row)
    if t.rows:
        t.rows.append(
            ["計", "", total["certificatep"], total["certificateu"], total["garbagep"],
             total["garbageu"]]
        )  # fmt: skip
    else:
        t.notes.append("この期間に証明書・ごみ納付券の記録はありません。")
    if report.sheets:
        t.notes.append("過去集計には通数・枚数がないため、記録のみで集計しています。")
    return t


def fees(report: Report) -> DataTable:
    """Fees collected by category and payment method; voided receipts are not counted."""
    t = DataTable(
        "fees",
        "手数料の収納額(支払方法別)",
        ["区分", "現金(円)", "キャッシュレス(円)", "計(円)", "キャッシュレスの割合(%)"],
    )
    total: Counter[str] = Counter()
    collected: Counter[tuple[str, str]] = Counter()
    for s in report.stops:
        if s.fees:
            collected.update(s.fees)
    for c, label in CATEGORIES.items():
        row = Counter({pay: collected[(c, pay)] for pay in PAYMENTS})
        if not sum(row.values()):
            continue
        total.update(row)
        t.rows.append([label, row["cash"], row["cashless"], sum(row.values()), _share(row)])
    t.rows.append(["計", total["cash"], total["cashless"], sum(total.values()), _share(total)])
    t.notes.append("書損(取消)にした領収の手数料は含みません。")
    if report.sheets:
        t.notes.append("過去集計には手数料がないため、記録のみで集計しています。")
    return t


def _share(row: Counter[str]) -> Cell:
    whole = sum(row.values())
    return round(100 * row["cashless"] / whole, 1) if whole else DASH


def _electors(db: sqlite_utils.Database, stop: StopCount) -> int | None:
    """The electorate of the mobile station that served ``stop`` (district and day)."""
    try:
        row = db.execute(
            "SELECT SUM(electors) FROM election_stations WHERE kind = 'mobile' "
            "AND district_id = ? AND date_from <= ? AND ? <= date_to AND electors IS NOT NULL",
            [stop.district_id, stop.day.isoformat(), stop.day.isoformat()],
        ).fetchone()
    except sqlite3.OperationalError:  # a database without the voting tables
        return None
    return int(row[0]) if row and row[0] is not None else None


def early_voting(db: sqlite_utils.Database, report: Report) -> tuple[DataTable, list[Flag]]:
    """The early-voting station: electorate, voters, turnout; a table's 計 that differs."""
    t = DataTable(
        "early_voting",
        "移動期日前投票所の選挙人数と投票率",
        ["出典", "日付・期間", "地区", "選挙人数", "投票者数", "投票率(%)", "表の計"],
        numeric_from=3,
    )
    flags: list[Flag] = []
    names = (
        dict(db.execute("SELECT id, name FROM districts").fetchall())
        if _has_table(db, "districts")
        else {}
    )
    for s in report.stops:
        if s.activity != "voting":
            continue
        electors = _electors(db, s)
        cast = s.people["voting"]
        t.rows.append(
            ["記録", s.day.isoformat(), names.get(s.district_id, s.district_id),
             electors if electors is not None else BLANK, cast, _turnout(cast, electors), cast]
        )  # fmt: skip
    for sheet in report.sheets:
        for line in sheet.rows:
            if line.activity != "voting":
                continue
            printed = line.cell("total")
            voters_c = line.cell("voters")
            electors_c = line.cell("electors")
            voters: Cell = voters_c if isinstance(voters_c, int) else printed
            electors = electors_c if isinstance(electors_c, int) else None
            row: list[Cell] = [
                sheet.label,
                f"{sheet.period.start.isoformat()}〜{sheet.period.end.isoformat()}",
                "",
                electors if electors is not None else BLANK,
                voters,
                _turnout(_n(voters), electors),
                printed,
            ]
            if isinstance(voters_c, int) and isinstance(printed, int) and voters_c != printed:
                t.flagged[len(t.rows)] = {6}
                flags.append(
                    Flag(
                        sheet.label,
                        "移動期日前投票所 の計",
                        printed,
                        voters_c,
                        "本文の投票者数",
                    )
                )
            t.rows.append(row)
    if not t.rows:
        t.notes.append("この期間に移動期日前投票所の運行はありません。")
    else:
        t.notes.append("投票率 = 投票者数 ÷ 選挙人数(選挙人数が分からないときは空欄)。")
    return t, flags


def _has_table(db: sqlite_utils.Database, name: str) -> bool:
    return name in db.table_names()


def _turnout(voters: int, electors: int | None) -> Cell:
    return round(100 * voters / electors, 1) if electors else BLANK


def costs(db: sqlite_utils.Database, report: Report) -> DataTable:
    """事業費 and cost per user of each fiscal year the report touches (users: 計 + 説明)."""
    from odekake.reports.costs import cost_of

    t = DataTable(
        "costs",
        "事業費と利用者1人あたりの費用",
        ["年度", "事業費(円)", "サービス提供者数", "1人あたり(円)", "備考"],
    )
    period = report.period
    fys = sorted({fiscal_year_of(period.start), fiscal_year_of(period.end)})
    fys = list(range(fys[0], fys[-1] + 1))
    for fy in fys:
        whole = Period.fiscal_year(fy)
        cost = cost_of(db, fy)
        if len(fys) == 1:
            users: int = report.summary_line("served").value
        else:
            users = sum(
                s.people[c] for s in report.stops if whole.contains(s.day) for c in TOTAL_CATEGORIES
            )
            users += sum(
                as_int(x.cell("total")) for sh in report.sheets if whole.covers(sh.period)
                for x in sh.rows
            )  # fmt: skip
        note = cost.note if cost else "事業費が登録されていません(odekake costs set)"
        if not period.covers(whole):
            note = (note + " " if cost else "") + "期間が年度の一部のため1人あたりは出していません"
        elif report.created < whole.end:
            note = (note + " " if cost else "") + f"{report.as_of_text}の年度途中の値です"
        # A part of the year's users against the whole year's cost would mislead.
        per: Cell = round(cost.amount / users) if cost and users and period.covers(whole) else DASH
        t.rows.append(
            [fiscal_year_label(fy), cost.amount if cost else BLANK, users, per, note.strip()]
        )
    return t


def build_council(db: sqlite_utils.Database, report: Report, previous: Report | None) -> None:
    """Compute every council table of ``report`` (and add their flags to its flags)."""
    tables: list[DataTable] = []
    if previous is not None:
        tables.append(previous_year(report, previous))
    tables.append(monthly_users(report))
    tables.append(users_per_session(report))
    tables.append(copies(report))
    tables.append(fees(report))
    voting, flags = early_voting(db, report)
    tables.append(voting)
    report.flags.extend(flags)
    tables.append(costs(db, report))
    report.council = tables


def council_tables(report: Report) -> list[DataTable]:
    """The council tables computed for ``report`` (in print order)."""
    return list(report.council)
