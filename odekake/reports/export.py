"""CSV (UTF-8 with BOM, for Excel on a Japanese Windows PC) and XLSX of a report.

Both carry the same cells, from :func:`sheet_rows`: a title block, the table (one
row per table line; numbers as numbers, "–" and blank as text), the summary lines
one item per row, then the flags (printed totals that do not add up) and notes.
"""

from __future__ import annotations

import io
from pathlib import Path

from openpyxl import Workbook
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from odekake.documents.spreadsheet import csv_writer, neutralise
from odekake.masterdata.wareki import both_date
from odekake.reports.council import Cell, council_tables
from odekake.reports.model import PARTS, PARTS_LABEL, Report

SUMMARY_HEADER = ["項目", "内訳", "値", "単位"]
FLAGS_HEADING = "注意: 印刷された合計が内訳と一致しません"
NOTES_HEADING = "備考"
EMPTY_HEADING = "この期間の運行記録・過去集計はありません"


FLAG_MARK = "▲"
FLAG_COMMENT = "印刷された値が各欄・各行の合計と一致しません(下の注意を参照)"


def sheet_layout(report: Report) -> tuple[list[list[Cell]], set[tuple[int, int]]]:
    """Every row of the CSV/XLSX, top to bottom, and the (row, column) of flagged values.

    Indexes are 0-based. A flagged value is a printed total that does not add up (or
    the sum of a printed breakdown that does not add up to its total): the CSV writes
    it ``▲296`` as the PDF does, the XLSX keeps the number and shows ▲ by its format.
    """
    out: list[list[Cell]] = [
        [report.title],
        ["期間", report.period_text.removeprefix("期間: ")],
        ["作成日", both_date(report.created)],
        ["作成", report.department],
    ]
    flagged: set[tuple[int, int]] = set()
    if report.as_printed:
        out.append(["", "過去集計を印刷どおりに再現しています(▲ は合計が内訳と一致しない印刷値)"])
    out.append([])
    out.append(list(report.header))
    keys = report.value_keys
    for r, cells in zip(report.rows, report.cells(), strict=True):
        for key in r.flagged:
            if key in keys:
                flagged.add((len(out), 2 + keys.index(key)))
        out.append(list(cells))
    out.append([])
    out.append(list(SUMMARY_HEADER))
    for s in report.summary:
        if "" in s.flagged:
            flagged.add((len(out), 2))
        out.append([s.label, "", s.value, s.unit])
        for label, n in s.parts:
            if label in s.flagged:
                flagged.add((len(out), 2))
            out.append([s.label, label, n, s.unit])
        if PARTS in s.flagged:
            flagged.add((len(out), 2))
            out.append([s.label, PARTS_LABEL, s.parts_sum, s.unit])
    if report.flags:
        out.append([])
        out.append([FLAGS_HEADING])
        out.extend([f.message()] for f in report.flags)
    if report.notes:
        out.append([])
        out.append([NOTES_HEADING])
        out.extend([n] for n in report.notes)
    for t in council_tables(report):
        out.append([])
        out.append([f"■ {t.title}"])
        out.append(list(t.header))
        for row, marks in zip(t.rows, t.row_flags(), strict=True):
            for j in marks:
                flagged.add((len(out), j))
            out.append(list(row))
        out.extend([n] for n in t.notes)
    return out, flagged


def sheet_rows(report: Report) -> list[list[Cell]]:
    """Every row of the CSV/XLSX, top to bottom (values unmarked)."""
    return sheet_layout(report)[0]


def to_csv(report: Report) -> str:
    """The report as CSV text (without BOM; :func:`write_csv` adds it); flagged values ``▲N``."""
    rows, flagged = sheet_layout(report)
    buf = io.StringIO()
    w = csv_writer(buf)
    for i, row in enumerate(rows):
        w.writerow([f"{FLAG_MARK}{v}" if (i, j) in flagged else v for j, v in enumerate(row)])
    return buf.getvalue()


