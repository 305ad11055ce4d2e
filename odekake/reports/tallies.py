"""Past tallies: usage tables from before the system existed, imported from CSV.

A *sheet* is one printed table over one period (e.g. the FY2022 table). Its lines
are kept exactly as printed — a number, "–" (not offered) or blank (not recorded) —
so the report can reproduce the table cell for cell and compare each printed
total with the sum of its cells.

CSV columns (UTF-8, with or without BOM; Japanese headers, see ``docs/reports.md``):
``期間開始, 期間終了`` (or ``年度`` or ``月``), ``活動``, ``地区``, ``回数``, ``証明書``,
``マイナンバーカード``, ``ごみ納付券``, ``相談``, ``フレイル``, ``計``, ``活動等説明者数``, ``備考``.

- A row of 地区定期巡回 names its district; ``地区`` = ``計`` is the printed 計 row.
- 予約訪問, り災証明書出張申請受付, 移動期日前投票所, その他: ``地区`` is empty. For り災 and
  投票 rows, ``計`` minus the five category columns is the number of applicants/voters.
- Summary lines: ``活動`` = 運用回数 / サービス提供者数 / その他車両見学・事業説明者数, the
  value in ``計``; an empty ``地区`` is the line's total, otherwise ``地区`` is the label of
  one item of its breakdown (e.g. ``巡回4地区``).

Import is all-or-nothing. Re-importing a sheet for the same period replaces it; a
sheet whose period overlaps another sheet's (without being the same) is refused,
since the two would count the same days twice.
"""

from __future__ import annotations

import csv
import difflib
import io
import itertools
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

import sqlite_utils

from odekake.errors import ImportRejected, NotFound, OdekakeError
from odekake.masterdata import master
from odekake.masterdata.catalog import ACTIVITIES, REPORT_COLUMNS
from odekake.reports.counting import Period

DASH = "–"
BLANK = ""
CellValue = int | str  # a count, DASH (not offered) or BLANK (not recorded)

# Cell keys of a line, in print order, and their CSV headers.
CELL_KEYS: tuple[str, ...] = ("sessions", *REPORT_COLUMNS, "total", "explanation")
HEADERS: dict[str, str] = {
    "sessions": "回数",
    "certificate": "証明書",
    "mynumber": "マイナンバーカード",
    "garbage": "ごみ納付券",
    "consultation": "相談",
    "frailty": "フレイル",
    "total": "計",
    "explanation": "活動等説明者数",
}
_HEADER_ALIASES: dict[str, str] = {
    **{v: k for k, v in HEADERS.items()},
    **{k: k for k in HEADERS},
    "マイナンバー": "mynumber",
    "ごみ": "garbage",
    "説明者数": "explanation",
    "期間開始": "from",
    "開始": "from",
    "from": "from",
    "期間終了": "to",
    "終了": "to",
    "to": "to",
    "年度": "fiscal_year",
    "fiscal_year": "fiscal_year",
    "月": "month",
    "month": "month",
    "活動": "activity",
    "activity": "activity",
    "地区": "district",
    "district": "district",
    "備考": "note",
    "note": "note",
    "選挙人数": "electors",
    "electors": "electors",
    "投票者数": "voters",
    "voters": "voters",
}

SUMMARY_LABELS: dict[str, str] = {
    "sessions": "運用回数",
    "served": "サービス提供者数",
    "explained": "その他車両見学・事業説明者数",
}
SUMMARY_UNITS: dict[str, str] = {"sessions": "回", "served": "人", "explained": "人"}

_ACTIVITY_ALIASES: dict[str, str] = {
    **{k: k for k in ACTIVITIES},
    **{v: k for k, v in ACTIVITIES.items()},
    "定期巡回": "regular",
    "地区定期巡回": "regular",
    "巡回": "regular",
    "り災": "disaster",
    "り災証明書": "disaster",
    "り災証明書出張申請受付": "disaster",
    "期日前投票": "voting",
    "移動期日前投票所": "voting",
}
_SUMMARY_ALIASES: dict[str, str] = {
    **{v: k for k, v in SUMMARY_LABELS.items()},
    "事業説明者数": "explained",
    "車両見学・事業説明者数": "explained",
}
_DASHES = {"-", "–", "—", "―", "‐", "−", "ー", "－"}
TOTAL_DISTRICT = "計"


