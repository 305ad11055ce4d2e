"""CSV (UTF-8 with BOM, for Excel on a Japanese Windows PC) and XLSX of a report.

Both carry the same cells, from :func:`sheet_rows`: a title block, the table (one
row per table line; numbers as numbers, "–" and blank as text), the summary lines
one item per row, then the flags (printed totals that do not add up) and notes.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from openpyxl import Workbook
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from odekake.reports.table import Report
from odekake.reports.tallies import CellValue

SUMMARY_HEADER = ["項目", "内訳", "値", "単位"]
FLAGS_HEADING = "注意: 印刷された合計が内訳と一致しません"
NOTES_HEADING = "備考"
EMPTY_HEADING = "この期間の運行記録・過去集計はありません"

Cell = CellValue


def sheet_rows(report: Report) -> list[list[Cell]]:
    """Every row of the CSV/XLSX, top to bottom."""
    out: list[list[Cell]] = [[report.title], ["期間", report.period.range_label()]]
    if report.as_printed:
        out.append(["", "過去集計を印刷どおりに再現しています(合計の不一致は下の注意を参照)"])
    out.append([])
    out.append(list(report.header))
    out.extend(report.cells())
    out.append([])
    out.append(list(SUMMARY_HEADER))
    for s in report.summary:
        out.append([s.label, "", s.value, s.unit])
        for label, n in s.parts:
            out.append([s.label, label, n, s.unit])
    if report.flags:
        out.append([])
        out.append([FLAGS_HEADING])
        out.extend([f.message()] for f in report.flags)
    if report.notes:
        out.append([])
        out.append([NOTES_HEADING])
        out.extend([n] for n in report.notes)
    return out


def to_csv(report: Report) -> str:
    """The report as CSV text (without BOM; :func:`write_csv` adds it)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    for row in sheet_rows(report):
        w.writerow(row)
    return buf.getvalue()


def write_csv(report: Report, path: str | Path) -> Path:
    """Write UTF-8 CSV with a BOM (Excel on Japanese Windows reads it as UTF-8)."""
    p = Path(path)
    p.write_text(to_csv(report), encoding="utf-8-sig", newline="")
    return p


_FLAG_FILL = PatternFill("solid", fgColor="FFD7D7")
_HEAD_FILL = PatternFill("solid", fgColor="E4ECF7")


def write_xlsx(report: Report, path: str | Path) -> Path:
    """Write an XLSX with the same cells as the CSV; numbers stay numbers."""
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "利用実績"
    rows = sheet_rows(report)
    header_row = rows.index(list(report.header)) + 1
    for i, row in enumerate(rows, start=1):
        for j, value in enumerate(row, start=1):
            ws.cell(row=i, column=j, value=value)
    ws.cell(row=1, column=1).font = Font(bold=True, size=13)
    for j in range(1, len(report.header) + 1):
        c = ws.cell(row=header_row, column=j)
        c.fill = _HEAD_FILL
        c.font = Font(bold=True)
        c.alignment = Alignment(horizontal="center", wrap_text=True)
    keys = report.value_keys
    for k, r in enumerate(report.rows):
        for key in r.flagged:
            if key in keys:
                cell = ws.cell(row=header_row + 1 + k, column=3 + keys.index(key))
                cell.fill = _FLAG_FILL
                cell.comment = Comment("印刷された値が各欄・各行の合計と一致しません", "odekake")
    widths = [22, 14, 7, *([12] * len(report.columns)), 8, 14, 40]
    for j, w in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(j)].width = w
    ws.freeze_panes = ws.cell(row=header_row + 1, column=3)
    p = Path(path)
    wb.save(p)
    return p
