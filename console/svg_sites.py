"""The map of sites coloured by district (地点・地区), drawn on the server as SVG.

The same plain equirectangular grid as the plan's map (``console.svg``): lat/lon
degrees, east–west shrunk by cos(latitude), no tiles from anywhere.
"""

from __future__ import annotations

from html import escape

from console.svg import _t, map_frame
from planner.mapdata import MapData

PALETTE = [
    "#0b5d8c", "#c0392b", "#27ae60", "#8e44ad", "#d35400", "#16a085", "#7f8c8d",
    "#2c3e50", "#b7950b", "#a93226", "#1f618d", "#6c3483", "#117a65", "#935116",
]  # fmt: skip


def district_colors(places: MapData) -> dict[str, str]:
    """A colour per district id (the legend and the markers share it)."""
    return {d.id: PALETTE[i % len(PALETTE)] for i, d in enumerate(places.districts)}


def sites_map_svg(
    places: MapData, shown: set[str] | None = None, width: int = 720, height: int = 600
) -> str:
    """Every site as a dot in its district's colour (``shown`` ones larger), depots as squares."""
    pts = [(p.lat, p.lon) for p in places.sites + places.depots + places.districts]
    if not pts:
        return '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"></svg>'
    xy, out = map_frame(pts, (width, height), "地区別の会場の地図", 0.1)
    colors = district_colors(places)
    for s in places.sites:
        x, y = xy(s.lat, s.lon)
        big = shown is None or s.id in shown
        out.append(
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{5 if big else 2.5}" '
            f'fill="{colors.get(s.group, "#999")}" fill-opacity="{1 if big else 0.35}" '
            f'data-site="{escape(s.id)}"><title>{escape(s.name)}</title></circle>'
        )
    for d in places.districts:
        x, y = xy(d.lat, d.lon)
        out.append(
            _t(x, y - 8, d.name, 13, fill=colors[d.id], text_anchor="middle", font_weight="bold")
        )
    for d in places.depots:
        x, y = xy(d.lat, d.lon)
        out.append(f'<rect x="{x - 6:.1f}" y="{y - 6:.1f}" width="12" height="12" fill="#222"/>')
        out.append(_t(x + 9, y + 4, f"{d.name}(車庫)", 11, fill="#222"))
    out.append("</svg>")
    return "".join(out)