def _squash(text: str) -> str:
    """NFKC and no spaces: ``り災証明書 出張申請受付`` == ``り災証明書出張申請受付``."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))


def parse_cell(text: str) -> CellValue:
    """``"5"``, ``"5回"``, ``"1,234人"`` → int; a dash → ``DASH``; empty → ``BLANK``.

    Raises:
        ValueError: Anything else (the message is Japanese).
    """
    raw = text.strip()
    if not raw:
        return BLANK
    if raw in _DASHES:
        return DASH
    digits = _squash(raw).replace(",", "").removesuffix("回").removesuffix("人")
    if not digits.isdigit():
        raise ValueError(f"数・「–」・空欄のいずれかにしてください: {raw!r}")
    return int(digits)


def as_int(value: CellValue) -> int:
    """A cell's number (``–`` and blank count as 0)."""
    return value if isinstance(value, int) else 0


def format_cell(value: CellValue) -> str:
    """How a cell is written in CSV and PDF (without unit)."""
    return str(value) if isinstance(value, int) else value


@dataclass(frozen=True)
class TallyLine:
    """One line of a printed table."""

    line: int
    kind: str  # "row" | "total" (the printed 地区定期巡回 計) | "summary"
    activity: str  # activity key, or summary key for kind="summary"
    district_id: str | None = None
    label: str = ""  # district name; breakdown label for a summary line
    cells: dict[str, CellValue] = field(default_factory=dict)
    note: str = ""

    def cell(self, key: str) -> CellValue:
        """A cell by key (missing cells are blank)."""
        return self.cells.get(key, BLANK)


@dataclass
class TallySheet:
    """One printed table over one period."""

    period: Period
    lines: list[TallyLine]
    source: str = ""
    id: int | None = None
    imported_at: str = ""

    @property
    def rows(self) -> list[TallyLine]:
        """Data rows (districts of 地区定期巡回 and the other activities)."""
        return [x for x in self.lines if x.kind == "row"]

    @property
    def total(self) -> TallyLine | None:
        """The printed 地区定期巡回 計 row, if any."""
        return next((x for x in self.lines if x.kind == "total"), None)

    def summary(self, key: str) -> list[TallyLine]:
        """The printed summary line ``key`` (total first if given, then its breakdown)."""
        return [x for x in self.lines if x.kind == "summary" and x.activity == key]

    @property
    def label(self) -> str:
        """``過去集計(2022年4月1日〜2023年3月31日)``."""
        p = self.period
        return f"過去集計({p.start.year}年{p.start.month}月{p.start.day}日〜{p.end.year}年{p.end.month}月{p.end.day}日)"

    def covers(self, activity: str, district_id: str | None, day: date) -> bool:
        """True when this sheet already counts that activity/district on that day."""
        if not self.period.contains(day):
            return False
        key = district_id if activity == "regular" else None
        return any(r.activity == activity and r.district_id == key for r in self.rows)


def parse_fiscal_year(text: str) -> int:
    """``2022``, ``R4``, ``令和4``, ``令和4年度``, ``H30`` → the starting calendar year.

    Raises:
        ValueError: Not a fiscal year (the message is Japanese).
    """
    t = _squash(text).removesuffix("年度")
    m = re.fullmatch(r"(?:R|令和)(\d+|元)", t, flags=re.IGNORECASE)
    if m:
        return 2018 + (1 if m.group(1) == "元" else int(m.group(1)))
    m = re.fullmatch(r"(?:H|平成)(\d+|元)", t, flags=re.IGNORECASE)
    if m:
        return 1988 + (1 if m.group(1) == "元" else int(m.group(1)))
    if t.isdigit() and len(t) == 4:
        return int(t)
    raise ValueError(f"年度が読めません: {text!r}(例: 2022, R4, 令和4)")


def _parse_period(values: dict[str, str]) -> Period:
    start, end = values.get("from", "").strip(), values.get("to", "").strip()
    if start or end:
        if not (start and end):
            raise ValueError("期間開始と期間終了の両方を入れてください")
        try:
            return Period(date.fromisoformat(start), date.fromisoformat(end))
        except ValueError as exc:
            if "期間" in str(exc):
                raise
            raise ValueError(f"日付は YYYY-MM-DD で入れてください: {start} / {end}") from exc
    month = values.get("month", "").strip()
    if month:
        m = re.fullmatch(r"(\d{4})-(\d{1,2})", month)
        if not m or not 1 <= int(m.group(2)) <= 12:
            raise ValueError(f"月は YYYY-MM で入れてください: {month!r}")
        return Period.month(int(m.group(1)), int(m.group(2)))
    fy = values.get("fiscal_year", "").strip()
    if fy:
        return Period.fiscal_year(parse_fiscal_year(fy))
    raise ValueError("期間(期間開始・期間終了、年度、または月)がありません")


