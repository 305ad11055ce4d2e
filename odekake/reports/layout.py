"""The usage table as the PDF prints it, as texts: what the PDF and the console both draw.

:mod:`odekake.reports.pdf` lays these texts out with reportlab, the console's 利用実績
page with HTML; neither formats a value of its own, so a cell on the page reads exactly
as the same cell of the PDF (``12人``, ``▲296人``, ``–``).

- :func:`table_lines` — the main table's lines: activity, district, the values with
  their units (回 / 人, ▲ on a printed total that does not add up), the remark;
- :func:`summary_texts` — the ■ lines under the table;
- :func:`months_across` — the PDF's 月別・分野別の利用者数 turned a quarter: categories
  down, months across, the same cells and totals.
"""

from __future__ import annotations

from dataclasses import dataclass

from odekake.masterdata.catalog import CATEGORIES
from odekake.reports.model import Cell, DataTable, Report
from odekake.reports.tallies import CellValue

FLAG_MARK = "▲"  # the printed tables use ※ as a bullet, so flags use another mark
# Column heads of the categories, as printed (the PDF breaks the long ones in two).
HEAD_LABELS: dict[str, tuple[str, ...]] = {
    "certificate": ("証明書",),
    "mynumber": ("マイナンバー", "カード"),
    "garbage": ("ごみ", "納付券"),
    "consultation": ("相談",),
    "frailty": ("フレイル",),
}
PEOPLE_HEAD = "利用(相談)者数"
EXPLANATION_HEAD = ("活動等", "説明者数")
MONTHLY_KEY = "monthly_users"


def cell_text(value: object) -> str:
    """A detail table's cell as printed: ``1,234``, ``3.5``, ``–``."""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.1f}"
    return str(value)


def value_text(value: CellValue, unit: str) -> str:
    """``12人`` for a number, the cell as printed otherwise (``–``, blank)."""
    return f"{value}{unit}" if isinstance(value, int) else value


@dataclass(frozen=True)
class TableLine:
    """One printed line of the main table."""

    activity: str  # the row's activity key (``regular`` for every district line and 計)
    label: str  # the activity's name
    sublabel: str  # district name, 計, or ""
    values: tuple[str, ...]  # 回数, each shown category, 計, 活動等説明者数 (units, ▲)
    flagged: tuple[bool, ...]  # per value: a printed total that does not add up
    note: str
    is_total: bool


def value_keys(report: Report) -> list[str]:
    """The value columns' keys, in printed order."""
    return ["sessions", *report.columns, "total", "explanation"]


def table_lines(report: Report) -> list[TableLine]:
    """The main table's lines as the PDF prints them."""
    keys = value_keys(report)
    out: list[TableLine] = []
    for r in report.rows:
        texts, marks = [], []
        for key in keys:
            text = value_text(r.value(key), "回" if key == "sessions" else "人")
            flagged = key in r.flagged
            texts.append(f"{FLAG_MARK}{text}" if flagged else text)
            marks.append(flagged)
        out.append(
            TableLine(
                activity=r.activity,
                label=r.label,
                sublabel=r.sublabel,
                values=tuple(texts),
                flagged=tuple(marks),
                note=r.note,
                is_total=r.is_total,
            )
        )
    return out


def summary_texts(report: Report) -> list[str]:
    """The lines under the table: ``■ 運用回数：59回(…)``, ``※ その他車両見学…``."""
    return [("※ " if s.key == "explained" else "■ ") + s.text(FLAG_MARK) for s in report.summary]


def monthly_table(report: Report) -> DataTable | None:
    """The PDF's 月別・分野別の利用者数 (months down), when the report has it."""
    return next((t for t in report.council if t.key == MONTHLY_KEY), None)


def months_across(report: Report) -> DataTable | None:
    """月別・分野別の利用者数 with categories down and months across.

    The very cells of the PDF's table (:func:`odekake.reports.council.monthly_users`),
    turned: its 回数 and category columns become rows, its month rows (and the 計 row)
    columns. None when the report has no such table or no month in it.
    """
    t = monthly_table(report)
    if t is None or not t.rows:
        return None
    months = [str(row[0]) for row in t.rows]
    rows: list[list[Cell]] = []
    for j, head in enumerate(t.header[1:], start=1):
        rows.append([head, *(row[j] for row in t.rows)])
    return DataTable(
        t.key,
        f"{t.title}(分野を縦、月を横に)",
        ["区分", *months],
        rows=rows,
        notes=list(t.notes),
        numeric_from=1,
    )


def category_heads(report: Report) -> list[tuple[str, ...]]:
    """The printed heads of the shown category columns (each a line or two)."""
    return [HEAD_LABELS.get(c, (CATEGORIES.get(c, c),)) for c in report.columns]
