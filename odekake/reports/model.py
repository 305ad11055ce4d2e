"""The usage report's data, as every renderer (PDF, CSV/XLSX, the console) reads it: its rows, summary lines, flags and extra tables, and the Report that holds them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import sqlite_utils

from odekake.masterdata.catalog import ACTIVITIES, USER_CATEGORIES
from odekake.masterdata.wareki import ERAS, both_date, era_of
from odekake.reports.counting import Period, StopCount
from odekake.reports.tallies import (
    BLANK,
    DASH,
    HEADERS,
    SUMMARY_LABELS,
    SUMMARY_UNITS,
    CellValue,
    TallySheet,
    as_int,
)

Cell = int | float | str


@dataclass
class DataTable:
    """One extra table: what every renderer shows."""

    key: str
    title: str
    header: list[str]
    rows: list[list[Cell]] = field(default_factory=list)
    flagged: dict[int, set[int]] = field(default_factory=dict)  # row index → column indexes
    notes: list[str] = field(default_factory=list)
    numeric_from: int = 1  # first column holding values (right-aligned)

    def row_flags(self) -> list[set[int]]:
        """The flagged column indexes of each row."""
        return [self.flagged.get(i, set()) for i in range(len(self.rows))]


TITLE = "行政MaaS(お出かけ市役所) 利用実績"


DEFAULT_DEPARTMENT = "いわき市 お出かけ市役所担当"


DEPARTMENT_SETTING = "report_department"


def department(db: sqlite_utils.Database) -> str:
    """The department printed on every page (settings key ``report_department``)."""
    row = db.execute("SELECT value FROM settings WHERE key = ?", [DEPARTMENT_SETTING]).fetchone()
    return str(row[0]).strip() if row and str(row[0]).strip() else DEFAULT_DEPARTMENT


def period_statement(sheet_end: date) -> str:
    """``(R5.11まで)``: how the printed tables state a period that ends early."""
    name, year = era_of(sheet_end)
    abbr = next(a for _s, n, a in ERAS if n == name)
    return f"({abbr}{year}.{sheet_end.month}まで)"


# Row order as the printed tables have it (投票 before り災 in FY2023).
ROW_ORDER: tuple[str, ...] = ("regular", "reservation", "voting", "disaster", "other")


# District order of the printed tables (mountain districts, then town), then the rest.
PRINTED_DISTRICT_ORDER: tuple[str, ...] = (
    "kawamae",
    "hisanohama",
    "tabito",
    "tono",
    "ogawa",
    "yoshima",
    "chuodai",
)


# Categories counted in 計 (the five columns, plus the two that are their rows' 計).
TOTAL_CATEGORIES: tuple[str, ...] = USER_CATEGORIES


# サービス提供者数 breakdown: (label, categories).
SERVED_PARTS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("証明書発行業務等", ("certificate", "mynumber", "garbage")),
    ("相談業務", ("consultation",)),
    ("フレイル予防", ("frailty",)),
    ("り災証明書申請", ("disaster",)),
    ("期日前投票", ("voting",)),
)


SESSION_PART_LABELS: dict[str, str] = {
    "reservation": "予約訪問",
    "voting": "移動期日前投票所",
    "disaster": "り災",
    "other": "その他",
}


TOTAL_LABEL = "計"


PARTS = "*parts"  # SummaryLine.flagged: the printed breakdown does not add up to the total


PARTS_LABEL = "内訳の合計"


def combine(a: CellValue, b: CellValue) -> CellValue:
    """Add two cells: numbers add ("–"/blank count 0); blank beats "–" when neither is a number."""
    if isinstance(a, int) or isinstance(b, int):
        return as_int(a) + as_int(b)
    return BLANK if BLANK in (a, b) else DASH


def total_of(cells: dict[str, CellValue]) -> CellValue:
    """計 of a row: Σ of :data:`TOTAL_CATEGORIES`; "–"/blank when none is a number."""
    out: CellValue = DASH
    for c in TOTAL_CATEGORIES:
        out = combine(out, cells.get(c, DASH))
    return out


def _differs(printed: CellValue, computed: CellValue) -> bool:
    if not isinstance(printed, int) and not isinstance(computed, int):
        return False
    return as_int(printed) != as_int(computed)


@dataclass
class ReportRow:
    """One line of the table."""

    activity: str
    district_id: str | None  # the district of a 地区定期巡回 row; None otherwise
    sublabel: str  # district name, 計, or ""
    sessions: CellValue
    cells: dict[str, CellValue]  # every category of CATEGORIES
    total: CellValue
    note: str = ""
    is_total: bool = False
    flagged: set[str] = field(default_factory=set)  # keys of cells whose printed value is off

    @property
    def label(self) -> str:
        """The activity's name."""
        return ACTIVITIES.get(self.activity, self.activity)

    @property
    def explanation(self) -> CellValue:
        """活動等説明者数."""
        return self.cells.get("explanation", DASH)

    def value(self, key: str) -> CellValue:
        """A cell by column key (``sessions``, a category, ``total``, ``explanation``)."""
        if key == "sessions":
            return self.sessions
        if key == "total":
            return self.total
        return self.cells.get(key, DASH)