# The headers a tally CSV must have (by key), and how each is written.
REQUIRED_HEADERS: dict[str, str] = {"activity": "活動", "district": "地区", **HEADERS}
PERIOD_HEADERS: dict[str, str] = {
    "from": "期間開始",
    "to": "期間終了",
    "fiscal_year": "年度",
    "month": "月",
}
# Optional: 備考, and for the 移動期日前投票所 row the electorate and the voters the
# text of the report states (they may differ from the table's 計).
OPTIONAL_HEADERS: dict[str, str] = {"note": "備考", "electors": "選挙人数", "voters": "投票者数"}
VOTING_KEYS: tuple[str, ...] = ("electors", "voters")
CANONICAL_HEADERS: tuple[str, ...] = (
    *PERIOD_HEADERS.values(),
    *REQUIRED_HEADERS.values(),
    *OPTIONAL_HEADERS.values(),
)
# Breakdown items a summary line may have (the labels the report computes).
SUMMARY_PART_LABELS: dict[str, tuple[str, ...]] = {
    "sessions": ("巡回N地区", "予約訪問", "移動期日前投票所", "り災", "その他"),
    "served": ("証明書発行業務等", "相談業務", "フレイル予防", "り災証明書申請", "期日前投票"),
    "explained": (),
}


def nearest(word: str, choices: Iterable[str]) -> str | None:
    """The closest of ``choices`` to ``word`` (difflib), or None when nothing is close."""
    options = list(choices)
    squashed = {_squash(c): c for c in options}
    got = difflib.get_close_matches(_squash(word), list(squashed), n=1, cutoff=0.4)
    return squashed[got[0]] if got else None


def _did_you_mean(word: str, choices: Iterable[str]) -> str:
    near = nearest(word, choices)
    return f"(「{near}」のことですか?)" if near else ""


def _check_header(header: list[str]) -> list[str | None]:
    """Map each header to its key; refuse unknown, duplicate and missing headers.

    An unknown header is refused naming the nearest valid one (a renamed ごみ納付券
    column must not import as a blank ごみ column).
    """
    keys: list[str | None] = []
    problems: list[tuple[int, str]] = []
    unknown: list[str] = []
    for h in header:
        if not h.strip():
            keys.append(None)
            continue
        key = _HEADER_ALIASES.get(_squash(h))
        if key is None:
            unknown.append(h)
        elif key in keys:
            problems.append((1, f"見出し「{h.strip()}」が2回あります"))
        keys.append(key)
    missing = [label for k, label in REQUIRED_HEADERS.items() if k not in keys]
    has_period = ("from" in keys and "to" in keys) or "fiscal_year" in keys or "month" in keys
    for h in unknown:
        # When exactly one column is unknown and one is missing, it is that one.
        hint = (
            f"(「{missing[0]}」のことですか?)"
            if len(unknown) == 1 and len(missing) == 1
            else _did_you_mean(h, CANONICAL_HEADERS)
        )
        problems.append((1, f"見出し「{h.strip()}」が分かりません{hint}"))
    for label in missing:
        problems.append((1, f"見出しに「{label}」の列がありません"))
    if not has_period:
        problems.append((1, "見出しに期間の列(期間開始と期間終了、年度、または月)がありません"))
    if problems:
        raise ImportRejected("過去集計", problems)
    return keys


def _check_part_label(key: str, label: str) -> None:
    allowed = SUMMARY_PART_LABELS[key]
    want = _squash(label)
    if key == "sessions" and re.fullmatch(r"巡回\d+地区", want):
        return
    for a in allowed:
        have = _squash(a)
        if a != "巡回N地区" and (have == want or have.startswith(want) or want.startswith(have)):
            return
    if not allowed:
        raise ValueError(
            f"{SUMMARY_LABELS[key]} の行には内訳がありません(地区を空欄にしてください)"
        )
    raise ValueError(
        f"{SUMMARY_LABELS[key]} の内訳「{label}」が分かりません{_did_you_mean(label, allowed)}"
    )


