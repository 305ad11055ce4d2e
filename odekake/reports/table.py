"""The usage report model: the table city hall reads, its summary lines and flags.

Built from the counted records (:mod:`odekake.reports.counting`) and the imported
past tallies (:mod:`odekake.reports.tallies`). Rendering (PDF, CSV, XLSX) only
formats a :class:`Report`; every number is decided here.

Rules (also in ``docs/reports.md``):

- Rows: 地区定期巡回 (one row per district, then 計), 予約訪問, 移動期日前投票所,
  り災証明書出張申請受付, その他 — each only when it has sessions or a tally line in
  the period. A period with neither renders the empty table (every activity, 0 回).
- Category cells: "–" when the category was offered at no stop of the row (and no
  tally says otherwise), a number otherwise (0 = offered, unused). Blank only comes
  from a tally that printed a blank (not recorded).
- 計 = 証明書 + マイナンバーカード + ごみ納付券 + 相談 + フレイル + り災申請 + 期日前投票.
  The last two have no column: they are the 計 of the り災 and 投票 rows.
- A report column (of the five) is left out when it is "–" in every row — as the
  FY2023 table has no フレイル column — except in an empty report.
- Summary: 運用回数 = Σ 回数; サービス提供者数 = Σ 計; その他車両見学・事業説明者数 =
  Σ 活動等説明者数.
- Tallies and records: a tally counts in a report only when its whole period lies in
  the report's period. A stop whose activity (and, for 地区定期巡回, district) an
  included tally sheet lists, on a day inside that sheet's period, is not counted
  again. A tally that only partly overlaps is left out, with a note.
- When the report is exactly one tally sheet (nothing else contributes), it shows
  the printed totals as printed; every printed total that differs from what its
  cells add up to is a :class:`Flag` (shown, never corrected silently).
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime

import sqlite_utils

from odekake.masterdata import master
from odekake.masterdata.catalog import CATEGORIES, REPORT_COLUMNS
from odekake.reports.council import build_council, previous_period
from odekake.reports.counting import JST, Counts, Period, StopCount, count_period
from odekake.reports.model import (
    PARTS,
    PARTS_LABEL,
    PRINTED_DISTRICT_ORDER,
    ROW_ORDER,
    SERVED_PARTS,
    SESSION_PART_LABELS,
    TOTAL_LABEL,
    Flag,
    Report,
    ReportRow,
    SummaryLine,
    _differs,
    combine,
    department,
    period_statement,
    total_of,
)
from odekake.reports.tallies import DASH, HEADERS, CellValue, TallyLine, TallySheet, as_int
from odekake.reports.tally_store import load_sheets

# ------------------------------------------------------------------ assembling


@dataclass
class _Acc:
    sessions: int = 0
    cells: dict[str, CellValue] = field(default_factory=lambda: dict.fromkeys(CATEGORIES, DASH))
    notes: list[str] = field(default_factory=list)

    def add_stop(self, stop: StopCount) -> None:
        self.sessions += 1
        for c in stop.offered:
            if c in self.cells:
                self.cells[c] = combine(self.cells[c], 0)
        for c, n in stop.people.items():
            self.cells[c] = combine(self.cells.get(c, DASH), n)

    def add_line(self, line: TallyLine) -> None:
        self.sessions += as_int(line.cell("sessions"))
        for c in REPORT_COLUMNS:
            self.cells[c] = combine(self.cells[c], line.cell(c))
        self.cells["explanation"] = combine(self.cells["explanation"], line.cell("explanation"))
        if line.activity in ("disaster", "voting"):
            printed = line.cell("total")
            own: CellValue = printed
            if isinstance(printed, int):
                own = printed - sum(as_int(line.cell(c)) for c in REPORT_COLUMNS)
            self.cells[line.activity] = combine(self.cells[line.activity], own)
        if line.note:
            self.notes.append(line.note)


def merge_notes(notes: list[str]) -> str:
    """Join remarks of several tallies/records, each ``・`` item once, in order."""
    items: list[str] = []
    for note in notes:
        parts = [p.strip() for p in re.split(r"\s+(?=・)", note) if p.strip()]
        for p in parts:
            if p not in items:
                items.append(p)
    return " ".join(items)


RowKey = tuple[str, str | None]


def _district_order(db: sqlite_utils.Database) -> tuple[dict[str, int], dict[str, str]]:
    names = {d.id: d.name for d in master.districts(db)}
    order = {d: i for i, d in enumerate(PRINTED_DISTRICT_ORDER)}
    for i, d in enumerate(names):
        order.setdefault(d, len(PRINTED_DISTRICT_ORDER) + i)
    return order, names


def _assemble(
    accs: dict[RowKey, _Acc],
    order: dict[str, int],
    names: dict[str, str],
    *,
    skeleton: bool,
) -> tuple[list[ReportRow], list[str]]:
    rows: list[ReportRow] = []
    if skeleton:
        for a in ROW_ORDER[1:]:
            accs.setdefault((a, None), _Acc())
    districts = sorted(
        (k[1] for k in accs if k[0] == "regular" and k[1] is not None),
        key=lambda d: (order.get(d, 10_000), d),
    )
    for a in ROW_ORDER:
        if a == "regular":
            if not districts and not skeleton:
                continue
            total = _Acc()
            for d in districts:
                acc = accs[("regular", d)]
                rows.append(_row("regular", d, names.get(d, d), acc))
                total.sessions += acc.sessions
                for c in CATEGORIES:
                    total.cells[c] = combine(total.cells[c], acc.cells[c])
            rows.append(_row("regular", None, TOTAL_LABEL, total, is_total=True))
        elif (a, None) in accs:
            rows.append(_row(a, None, "", accs[(a, None)]))
    shown = [c for c in REPORT_COLUMNS if any(r.cells[c] != DASH for r in rows)]
    if skeleton:
        shown = list(REPORT_COLUMNS)
    return rows, shown


def _row(
    activity: str, district: str | None, sublabel: str, acc: _Acc, *, is_total: bool = False
) -> ReportRow:
    cells = dict(acc.cells)
    note_parts = list(acc.notes)
    if activity not in ("disaster", "voting"):
        for c, label in (("disaster", "り災申請"), ("voting", "期日前投票")):
            if as_int(cells[c]):
                note_parts.append(f"計に{label} {cells[c]}人を含む")
    return ReportRow(
        activity=activity,
        district_id=district,
        sublabel=sublabel,
        sessions=acc.sessions,
        cells=cells,
        total=total_of(cells),
        note=merge_notes(note_parts),
        is_total=is_total,
    )


def _summary(rows: list[ReportRow]) -> list[SummaryLine]:
    top = [r for r in rows if r.is_total or r.activity != "regular"]
    districts = [r for r in rows if r.activity == "regular" and not r.is_total]
    sessions = SummaryLine("sessions", sum(as_int(r.sessions) for r in top))
    for r in top:
        if as_int(r.sessions) == 0:
            continue
        label = f"巡回{len(districts)}地区" if r.activity == "regular" else None
        sessions.parts.append((label or SESSION_PART_LABELS[r.activity], as_int(r.sessions)))
    served = SummaryLine("served", sum(as_int(r.total) for r in top))
    for label, cats in SERVED_PARTS:
        values = [r.cells[c] for r in top for c in cats]
        if any(isinstance(v, int) for v in values):  # offered somewhere
            served.parts.append((label, sum(as_int(v) for v in values)))
    # A breakdown of one item only repeats the total.
    if len(served.parts) < 2:
        served.parts = []
    if len(sessions.parts) < 2:
        sessions.parts = []
    explained = SummaryLine("explained", sum(as_int(r.explanation) for r in top))
    return [sessions, served, explained]


# ------------------------------------------------------------ printed values


def _norm(text: str) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))


def _match_part(label: str, parts: list[tuple[str, int]]) -> tuple[str, int] | None:
    want = _norm(label)
    if want.startswith("巡回"):
        return next(((lab, n) for lab, n in parts if lab.startswith("巡回")), None)
    for lab, n in parts:
        have = _norm(lab)
        if have == want or have.startswith(want) or want.startswith(have):
            return (lab, n)
    return None


def _check_sheet(
    sheet: TallySheet, rows: list[ReportRow], summary: list[SummaryLine]
) -> list[Flag]:
    """Compare the sheet's printed totals with its cells (rows/summary from the sheet alone)."""
    flags: list[Flag] = []
    src = sheet.label
    by_key = {(r.activity, r.district_id, r.is_total): r for r in rows}
    for line in sheet.rows:
        if line.activity in ("disaster", "voting"):
            continue  # their 計 is the count itself
        r = by_key.get((line.activity, line.district_id, False))
        printed = line.cell("total")
        if r is not None and _differs(printed, r.total):
            where = f"{r.label} {r.sublabel}".strip() + " の計"
            flags.append(Flag(src, where, printed, r.total, "各欄の合計"))
    total_line = sheet.total
    computed_total = by_key.get(("regular", None, True))
    if total_line is not None and computed_total is not None:
        for key in ("sessions", *REPORT_COLUMNS, "total", "explanation"):
            printed = total_line.cell(key)
            if _differs(printed, computed_total.value(key)):
                flags.append(
                    Flag(
                        src,
                        f"地区定期巡回 計 の{HEADERS[key]}",
                        printed,
                        computed_total.value(key),
                        "各地区の行の合計",
                    )
                )
    for s in summary:
        lines = sheet.summary(s.key)
        head = next((x for x in lines if not x.label), None)
        parts = [x for x in lines if x.label]
        if head is not None:
            printed = as_int(head.cell("total"))
            if printed != s.value:
                flags.append(Flag(src, s.label, printed, s.value, "表の各欄から求めた値"))
            if parts:
                # The breakdown is what does not add up: compare it with the total,
                # which the table confirms when it equals the table's own value.
                psum = sum(as_int(x.cell("total")) for x in parts)
                if psum != printed:
                    basis = "表の各欄から求めた値" if printed == s.value else "印刷された合計"
                    flags.append(Flag(src, f"{s.label} の{PARTS_LABEL}", psum, printed, basis))
        for x in parts:
            match = _match_part(x.label, s.parts)
            if match is None:
                continue
            printed = as_int(x.cell("total"))
            if printed != match[1]:
                flags.append(
                    Flag(src, f"{s.label} の{x.label}", printed, match[1], "表の各欄から求めた値")
                )
            digits = re.findall(r"\d+", _norm(x.label))
            if s.key == "sessions" and digits and _norm(x.label).startswith("巡回"):
                have = int(re.findall(r"\d+", match[0])[0])
                if int(digits[0]) != have:
                    flags.append(
                        Flag(
                            src,
                            f"{s.label} の{x.label}(地区数)",
                            int(digits[0]),
                            have,
                            "表の地区数",
                        )
                    )
    return flags


