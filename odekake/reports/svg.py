"""The report's charts as SVG (for the console): the very drawings the PDF prints.

:func:`odekake.reports.charts.bar_chart` and :func:`~odekake.reports.charts.line_chart`
draw with reportlab; reportlab's SVG renderer turns the same drawing into SVG, so
the browser shows the PDF's chart, not a second one computed apart.
"""

from __future__ import annotations

import re
from html import escape

from reportlab.graphics import renderSVG

from odekake.documents.pdf import register_fonts
from odekake.reports.charts import bar_chart, line_chart
from odekake.reports.model import Report

# Fonts a city-hall PC has first, then IPAex (the PDF's embedded font).
FONT_STACK = "'Yu Gothic UI', Meiryo, IPAexGothic, 'IPAex Gothic', sans-serif"


def _svg(drawing: object, caption: str) -> str:
    text = renderSVG.drawToString(drawing)
    text = re.sub(r"^<\?xml[^>]*>\s*(<!DOCTYPE[^>]*>\s*)?", "", text)
    text = text.replace("<svg ", '<svg class="chart" role="img" ', 1)
    text = text.replace("<title>...</title>", f"<title>{escape(caption)}</title>", 1)
    text = text.replace("<desc>...</desc>", "", 1)
    return re.sub(r'font-family="[^"]*"', f'font-family="{FONT_STACK}"', text)


def chart_svgs(report: Report, width: float = 760.0) -> list[tuple[str, str]]:
    """(caption, SVG text) of the report's charts, as on its PDF's chart page."""
    font = register_fonts()
    bars = "地区別・分野別の利用者数(地区定期巡回)— 「–」はその分野を実施していない(0 とは別)"
    line = f"月別の運用回数{report.as_of_suffix}"
    return [
        (bars, _svg(bar_chart(report, font, width, 200.0), bars)),
        (line, _svg(line_chart(report, font, width, 180.0), line)),
    ]
