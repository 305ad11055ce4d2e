"""The report as PDF: the table page(s) and a chart page, Japanese font embedded.

Text is real text (IPAex Gothic, subset-embedded by reportlab), so it can be
searched and copied, and prints the same on a machine without Japanese fonts.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from reportlab.lib import colors
from reportlab.lib.enums import TA_LEFT
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    KeepTogether,
    PageBreak,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)
from reportlab.platypus.flowables import Flowable

from odekake.documents.pdf import register_fonts
from odekake.masterdata.catalog import CATEGORIES
from odekake.masterdata.wareki import both_date
from odekake.reports.charts import LINE, bar_chart, line_chart
from odekake.reports.counting import DaySummary, StopCount
from odekake.reports.layout import (
    FLAG_MARK,
    category_heads,
    cell_text,
    summary_texts,
    table_lines,
)
from odekake.reports.model import DataTable, Report

PAGE = landscape(A4)
FLAG_BG = colors.HexColor("#FFD7D7")
HEAD_BG = colors.HexColor("#E4ECF7")
SPAN_ROWS_MAX = 16  # 地区定期巡回 rows that still fit one page under the header


def _styles(font: str) -> dict[str, ParagraphStyle]:
    base = ParagraphStyle("base", fontName=font, fontSize=9, leading=11, wordWrap="CJK")
    return {
        "title": ParagraphStyle("title", parent=base, fontSize=15, leading=19),
        "sub": ParagraphStyle("sub", parent=base, fontSize=10, leading=13),
        "cell": base,
        "head": ParagraphStyle("head", parent=base, fontSize=8, leading=10, alignment=1),
        "note": ParagraphStyle("note", parent=base, fontSize=8, leading=10, alignment=TA_LEFT),
        "summary": ParagraphStyle("summary", parent=base, fontSize=10, leading=14),
        "flag": ParagraphStyle(
            "flag", parent=base, fontSize=9, leading=12, textColor=colors.HexColor("#B00020")
        ),
        "banner": ParagraphStyle(
            "banner", parent=base, fontSize=12, leading=16, textColor=colors.HexColor("#B00020")
        ),
    }


def _esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _table(report: Report, st: dict[str, ParagraphStyle], font: str) -> Table:
    cols = report.columns
    n_people = len(cols) + 1  # categories + 計
    head0: list[Any] = [
        Paragraph("活動", st["head"]),
        "",
        Paragraph("回数", st["head"]),
        Paragraph("利用(相談)者数", st["head"]),
        *[""] * (n_people - 1),
        Paragraph("活動等<br/>説明者数", st["head"]),
        Paragraph("備考", st["head"]),
    ]
    head1: list[Any] = [
        "",
        "",
        "",
        *(Paragraph("<br/>".join(head), st["head"]) for head in category_heads(report)),
        Paragraph("計", st["head"]),
        "",
        "",
    ]
    data: list[list[Any]] = [head0, head1]
    last = 3 + n_people  # index of 説明者数
    style: list[tuple[Any, ...]] = [
        ("FONTNAME", (0, 0), (-1, -1), font),
        ("FONTSIZE", (0, 0), (-1, -1), 9),
        # Column 0 gets its horizontal lines below, so 地区定期巡回 can look like one cell.
        ("GRID", (1, 0), (-1, -1), 0.5, LINE),
        ("BOX", (0, 0), (-1, -1), 0.5, LINE),
        ("LINEAFTER", (0, 0), (0, -1), 0.5, LINE),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("BACKGROUND", (0, 0), (-1, 1), HEAD_BG),
        ("SPAN", (0, 0), (1, 1)),
        ("SPAN", (2, 0), (2, 1)),
        ("SPAN", (3, 0), (last - 1, 0)),
        ("SPAN", (last, 0), (last, 1)),
        ("SPAN", (last + 1, 0), (last + 1, 1)),
        ("ALIGN", (2, 2), (last, -1), "RIGHT"),
    ]
    regular_rows: list[int] = []
    for r in table_lines(report):
        i = len(data)
        values = list(r.values)
        for j, flagged in enumerate(r.flagged):
            if flagged:
                style.append(("BACKGROUND", (2 + j, i), (2 + j, i), FLAG_BG))
        note = Paragraph(_esc(r.note), st["note"]) if r.note else ""
        if r.activity == "regular":
            data.append(["" if regular_rows else r.label, r.sublabel, *values, note])
            regular_rows.append(i)
            if r.is_total:
                style.append(("BACKGROUND", (1, i), (-2, i), colors.HexColor("#F3F3F3")))
        else:
            data.append([Paragraph(_esc(r.label), st["cell"]), "", *values, note])
            style.append(("SPAN", (0, i), (1, i)))
    inside = set(regular_rows[:-1])
    for i in range(1, len(data) - 1):
        if i not in inside:
            style.append(("LINEBELOW", (0, i), (0, i), 0.5, LINE))
    if 0 < len(regular_rows) <= SPAN_ROWS_MAX:
        style.append(("SPAN", (0, regular_rows[0]), (0, regular_rows[-1])))
    elif regular_rows:
        # A span cannot break across pages: the name sits in the block's first row.
        style.append(("VALIGN", (0, regular_rows[0]), (0, regular_rows[0]), "TOP"))
    value_w = 22 * mm
    widths = [24 * mm, 24 * mm, 14 * mm, *[value_w] * len(cols), value_w, 19 * mm]
    used = sum(widths)
    widths.append(max(PAGE[0] - 24 * mm - used, 40 * mm))
    t = Table(data, colWidths=widths, repeatRows=2)
    t.setStyle(TableStyle(style))
    return t


def _summary_block(report: Report, st: dict[str, ParagraphStyle]) -> list[Flowable]:
    out: list[Flowable] = []
    for text in summary_texts(report):
        out.append(Paragraph(_esc(text), st["summary"]))
    return out


def _chart_page(report: Report, st: dict[str, ParagraphStyle], font: str) -> list[Flowable]:
    statements = "".join(report.period_statements)
    out: list[Flowable] = [
        Paragraph(
            _esc(f"グラフ {report.period.label()}{statements}{report.as_of_suffix}"), st["title"]
        ),
        Spacer(1, 3 * mm),
    ]
    width = PAGE[0] - 24 * mm
    out.append(
        Paragraph(
            "地区別・分野別の利用者数(地区定期巡回)— 「–」はその分野を実施していない(0 とは別)",
            st["sub"],
        )
    )
    out.append(bar_chart(report, font, width, 68 * mm))
    out.append(Spacer(1, 3 * mm))
    out.append(Paragraph(_esc(f"月別の運用回数{report.as_of_suffix}"), st["sub"]))
    out.append(line_chart(report, font, width, 62 * mm))
    for n in report.chart_notes:
        out.append(Paragraph(_esc(n), st["note"]))
    return out


class _Footer:
    """Draws 作成日, the department and ``n / N ページ`` on every page."""

    def __init__(self, left: str) -> None:
        self.left = left

    def canvas(self) -> type[Canvas]:
        footer = self

        class NumberedCanvas(Canvas):
            def __init__(self, *args: Any, **kwargs: Any) -> None:
                super().__init__(*args, **kwargs)
                self._pages: list[dict[str, Any]] = []

            def showPage(self) -> None:
                self._pages.append(dict(self.__dict__))
                self._startPage()

            def save(self) -> None:
                total = len(self._pages)
                for state in self._pages:
                    self.__dict__.update(state)
                    self.saveState()
                    self.setFont(register_fonts(), 8)
                    self.drawString(12 * mm, 8 * mm, footer.left)
                    self.drawRightString(
                        PAGE[0] - 12 * mm, 8 * mm, f"{self._pageNumber} / {total} ページ"
                    )
                    self.restoreState()
                    super().showPage()
                super().save()

        return NumberedCanvas


def _footer(canvas: Canvas, doc: Any) -> None:
    canvas.saveState()
    canvas.setFont(register_fonts(), 8)
    canvas.drawRightString(PAGE[0] - 12 * mm, 8 * mm, f"{doc.page} ページ")
    canvas.restoreState()


def render_report(report: Report, path: str | Path) -> Path:
    """Write the report PDF: table page(s), then the chart page."""
    font = register_fonts()
    st = _styles(font)
    p = Path(path)
    doc = SimpleDocTemplate(
        str(p),
        pagesize=PAGE,
        leftMargin=12 * mm,
        rightMargin=12 * mm,
        topMargin=12 * mm,
        bottomMargin=14 * mm,
        title=report.title,
        author="odekake",
    )
    story: list[Flowable] = [
        Paragraph(_esc(report.title), st["title"]),
        Paragraph(_esc(report.period_text), st["sub"]),
        Paragraph(_esc(f"{report.created_text} {report.department}"), st["note"]),
        Spacer(1, 3 * mm),
    ]
    if report.empty:
        story.append(Paragraph("この期間の運行記録・過去集計はありません。", st["banner"]))
        story.append(Spacer(1, 2 * mm))
    if report.as_printed:
        story.append(
            Paragraph(
                f"過去集計を印刷どおりに再現しています({FLAG_MARK} は合計が内訳と一致しない印刷値)。",
                st["note"],
            )
        )
        story.append(Spacer(1, 1 * mm))
    story.append(_table(report, st, font))
    story.append(Spacer(1, 4 * mm))
    story.append(KeepTogether(_summary_block(report, st)))
    if report.flags:
        story.append(Spacer(1, 3 * mm))
        block: list[Flowable] = [
            Paragraph(f"{FLAG_MARK} 注意: 印刷された合計が内訳と一致しません", st["flag"])
        ]
        block += [Paragraph(_esc("・" + f.message()), st["flag"]) for f in report.flags]
        story.append(KeepTogether(block))
    if report.notes:
        story.append(Spacer(1, 3 * mm))
        story += [Paragraph(_esc("・" + n), st["note"]) for n in report.notes]
    story.append(PageBreak())
    story += _chart_page(report, st, font)
    story += extra_pages(report, st, font)
    footer = _Footer(f"{report.created_text} {report.department}")
    doc.build(story, canvasmaker=footer.canvas())
    return p


def render_stop_summary(stop: StopCount, path: str | Path) -> Path:
    """One stop's summary (the van's stop close): the 日計表 layout with that stop only."""
    title = f"停車集計 {both_date(stop.day)} {stop.window} {stop.site_name}"
    return render_day_summary(DaySummary(day=stop.day, stops=[stop]), path, title=title)


def render_day_summary(summary: DaySummary, path: str | Path, *, title: str | None = None) -> Path:
    """The van's 日計表 for one day: each stop, people per category, fees by payment."""
    font = register_fonts()
    st = _styles(font)
    p = Path(path)
    doc = SimpleDocTemplate(
        str(p),
        pagesize=PAGE,
        leftMargin=14 * mm,
        rightMargin=14 * mm,
        topMargin=14 * mm,
        bottomMargin=14 * mm,
        title=f"日計表 {summary.day.isoformat()}",
        author="odekake",
    )
    cats = [c for c in CATEGORIES if any(s.people[c] for s in summary.stops)]
    head = ["時間", "会場", "活動", *(CATEGORIES[c] for c in cats), "現金", "キャッシュレス"]
    rows: list[Sequence[Any]] = [[Paragraph(_esc(h), st["head"]) for h in head]]
    for s in summary.stops:
        rows.append(
            [
                s.window,
                Paragraph(_esc(s.site_name), st["cell"]),
                Paragraph(_esc(s.activity_label), st["cell"]),
                *(f"{s.people[c]}人" for c in cats),
                f"{s.amounts['cash']:,}円",
                f"{s.amounts['cashless']:,}円",
            ]
        )
    people, amounts = summary.people, summary.amounts
    rows.append(
        [
            "計",
            f"{summary.sessions}回",
            "",
            *(f"{people[c]}人" for c in cats),
            f"{amounts['cash']:,}円",
            f"{amounts['cashless']:,}円",
        ]
    )
    rest = (PAGE[0] - 28 * mm - 140 * mm) / max(len(cats), 1)
    widths = [22 * mm, 42 * mm, 30 * mm, *[rest] * len(cats), 20 * mm, 26 * mm]
    t = Table(rows, colWidths=widths, repeatRows=1)
    t.setStyle(
        TableStyle(
            [
                ("FONTNAME", (0, 0), (-1, -1), font),
                ("FONTSIZE", (0, 0), (-1, -1), 9),
                ("GRID", (0, 0), (-1, -1), 0.5, colors.HexColor("#555555")),
                ("BACKGROUND", (0, 0), (-1, 0), HEAD_BG),
                ("ALIGN", (3, 1), (-1, -1), "RIGHT"),
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
            ]
        )
    )
    story: list[Flowable] = [
        Paragraph(_esc(title or f"日計表 {both_date(summary.day)}"), st["title"]),
        Spacer(1, 4 * mm),
    ]
    if not summary.stops:
        story.append(Paragraph("この日の運行記録はありません。", st["banner"]))
    story.append(t)
    doc.build(story, onFirstPage=_footer, onLaterPages=_footer)
    return p


