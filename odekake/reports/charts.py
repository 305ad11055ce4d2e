"""The usage report's two charts as reportlab drawings (monthly users by category as bars, the trend as a line), shared by the PDF and the console's SVG."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from reportlab.graphics.shapes import Circle, Drawing, Group, Line, Rect, String
from reportlab.lib import colors

from odekake.masterdata.catalog import CATEGORIES
from odekake.reports.model import Report
from odekake.reports.tallies import DASH, as_int

SERIES_COLORS = (
    colors.HexColor("#2E6DB4"),
    colors.HexColor("#E07B28"),
    colors.HexColor("#3A9E4F"),
    colors.HexColor("#C4413D"),
    colors.HexColor("#8A5FB8"),
)
LINE = colors.HexColor("#555555")
GRID = colors.HexColor("#DDDDDD")
PARTIAL_COLOR = colors.HexColor("#8FA9CC")  # the line into a month not yet over


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