def _apply_printed(sheet: TallySheet, rows: list[ReportRow], summary: list[SummaryLine]) -> None:
    """Show the sheet's printed totals as printed, marking those that do not add up."""
    for r in rows:
        if r.is_total:
            line = sheet.total
            if line is None:
                continue
            for key in ("sessions", *REPORT_COLUMNS, "total", "explanation"):
                printed = line.cell(key)
                if _differs(printed, r.value(key)):
                    r.flagged.add(key)
                if key == "sessions":
                    r.sessions = printed
                elif key == "total":
                    r.total = printed
                else:
                    r.cells[key] = printed
            r.note = merge_notes([x for x in (r.note, line.note) if x])
            continue
        if r.activity in ("disaster", "voting"):
            continue
        match = next(
            (x for x in sheet.rows if x.activity == r.activity and x.district_id == r.district_id),
            None,
        )
        if match is not None:
            printed = match.cell("total")
            if _differs(printed, r.total):
                r.flagged.add("total")
            r.total = printed
    for s in summary:
        lines = sheet.summary(s.key)
        head = next((x for x in lines if not x.label), None)
        parts = [x for x in lines if x.label]
        if head is None:
            continue
        computed = SummaryLine(s.key, s.value, list(s.parts))
        s.value = as_int(head.cell("total"))
        if s.value != computed.value:
            s.flagged.add("")
        if parts and sum(as_int(x.cell("total")) for x in parts) != s.value:
            s.flagged.add(PARTS)
        s.parts = [(x.label, as_int(x.cell("total"))) for x in parts]
        for x in parts:
            part = _match_part(x.label, computed.parts)
            if part is not None and part[1] != as_int(x.cell("total")):
                s.flagged.add(x.label)