@dataclass
class SummaryLine:
    """One ■ line under the table."""

    key: str  # "sessions" | "served" | "explained"
    value: int
    parts: list[tuple[str, int]] = field(default_factory=list)
    # "" = the total, PARTS = the breakdown as a whole (its sum), else a part's label
    flagged: set[str] = field(default_factory=set)

    @property
    def parts_sum(self) -> int:
        """Σ of the breakdown items."""
        return sum(n for _lab, n in self.parts)

    @property
    def label(self) -> str:
        """運用回数 / サービス提供者数 / その他車両見学・事業説明者数."""
        return SUMMARY_LABELS[self.key]

    @property
    def unit(self) -> str:
        """回 or 人."""
        return SUMMARY_UNITS[self.key]

    def text(self, mark: str = "") -> str:
        """``運用回数：59回(巡回4地区：22回、予約訪問：9回)`` as the printed tables write it.

        Args:
            mark: Appended to each flagged value (the PDF uses ``▲``).
        """
        u = self.unit
        m = {k: mark for k in self.flagged} if mark else {}
        out = f"{self.label}：{self.value}{u}{m.get('', '')}"
        if self.parts:
            out += "(" + "、".join(f"{lab}：{n}{u}{m.get(lab, '')}" for lab, n in self.parts) + ")"
        if PARTS in self.flagged and mark:
            out += f"{mark}{PARTS_LABEL} {self.parts_sum}{u}"
        return out


@dataclass(frozen=True)
class Flag:
    """A printed total that does not equal what it should add up to."""

    source: str  # which tally sheet printed it
    where: str
    printed: CellValue
    computed: CellValue
    basis: str  # what ``computed`` is: 各欄の合計, 各地区の行の合計, 内訳の合計, …

    def message(self) -> str:
        """One Japanese line."""
        return (
            f"{self.source} {self.where}: 印刷された値 {_shown(self.printed)} が"
            f"{self.basis} {_shown(self.computed)} と一致しません"
        )


def _shown(value: CellValue) -> str:
    return "空欄" if value == BLANK else str(value)


@dataclass
class Report:
    """Everything a usage report shows."""

    period: Period
    columns: list[str]  # the category columns shown, of REPORT_COLUMNS
    rows: list[ReportRow]
    summary: list[SummaryLine]
    flags: list[Flag] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    empty: bool = False
    as_printed: bool = False  # the figures are one tally sheet's, as printed
    monthly_sessions: list[tuple[tuple[int, int], int | None]] = field(default_factory=list)
    chart_notes: list[str] = field(default_factory=list)
    created: date = field(default_factory=date.today)  # 作成日, also the charts' as-of day
    department: str = DEFAULT_DEPARTMENT
    period_statements: list[str] = field(default_factory=list)  # a tally's own "(R5.11まで)"
    partial_month: tuple[int, int] | None = None  # the as-of month, when not yet over
    stops: list[StopCount] = field(default_factory=list)  # the recorded stops counted
    sheets: list[TallySheet] = field(default_factory=list)  # the tally sheets included
    council: list[DataTable] = field(default_factory=list)  # odekake.reports.council

    @property
    def period_text(self) -> str:
        """``期間: 2023年4月1日(…)〜2024年3月31日(…)(R5.11まで)``."""
        return f"期間: {self.period.range_label()}{''.join(self.period_statements)}"

    @property
    def created_text(self) -> str:
        """``作成日: 2026年11月26日(令和8年11月26日)``."""
        return f"作成日: {both_date(self.created)}"

    @property
    def as_of_text(self) -> str:
        """``2026年11月26日現在``."""
        d = self.created
        return f"{d.year}年{d.month}月{d.day}日現在"

    @property
    def as_of_suffix(self) -> str:
        """``(2026年11月26日現在)`` while the period is still running; nothing once it closed."""
        return f"({self.as_of_text})" if self.created < self.period.end else ""

    @property
    def title(self) -> str:
        """The heading."""
        return f"{TITLE} {self.period.label()}"

    @property
    def header(self) -> list[str]:
        """Column headers of the flat table (CSV/XLSX)."""
        return [
            "活動",
            "地区",
            HEADERS["sessions"],
            *(HEADERS[c] for c in self.columns),
            HEADERS["total"],
            HEADERS["explanation"],
            "備考",
        ]

    @property
    def value_keys(self) -> list[str]:
        """Keys of the value columns, in order (between 地区 and 備考)."""
        return ["sessions", *self.columns, "total", "explanation"]

    def cells(self) -> list[list[CellValue]]:
        """Every table row as flat cells: activity, district, values…, note."""
        out: list[list[CellValue]] = []
        for r in self.rows:
            out.append([r.label, r.sublabel, *(r.value(k) for k in self.value_keys), r.note])
        return out

    def district_users(self) -> list[tuple[str, dict[str, int]]]:
        """(district name, users per shown category) of the 地区定期巡回 rows (chart)."""
        return [
            (r.sublabel, {c: as_int(r.cells.get(c, DASH)) for c in self.columns})
            for r in self.rows
            if r.activity == "regular" and not r.is_total
        ]

    def district_cells(self) -> list[tuple[str, dict[str, CellValue]]]:
        """(district name, cell per shown category) of the 地区定期巡回 rows ("–" kept)."""
        return [
            (r.sublabel, {c: r.cells.get(c, DASH) for c in self.columns})
            for r in self.rows
            if r.activity == "regular" and not r.is_total
        ]

    def summary_line(self, key: str) -> SummaryLine:
        """A summary line by key."""
        return next(s for s in self.summary if s.key == key)