def parse_csv(db: sqlite_utils.Database, text: str) -> list[TallySheet]:
    """Check every line of a tally CSV; return its sheets (one per period).

    Raises:
        ImportRejected: One or more lines are wrong; the problems name their lines.
    """
    reader = csv.reader(io.StringIO(text.removeprefix("\ufeff")))
    try:
        header = next(reader)
    except StopIteration:
        raise OdekakeError("過去集計のCSVが空です") from None
    keys = _check_header(header)
    problems: list[tuple[int, str]] = []
    body = [(n, raw) for n, raw in enumerate(reader, start=2) if any(c.strip() for c in raw)]
    if not body:
        raise OdekakeError("過去集計のCSVにデータの行がありません(見出しの行だけです)")
    districts = master.districts(db)
    sheets: dict[tuple[date, date], TallySheet] = {}
    seen: set[tuple[date, date, str, str, str | None, str]] = set()
    for n, raw in body:
        values = {k: (raw[i] if i < len(raw) else "") for i, k in enumerate(keys) if k}
        try:
            period = _parse_period(values)
            line = _parse_line(n, values, districts)
        except (ValueError, NotFound) as exc:
            problems.append((n, str(exc)))
            continue
        key = (period.start, period.end, line.kind, line.activity, line.district_id, line.label)
        if key in seen:
            problems.append((n, "同じ期間・活動・地区の行が2回あります"))
            continue
        seen.add(key)
        sheet = sheets.setdefault((period.start, period.end), TallySheet(period, []))
        sheet.lines.append(line)
    ordered = sorted(sheets.values(), key=lambda s: s.period.start)
    for a, b in itertools.pairwise(ordered):
        if a.period.overlaps(b.period):
            problems.append((1, f"期間が重なっています: {a.label} と {b.label}"))
    if problems:
        raise ImportRejected("過去集計", problems)
    return ordered


def _parse_line(n: int, values: dict[str, str], districts: list[master.District]) -> TallyLine:
    activity_text = _squash(values.get("activity", ""))
    district_text = values.get("district", "").strip()
    note = values.get("note", "").strip()
    cells: dict[str, CellValue] = {}
    for key in CELL_KEYS:
        try:
            cells[key] = parse_cell(values.get(key, ""))
        except ValueError as exc:
            raise ValueError(f"{HEADERS[key]}: {exc}") from None
    for key in VOTING_KEYS:
        try:
            value = parse_cell(values.get(key, ""))
        except ValueError as exc:
            raise ValueError(f"{OPTIONAL_HEADERS[key]}: {exc}") from None
        if value != BLANK:
            if _ACTIVITY_ALIASES.get(activity_text) != "voting" or not isinstance(value, int):
                raise ValueError(
                    f"{OPTIONAL_HEADERS[key]}は移動期日前投票所の行にだけ数で入れてください"
                )
            cells[key] = value
    if activity_text in _SUMMARY_ALIASES:
        key = _SUMMARY_ALIASES[activity_text]
        if district_text:
            _check_part_label(key, district_text)
        if not isinstance(cells["total"], int):
            raise ValueError(f"{SUMMARY_LABELS[key]} の値を「計」の列に数で入れてください")
        return TallyLine(n, "summary", key, None, district_text, {"total": cells["total"]}, note)
    activity = _ACTIVITY_ALIASES.get(activity_text)
    if activity is None:
        known = [*ACTIVITIES.values(), *SUMMARY_LABELS.values()]
        raise ValueError(
            f"活動「{values.get('activity', '').strip()}」が分かりません"
            f"{_did_you_mean(activity_text, known)}"
        )
    kind, district_id, label = "row", None, ""
    if activity == "regular":
        if not district_text:
            raise ValueError("地区定期巡回の行には地区を入れてください(計の行は「計」)")
        if _squash(district_text) == TOTAL_DISTRICT:
            kind, label = "total", TOTAL_DISTRICT
        else:
            d = next(
                (x for x in districts if _squash(district_text) in (x.id, _squash(x.name))), None
            )
            if d is None:
                hint = _did_you_mean(district_text, [x.name for x in districts])
                raise ValueError(f"地区「{district_text}」がありません{hint}")
            district_id, label = d.id, d.name
    elif district_text:
        raise ValueError(f"{ACTIVITIES[activity]}の行は地区を空欄にしてください")
    if kind == "row" and not isinstance(cells["sessions"], int):
        raise ValueError("回数を数で入れてください")
    return TallyLine(n, kind, activity, district_id, label, cells, note)
