"""The 速報 chart: voters per hour of each station (bars) and the running total (line)."""

from __future__ import annotations

from datetime import datetime
from html import escape

from console.svg import FONT, _t
from odekake.voting.tally import StationTally


def hourly_svg(
    st: StationTally, now: datetime | None = None, width: int = 560, height: int = 220
) -> str:
    """Bars of voters per hour (roll checks + provisional) and the cumulative line.

    The line stops at ``now`` (Japan time): hours still to come are not drawn as flat.
    """
    until = None if now is None else (now.date().isoformat(), now.hour)
    rows = st.rows
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" '
        f'height="{height}" font-family="{FONT}" role="img" '
        f'aria-label="{escape(st.station.name)} の時間別投票者数">',
        f'<rect width="{width}" height="{height}" fill="#fff"/>',
    ]
    if not rows:
        out.append(_t(20, height / 2, "この投票所の受付時間はまだありません", 13, fill="#555"))
        out.append("</svg>")
        return "".join(out)
    x0, y0, top_pad = 44.0, height - 34.0, 16.0
    plot_w, plot_h = width - x0 - 16, y0 - top_pad
    top = max(max(r.cumulative for r in rows), 1)
    step = max(1, -(-top // 4))
    vmax = step * 4
    for i in range(5):
        v = step * i
        y = y0 - plot_h * v / vmax
        out.append(
            f'<line x1="{x0}" y1="{y:.1f}" x2="{width - 16}" y2="{y:.1f}" stroke="#e3e8ec"/>'
        )
        out.append(_t(x0 - 6, y + 4, str(v), 10, fill="#555", text_anchor="end"))
    slot = plot_w / len(rows)
    bar = min(28.0, slot * 0.6)
    points = []
    for i, r in enumerate(rows):
        cx = x0 + slot * (i + 0.5)
        h = plot_h * r.total / vmax
        out.append(
            f'<rect x="{cx - bar / 2:.1f}" y="{y0 - h:.1f}" width="{bar:.1f}" height="{h:.1f}" '
            f'fill="#0b5d8c" data-hour="{r.day} {r.hour:02d}" data-total="{r.total}">'
            f"<title>{r.day} {escape(r.label)}: {r.total}人</title></rect>"
        )
        if r.total:
            out.append(_t(cx, y0 - h - 3, str(r.total), 10, fill="#0b5d8c", text_anchor="middle"))
        if until is None or (r.day, r.hour) <= until:
            points.append(f"{cx:.1f},{y0 - plot_h * r.cumulative / vmax:.1f}")
        if len(rows) <= 16 or i % 2 == 0:
            out.append(_t(cx, y0 + 14, f"{r.hour}時", 10, fill="#333", text_anchor="middle"))
    out.append(
        f'<polyline points="{" ".join(points)}" fill="none" stroke="#c0392b" stroke-width="2"/>'
    )
    out.append(_t(x0, height - 4, "■ 時間別(名簿対照+仮投票)", 10, fill="#0b5d8c"))
    out.append(_t(x0 + 190, height - 4, "― 累計", 10, fill="#c0392b"))
    out.append("</svg>")
    return "".join(out)