def write_csv(report: Report, path: str | Path) -> Path:
    """Write UTF-8 CSV with a BOM (Excel on Japanese Windows reads it as UTF-8)."""
    p = Path(path)
    p.write_text(to_csv(report), encoding="utf-8-sig", newline="")
    return p


_FLAG_FILL = PatternFill("solid", fgColor="FFD7D7")
_HEAD_FILL = PatternFill("solid", fgColor="E4ECF7")
NUMBER_FORMAT = "#,##0"
FLAG_FORMAT = '"▲"#,##0'


def write_xlsx(report: Report, path: str | Path) -> Path:
    """Write an XLSX with the same cells as the CSV; numbers stay numbers (``#,##0``).

    Flagged values keep their number, shown ``▲296`` by the number format, shaded and
    with a comment. The council tables are on a second sheet (詳細表), so the main
    table's header, repeated on every printed page of the first sheet, never stands
    above them. Printing: A4 landscape, fit to one page wide, 作成日 and the department in the header, ``n / N ページ``
    in the footer.
    """
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "利用実績"
    rows, flagged = sheet_layout(report)
    header_row = rows.index(list(report.header)) + 1
    # The council tables go on a sheet of their own: the main sheet repeats the table's
    # header on every printed page, which above a council table would be wrong.
    split = next(
        (i for i, row in enumerate(rows) if row and str(row[0]).startswith("■ ")), len(rows)
    )
    _fill_sheet(ws, rows[:split], {(i, j) for i, j in flagged if i < split})
    for j in range(1, len(report.header) + 1):
        c = ws.cell(row=header_row, column=j)
        c.fill = _HEAD_FILL
        c.font = Font(bold=True)
        c.alignment = Alignment(horizontal="center", wrap_text=True)
    widths = [22, 14, 7, *([12] * len(report.columns)), 8, 14, 40]
    for j, w in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(j)].width = w
    ws.freeze_panes = ws.cell(row=header_row + 1, column=3)
    _page_setup(ws, report)
    ws.print_title_rows = f"{header_row}:{header_row}"
    if split < len(rows):
        extra = wb.create_sheet("詳細表")
        head: list[list[Cell]] = [[report.title], [report.created_text, report.department], []]
        _fill_sheet(
            extra,
            head + rows[split:],
            {(i - split + len(head), j) for i, j in flagged if i >= split},
        )
        for j, w in enumerate([24, 14, *([14] * 10)], start=1):
            extra.column_dimensions[get_column_letter(j)].width = w
        _page_setup(extra, report)
    p = Path(path)
    wb.save(p)
    return p


def _fill_sheet(ws: Worksheet, rows: list[list[Cell]], flagged: set[tuple[int, int]]) -> None:
    """Cells, number formats, flags (shaded, ``▲`` format, a comment) and bold headings."""
    for i, row in enumerate(rows, start=1):
        for j, value in enumerate(row, start=1):
            c = ws.cell(row=i, column=j, value=neutralise(value))
            if isinstance(value, int):
                c.number_format = NUMBER_FORMAT
            elif isinstance(value, float):
                c.number_format = "0.0"
    for i, j in flagged:
        cell = ws.cell(row=i + 1, column=j + 1)
        cell.fill = _FLAG_FILL
        if isinstance(cell.value, int):
            cell.number_format = FLAG_FORMAT
        cell.comment = Comment(FLAG_COMMENT, "odekake")
    ws.cell(row=1, column=1).font = Font(bold=True, size=13)
    for i, row in enumerate(rows, start=1):
        if row and isinstance(row[0], str) and row[0].startswith("■ "):
            ws.cell(row=i, column=1).font = Font(bold=True)


def _page_setup(ws: Worksheet, report: Report) -> None:
    """A4 landscape, one page wide, 作成日 and the department in the header, n / N ページ."""
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.oddHeader.left.text = report.title
    ws.oddHeader.right.text = f"{report.created_text} {report.department}"
    ws.oddFooter.right.text = "&P / &N ページ"
    ws.oddFooter.left.text = f"{report.created_text} {report.department}"