def council_table(t: DataTable, st: dict[str, ParagraphStyle], font: str) -> list[Flowable]:
    """One council table: its title, the grid (▲ on flagged cells) and its notes."""
    data: list[list[Any]] = [[Paragraph(_esc(h), st["head"]) for h in t.header]]
    style: list[tuple[Any, ...]] = [
        ("FONTNAME", (0, 0), (-1, -1), font),
        ("FONTSIZE", (0, 0), (-1, -1), 8),
        ("GRID", (0, 0), (-1, -1), 0.5, LINE),
        ("BACKGROUND", (0, 0), (-1, 0), HEAD_BG),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("ALIGN", (t.numeric_from, 1), (-1, -1), "RIGHT"),
        ("TOPPADDING", (0, 0), (-1, -1), 1.5),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 1.5),
    ]
    for i, (row, marks) in enumerate(zip(t.rows, t.row_flags(), strict=True), start=1):
        cells: list[Any] = []
        for j, v in enumerate(row):
            text = cell_text(v)
            if j in marks:
                text = f"{FLAG_MARK}{text}"
                style.append(("BACKGROUND", (j, i), (j, i), FLAG_BG))
            wrap = j < t.numeric_from or (isinstance(v, str) and len(text) > 8)
            cells.append(Paragraph(_esc(text), st["cell"]) if wrap else text)
        data.append(cells)
        if row and row[0] in ("計", "運用回数", "サービス提供者数"):
            style.append(("BACKGROUND", (0, i), (-1, i), colors.HexColor("#F3F3F3")))
    avail = PAGE[0] - 24 * mm
    first = 34 * mm if t.numeric_from <= 1 else 28 * mm
    rest = (avail - first * t.numeric_from) / max(1, len(t.header) - t.numeric_from)
    widths = [first] * t.numeric_from + [min(rest, 32 * mm)] * (len(t.header) - t.numeric_from)
    if t.header[-1] == "備考":  # free text: the rest of the line
        widths[-1] = max(40 * mm, avail - sum(widths[:-1]))
    table = Table(data, colWidths=widths, repeatRows=1, hAlign="LEFT")
    table.setStyle(TableStyle(style))
    out: list[Flowable] = [Paragraph(_esc(f"■ {t.title}"), st["sub"]), Spacer(1, 1 * mm), table]
    out += [Paragraph(_esc("・" + n), st["note"]) for n in t.notes]
    out.append(Spacer(1, 5 * mm))
    return out


def extra_pages(report: Report, st: dict[str, ParagraphStyle], font: str) -> list[Flowable]:
    """The council tables (see :mod:`odekake.reports.council`), after the charts."""
    tables = report.council
    if not tables:
        return []
    out: list[Flowable] = [
        PageBreak(),
        Paragraph(_esc(f"詳細表 {report.period.label()}{''.join(report.period_statements)}"),
                  st["title"]),
        Spacer(1, 3 * mm),
    ]  # fmt: skip
    for t in tables:
        block = council_table(t, st, font)
        if len(t.rows) <= 14:
            out.append(KeepTogether(block))
        else:
            out += block
    return out
