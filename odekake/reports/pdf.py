"""The report as PDF: the table page(s) and a chart page, Japanese font embedded.

Text is real text (IPAex Gothic, subset-embedded by reportlab), so it can be
searched and copied, and prints the same on a machine without Japanese fonts.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from reportlab.graphics.charts.barcharts import VerticalBarChart
from reportlab.graphics.charts.legends import Legend
from reportlab.graphics.charts.linecharts import HorizontalLineChart
from reportlab.graphics.shapes import Drawing, String
from reportlab.graphics.widgets.markers import makeMarker
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

from odekake.catalog import CATEGORIES
from odekake.pdf import register_fonts
from odekake.reports.counting import DaySummary, StopCount
from odekake.reports.table import Report
from odekake.reports.tallies import CellValue
from odekake.wareki import both_date, month_label

PAGE = landscape(A4)
SERIES_COLORS = (
    colors.HexColor("#2E6DB4"),
    colors.HexColor("#E07B28"),
    colors.HexColor("#3A9E4F"),
    colors.HexColor("#C4413D"),
    colors.HexColor("#8A5FB8"),
)
FLAG_BG = colors.HexColor("#FFD7D7")
HEAD_BG = colors.HexColor("#E4ECF7")
LINE = colors.HexColor("#555555")
SPAN_ROWS_MAX = 16  # 地区定期巡回 rows that still fit one page under the header
FLAG_MARK = "▲"  # the printed tables use ※ as a bullet, so flags use another mark
HEAD_LABELS = {
    "certificate": "証明書",
    "mynumber": "マイナンバー<br/>カード",
    "garbage": "ごみ<br/>納付券",
    "consultation": "相談",
    "frailty": "フレイル",
}


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


def _fmt(value: CellValue, unit: str) -> str:
    return f"{value}{unit}" if isinstance(value, int) else value


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
        *(Paragraph(HEAD_LABELS[c], st["head"]) for c in cols),
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
    for r in report.rows:
        i = len(data)
        values = [
            _fmt(r.sessions, "回"),
            *(_fmt(r.cells[c], "人") for c in cols),
            _fmt(r.total, "人"),
            _fmt(r.explanation, "人"),
        ]
        keys = ["sessions", *cols, "total", "explanation"]
        for j, key in enumerate(keys):
            if key in r.flagged:
                values[j] = f"{FLAG_MARK}{values[j]}"
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
    for s in report.summary:
        prefix = "※ " if s.key == "explained" else "■ "
        out.append(Paragraph(_esc(prefix + s.text(FLAG_MARK)), st["summary"]))
    return out


def _chart_page(report: Report, st: dict[str, ParagraphStyle], font: str) -> list[Flowable]:
    out: list[Flowable] = [
        Paragraph(_esc(f"グラフ {report.period.label()}"), st["title"]),
        Spacer(1, 3 * mm),
    ]
    width = PAGE[0] - 24 * mm
    out.append(Paragraph("地区別・分野別の利用者数(地区定期巡回)", st["sub"]))
    out.append(_bar_chart(report, font, width, 68 * mm))
    out.append(Spacer(1, 3 * mm))
    out.append(Paragraph("月別の運用回数", st["sub"]))
    out.append(_line_chart(report, font, width, 62 * mm))
    for n in report.chart_notes:
        out.append(Paragraph(_esc(n), st["note"]))
    return out


def _no_data(d: Drawing, font: str, text: str) -> Drawing:
    d.add(String(d.width / 2, d.height / 2, text, fontName=font, fontSize=12, textAnchor="middle"))
    return d


def _bar_chart(report: Report, font: str, width: float, height: float) -> Drawing:
    d = Drawing(width, height)
    users = report.district_users()
    if not users or not report.columns:
        return _no_data(d, font, "この期間の地区定期巡回のデータはありません")
    chart = VerticalBarChart()
    chart.x, chart.y = 40, 22
    chart.width, chart.height = width - 190, height - 34
    chart.data = [[u[c] for _name, u in users] for c in report.columns]
    chart.categoryAxis.categoryNames = [name for name, _u in users]
    chart.categoryAxis.labels.fontName = font
    chart.categoryAxis.labels.fontSize = 8
    if len(users) > 8:  # long district names would overlap side by side
        chart.categoryAxis.labels.angle = 30
        chart.categoryAxis.labels.boxAnchor = "ne"
        chart.categoryAxis.labels.dx = 4
        chart.y = 34
        chart.height = height - 46
    chart.valueAxis.labels.fontName = font
    chart.valueAxis.labels.fontSize = 8
    chart.valueAxis.valueMin = 0
    top = max((max(series) for series in chart.data if series), default=0)
    chart.valueAxis.valueMax = max(5, int(top * 1.15) + 1)
    chart.valueAxis.valueStep = max(1, chart.valueAxis.valueMax // 5)
    chart.barSpacing = 1
    chart.groupSpacing = 8
    for i in range(len(report.columns)):
        chart.bars[i].fillColor = SERIES_COLORS[i % len(SERIES_COLORS)]
        chart.bars[i].strokeColor = None
    d.add(chart)
    legend = Legend()
    legend.x, legend.y = width - 140, height - 12
    legend.fontName = font
    legend.fontSize = 8
    legend.alignment = "right"
    legend.columnMaximum = 8
    legend.colorNamePairs = [
        (SERIES_COLORS[i % len(SERIES_COLORS)], CATEGORIES[c] + "(人)")
        for i, c in enumerate(report.columns)
    ]
    d.add(legend)
    return d


def _count_label(value: float | None) -> str:
    return "" if value is None else str(int(value))


def _line_chart(report: Report, font: str, width: float, height: float) -> Drawing:
    d = Drawing(width, height)
    months = report.monthly_sessions
    if not months:
        return _no_data(d, font, "データがありません")
    chart = HorizontalLineChart()
    chart.x, chart.y = 40, 34
    chart.width, chart.height = width - 190, height - 44
    chart.data = [[n for _m, n in months]]
    chart.categoryAxis.categoryNames = [
        month_label(y, m).replace("(", "\n(") for (y, m), _ in months
    ]
    chart.categoryAxis.labels.fontName = font
    chart.categoryAxis.labels.fontSize = 6.5
    chart.categoryAxis.labels.dy = -2
    chart.valueAxis.labels.fontName = font
    chart.valueAxis.labels.fontSize = 8
    chart.valueAxis.valueMin = 0
    known = [n for _m, n in months if n is not None]
    if not known:
        return _no_data(d, font, "月別の回数が分かる記録・過去集計はありません")
    top = max(known)
    chart.valueAxis.valueMax = max(5, int(top * 1.15) + 1)
    chart.valueAxis.valueStep = max(1, chart.valueAxis.valueMax // 5)
    chart.lines[0].strokeColor = SERIES_COLORS[0]
    chart.lines[0].strokeWidth = 1.5
    chart.lines[0].symbol = makeMarker("FilledCircle", size=4)
    chart.lineLabelFormat = _count_label
    chart.lineLabels.fontName = font
    chart.lineLabels.fontSize = 7
    d.add(chart)
    legend = Legend()
    legend.x, legend.y = width - 140, height - 12
    legend.fontName = font
    legend.fontSize = 8
    legend.colorNamePairs = [(SERIES_COLORS[0], "運用回数(回)")]
    d.add(legend)
    return d


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
        Paragraph(_esc(f"期間: {report.period.range_label()}"), st["sub"]),
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
    doc.build(story, onFirstPage=_footer, onLaterPages=_footer)
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
