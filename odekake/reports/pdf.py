"""The report as PDF: the table page(s) and a chart page, Japanese font embedded.

Text is real text (IPAex Gothic, subset-embedded by reportlab), so it can be
searched and copied, and prints the same on a machine without Japanese fonts.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from reportlab.graphics.shapes import Circle, Drawing, Group, Line, Rect, String
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
from odekake.reports.council import DataTable
from odekake.reports.counting import DaySummary, StopCount
from odekake.reports.layout import (
    FLAG_MARK,
    category_heads,
    cell_text,
    summary_texts,
    table_lines,
)
from odekake.reports.table import Report
from odekake.reports.tallies import DASH, as_int

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
GRID = colors.HexColor("#DDDDDD")
PARTIAL_COLOR = colors.HexColor("#8FA9CC")  # the line into a month not yet over
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


def _no_data(d: Drawing, font: str, text: str) -> Drawing:
    d.add(String(d.width / 2, d.height / 2, text, fontName=font, fontSize=12, textAnchor="middle"))
    return d


def nice_step(top: float, ticks: int = 5) -> int:
    """A round tick step (1, 2 or 5 × 10^n) giving at most about ``ticks`` steps up to ``top``."""
    if top <= 0:
        return 1
    raw = top / ticks
    mag = 10 ** max(0, math.floor(math.log10(raw))) if raw >= 1 else 1
    for m in (1, 2, 5, 10):
        if m * mag >= raw:
            return int(m * mag)
    return int(10 * mag)


def value_axis(top: float) -> tuple[int, int]:
    """(step, max) of a value axis from 0 that holds ``top`` with round steps."""
    step = nice_step(top)
    vmax = max(step, math.ceil(top / step) * step)
    if vmax == top and top > 0:
        vmax += step  # room for the data labels above the highest point
    return step, vmax


def _value_axis(
    d: Drawing, font: str, x0: float, y0: float, w: float, h: float, top: float
) -> tuple[int, int]:
    step, vmax = value_axis(top)
    for v in range(0, vmax + 1, step):
        y = y0 + h * v / vmax
        d.add(Line(x0, y, x0 + w, y, strokeColor=GRID, strokeWidth=0.4))
        d.add(String(x0 - 4, y - 3, f"{v:,}", fontName=font, fontSize=8, textAnchor="end"))
    d.add(Line(x0, y0, x0, y0 + h, strokeColor=LINE, strokeWidth=0.6))
    d.add(Line(x0, y0, x0 + w, y0, strokeColor=LINE, strokeWidth=0.6))
    return step, vmax


def bar_chart(report: Report, font: str, width: float, height: float) -> Drawing:
    """Users per district and category; "–" (not offered) is written, not drawn as 0."""
    d = Drawing(width, height)
    groups = report.district_cells()
    cols = report.columns
    if not groups or not cols:
        return _no_data(d, font, "この期間の地区定期巡回のデータはありません")
    x0, y0 = 40.0, 30.0
    w, h = width - 190, height - 44
    top = max((as_int(v) for _n, cells in groups for v in cells.values()), default=0)
    _step, vmax = _value_axis(d, font, x0, y0, w, h, top)
    slot = w / len(groups)
    bar_w = min(16.0, (slot - 8) / len(cols))
    angle = len(groups) > 8
    for g, (name, cells) in enumerate(groups):
        left = x0 + g * slot + (slot - bar_w * len(cols)) / 2
        for i, c in enumerate(cols):
            v = cells.get(c, DASH)
            bx = left + i * bar_w
            cx = bx + bar_w / 2
            if isinstance(v, int):
                bh = h * v / vmax
                d.add(
                    Rect(
                        bx,
                        y0,
                        bar_w - 1,
                        bh,
                        fillColor=SERIES_COLORS[i % len(SERIES_COLORS)],
                        strokeColor=None,
                    )
                )
                d.add(
                    String(cx, y0 + bh + 2, str(v), fontName=font, fontSize=6, textAnchor="middle")
                )
            elif v == DASH:
                d.add(
                    String(
                        cx, y0 + 2, DASH, fontName=font, fontSize=7, textAnchor="middle",
                        fillColor=colors.HexColor("#888888"),
                    )
                )  # fmt: skip
        label = String(
            x0 + g * slot + slot / 2, y0 - 11, name, fontName=font, fontSize=8, textAnchor="middle"
        )
        if angle:
            grp = Group(label)
            label.x, label.y, label.textAnchor = 0, 0, "end"
            grp.transform = (0.87, 0.5, -0.5, 0.87, x0 + g * slot + slot / 2, y0 - 6)
            d.add(grp)
        else:
            d.add(label)
    _legend(
        d,
        font,
        width,
        height,
        [
            (SERIES_COLORS[i % len(SERIES_COLORS)], CATEGORIES[c] + "(人)")
            for i, c in enumerate(cols)
        ]
        + [(None, "– 実施なし")],
    )
    return d


def _legend(
    d: Drawing, font: str, width: float, height: float, pairs: list[tuple[Any, str]]
) -> None:
    x, y = width - 140, height - 12
    for color, text in pairs:
        if color is not None:
            d.add(Rect(x, y - 1, 8, 8, fillColor=color, strokeColor=None))
        d.add(String(x + 12, y, text, fontName=font, fontSize=8))
        y -= 12


def month_ticks(months: Sequence[tuple[int, int]], most: int = 12) -> list[int]:
    """Indexes of the months that get an axis label: every k-th, at most ``most`` of them."""
    if not months:
        return []
    k = max(1, math.ceil(len(months) / most))
    return list(range(0, len(months), k))


def line_chart(report: Report, font: str, width: float, height: float) -> Drawing:
    """Sessions per month: a point only for months with data, each label on its point."""
    d = Drawing(width, height)
    months = report.monthly_sessions
    known = [(i, n) for i, (_m, n) in enumerate(months) if n is not None]
    if not months or not known:
        return _no_data(d, font, "月別の回数が分かる記録・過去集計はありません")
    x0, y0 = 40.0, 34.0
    w, h = width - 190, height - 46
    top = max(n for _i, n in known)
    _step, vmax = _value_axis(d, font, x0, y0, w, h, top)
    slot = w / len(months)

    def xy(i: int, n: int) -> tuple[float, float]:
        return x0 + slot * (i + 0.5), y0 + h * n / vmax

    prev: tuple[int, int] | None = None
    for i, n in known:
        if prev is not None and prev[0] == i - 1:
            (ax, ay), (bx, by) = xy(*prev), xy(i, n)
            if months[i][0] == report.partial_month:
                # A month not yet over is not a fall: a thin dotted line leads to it.
                dotted = Line(ax, ay, bx, by, strokeColor=PARTIAL_COLOR, strokeWidth=0.8)
                dotted.strokeDashArray = [2, 2]
                d.add(dotted)
            else:
                d.add(Line(ax, ay, bx, by, strokeColor=SERIES_COLORS[0], strokeWidth=1.5))
        prev = (i, n)
    for i, n in known:
        x, y = xy(i, n)
        partial = months[i][0] == report.partial_month
        d.add(
            Circle(
                x,
                y,
                2.6,
                fillColor=colors.white if partial else SERIES_COLORS[0],
                strokeColor=SERIES_COLORS[0],
                strokeWidth=1,
            )
        )
        # Crowded points (long ranges): label only the highest and the last one.
        if slot >= 14 or n == top or i == known[-1][0]:
            d.add(String(x, y + 5, str(n), fontName=font, fontSize=7, textAnchor="middle"))
        if partial:
            day = report.created.day
            d.add(
                String(
                    x, y + 13, f"途中({day}日現在)", fontName=font, fontSize=6, textAnchor="middle",
                    fillColor=colors.HexColor("#B00020"),
                )
            )  # fmt: skip
    last_year = None
    for i in month_ticks([m for m, _n in months]):
        (yy, mm_), _n = months[i]
        x = x0 + slot * (i + 0.5)
        d.add(Line(x, y0, x, y0 - 2, strokeColor=LINE, strokeWidth=0.5))
        d.add(String(x, y0 - 11, f"{mm_}月", fontName=font, fontSize=7, textAnchor="middle"))
        if yy != last_year:
            d.add(String(x, y0 - 20, f"{yy}年", fontName=font, fontSize=6.5, textAnchor="middle"))
            last_year = yy
    pairs: list[tuple[Any, str]] = [(SERIES_COLORS[0], "運用回数(回)")]
    if report.partial_month is not None:
        pairs.append((None, f"○ 月の途中({report.as_of_text})"))
        pairs.append((None, "┈ 途中の月へは点線"))
    _legend(d, font, width, height, pairs)
    return d


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