# ------------------------------------------------------------------ building


def build_report(db: sqlite_utils.Database, period: Period, *, today: date | None = None) -> Report:
    """The usage report for ``period``: records and past tallies, without double counting.

    Args:
        today: The report's 作成日 and the charts' as-of day (default: today in JST).
    """
    created = today or datetime.now(JST).date()
    prev = previous_period(period, created)
    # One pass over the records for both periods (the scan dominates the time).
    both = count_period(db, Period(prev.start, period.end))
    counts = Counts(
        period, [s for s in both.stops if period.contains(s.day)], both.orphans, both.purged
    )
    prev_counts = Counts(prev, [s for s in both.stops if prev.contains(s.day)])
    sheets = load_sheets(db)
    report = build_from(db, period, counts, sheets, today=created)
    previous = build_from(db, prev, prev_counts, sheets, today=created)
    build_council(db, report, previous)
    return report


def build_from(
    db: sqlite_utils.Database,
    period: Period,
    counts: Counts,
    sheets: list[TallySheet],
    *,
    today: date | None = None,
) -> Report:
    """:func:`build_report` from already-read counts and sheets."""
    created = today or datetime.now(JST).date()
    order, names = _district_order(db)
    included = [s for s in sheets if period.covers(s.period)]
    partial = [s for s in sheets if period.overlaps(s.period) and not period.covers(s.period)]
    notes: list[str] = []
    for s in partial:
        notes.append(f"{s.label}は期間の一部だけが重なるため含めていません(分割できません)。")

    stops: list[StopCount] = []
    skipped = 0
    unknown: Counter[str] = Counter()
    for stop in counts.stops:
        if stop.activity not in ROW_ORDER:
            unknown[stop.activity] += 1
        elif any(s.covers(stop.activity, stop.district_id, stop.day) for s in included):
            skipped += 1
        else:
            stops.append(stop)
    if skipped:
        notes.append(
            f"過去集計と重なる記録 {skipped} 回分は過去集計の値を使いました(二重に数えていません)。"
        )
    for activity, n in sorted(unknown.items()):
        notes.append(f"活動の種類が不明な運行 {n} 回分({activity!r})は集計していません。")
    for s in included:
        notes.append(f"{s.label}を含みます。")
    if counts.orphans:
        notes.append(f"停車記録のない利用記録 {counts.orphans} 件は集計していません。")
    if counts.purged:
        notes.append(f"保存期間経過で内容が消去された記録 {counts.purged} 件は集計できません。")

    accs: dict[RowKey, _Acc] = {}
    for stop in stops:
        accs.setdefault(_key(stop.activity, stop.district_id), _Acc()).add_stop(stop)
    for s in included:
        for line in s.rows:
            accs.setdefault(_key(line.activity, line.district_id), _Acc()).add_line(line)
    empty = not accs
    rows, shown = _assemble(accs, order, names, skeleton=empty)
    summary = _summary(rows)
    report = Report(period=period, columns=shown, rows=rows, summary=summary, notes=notes)
    report.empty = empty
    if empty:
        report.notes.insert(0, "この期間の運行記録・過去集計はありません。")

    for s in included:
        s_accs: dict[RowKey, _Acc] = {}
        for line in s.rows:
            s_accs.setdefault(_key(line.activity, line.district_id), _Acc()).add_line(line)
        s_rows, _shown = _assemble(s_accs, order, names, skeleton=False)
        report.flags.extend(_check_sheet(s, s_rows, _summary(s_rows)))
    if len(included) == 1 and not stops:
        _apply_printed(included[0], rows, summary)
        report.as_printed = True

    report.created = created
    report.department = department(db)
    report.stops = stops
    report.sheets = included
    # "(R7.10まで)" says the figures stop at the tally's end: not true when records after it
    # are counted too (then the records' own as-of day applies).
    last_record = max((st.day for st in stops), default=None)
    report.period_statements = [
        period_statement(s.period.end)
        for s in included
        if s.period.end < period.end and (last_record is None or last_record <= s.period.end)
    ]
    _monthly(report, stops, included, created)
    return report


def _monthly(
    report: Report, stops: list[StopCount], included: list[TallySheet], as_of: date
) -> None:
    """Sessions per month, with None where nothing is known (no point on the chart).

    A month is known when a recorded stop or a month-long tally lies in it, or when it
    lies between two known months (the van was in service: 0 is a real 0). Months
    inside a tally without a monthly breakdown, before the first known month, after
    the last one or after the as-of day are unknown.
    """
    period = report.period
    month_counts: Counter[tuple[int, int]] = Counter((s.day.year, s.day.month) for s in stops)
    known: set[tuple[int, int]] = set(month_counts)
    no_months: set[tuple[int, int]] = set()
    for s in included:
        if s.period.is_whole_month():
            m = (s.period.start.year, s.period.start.month)
            month_counts[m] += sum(as_int(x.cell("sessions")) for x in s.rows)
            known.add(m)
        else:
            no_months.update(s.period.months())
            report.chart_notes.append(
                f"{s.label}は月別の内訳がないため、その期間の月は折れ線に点を打っていません。"
            )
    months = period.months()
    last_month = (as_of.year, as_of.month)
    if known:
        lo, hi = min(known), max(known)
        known |= {m for m in months if lo <= m <= hi and m not in no_months}
    known = {m for m in known if m <= last_month}
    report.monthly_sessions = [(m, month_counts[m] if m in known else None) for m in months]
    if last_month in known and as_of < period.end and as_of < _month_end(*last_month):
        report.partial_month = last_month
    if any(m > last_month for m in months):
        report.chart_notes.append(f"{report.as_of_text}の集計です(この日より後の月は空欄)。")


def _month_end(year: int, month: int) -> date:
    return Period.month(year, month).end


def _key(activity: str, district_id: str | None) -> RowKey:
    return (activity, district_id) if activity == "regular" else (activity, None)
