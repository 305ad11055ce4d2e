"""Pictures drawn on the server as SVG: the month calendar and the map of a day's route.

Only drawing here; the numbers come from the plan (``planner.plan.Plan``) and the
places from ``planner.mapdata``. Text uses the page's fonts (nothing downloaded).
"""

from __future__ import annotations

import calendar
import math
from collections import defaultdict
from collections.abc import Callable
from datetime import date
from html import escape

from planner.mapdata import MapData
from planner.plan import Plan, PlanVisit

WEEK = "月火水木金土日"
FONT = "'Yu Gothic UI', Meiryo, 'IPAexGothic', 'IPAex Gothic', sans-serif"


def _t(x: float, y: float, text: str, size: int = 12, **attrs: str) -> str:
    extra = "".join(f' {k.replace("_", "-")}="{v}"' for k, v in attrs.items())
    return f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}"{extra}>{escape(text)}</text>'


def graticule(
    xy: Callable[[float, float], tuple[float, float]],
    lats: tuple[float, float],
    lons: tuple[float, float],
    size: tuple[int, int],
    margin: float,
    step: float,
) -> list[str]:
    """Latitude and longitude lines every ``step`` degrees, labelled, inside the margin."""
    width, height = size
    digits = 2 if step < 0.1 else 1
    out: list[str] = []
    lat = math.floor(lats[0] / step) * step
    while lat <= lats[1] + step:
        _, yy = xy(lat, lons[0])
        if margin / 2 <= yy <= height - margin / 2:
            out.append(f'<line x1="0" y1="{yy:.1f}" x2="{width}" y2="{yy:.1f}" stroke="#e3e8ec"/>')
            out.append(_t(2, yy - 2, f"{lat:.{digits}f}°N", 9, fill="#8a99a5"))
        lat += step
    lon = math.floor(lons[0] / step) * step
    while lon <= lons[1] + step:
        xx, _ = xy(lats[0], lon)
        if margin / 2 <= xx <= width - margin / 2:
            out.append(f'<line x1="{xx:.1f}" y1="0" x2="{xx:.1f}" y2="{height}" stroke="#e3e8ec"/>')
            out.append(_t(xx + 2, height - 4, f"{lon:.{digits}f}°E", 9, fill="#8a99a5"))
        lon += step
    return out


def calendar_svg(plan: Plan, month: date, link: str = "?day=", selected: str = "") -> str:
    """A month grid: each day, each van, its stops (window, site, expected users).

    Days the van works on a weekend or holiday (opened days) are outlined in orange
    and labelled 休日稼働 (orange means only that); stops other than the regular round
    (early voting, disaster, reservation) are written in purple with their kind. Each day links to ``link + ISO date`` (the map of that day).
    """
    by_day: dict[str, dict[str, list[PlanVisit]]] = defaultdict(lambda: defaultdict(list))
    for v in plan.visits:
        by_day[v.date][v.van_id].append(v)
    weeks = calendar.Calendar(firstweekday=0).monthdatescalendar(month.year, month.month)
    col_w, head = 170, 28
    heights = []
    for week in weeks:
        lines = 1
        for d in week:
            vans = by_day.get(d.isoformat(), {})
            lines = max(lines, 1 + sum(1 + 2 * len(vs) for vs in vans.values()))
        heights.append(18 + 15 * lines)
    width, height = col_w * 7, head + sum(heights)
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="100%" '
        f'font-family="{FONT}" role="img" aria-label="{month.year}年{month.month}月の巡回カレンダー">'
    ]
    for i, ch in enumerate(WEEK):
        color = "#b00" if i == 6 else "#0b5d8c" if i == 5 else "#333"
        out.append(_t(i * col_w + col_w / 2, 19, ch, 14, text_anchor="middle", fill=color))
    y = head
    for week, h in zip(weeks, heights, strict=True):
        for i, d in enumerate(week):
            x = i * col_w
            iso = d.isoformat()
            inside = d.month == month.month
            vans = by_day.get(iso, {}) if inside else {}
            opened = any(v.opened_day for vs in vans.values() for v in vs)
            fill = "#f4f4f4" if not inside else "#fdf6f0" if i >= 5 else "#fff"
            if iso == selected:
                fill = "#e6f2fa"
            stroke = "#e07b00" if opened else "#c8d0d6"
            width_s = 3 if opened else 1
            out.append(
                f'<a href="{escape(link + iso)}" data-day="{iso}"><rect x="{x + 1}" y="{y + 1}" '
                f'width="{col_w - 2}" height="{h - 2}" fill="{fill}" stroke="{stroke}" '
                f'stroke-width="{width_s}"/>'
            )
            out.append(_t(x + 6, y + 15, str(d.day), 13, fill="#333" if inside else "#aaa"))
            if opened:
                out.append(
                    _t(x + col_w - 6, y + 15, "休日稼働", 11, text_anchor="end", fill="#e07b00")
                )
            line = y + 31
            for van_id in sorted(vans):
                out.append(_t(x + 6, line, van_id, 11, fill="#0b5d8c", font_weight="bold"))
                line += 15
                for v in sorted(vans[van_id], key=lambda v: v.start):
                    # The window on one line, the site's name on its own line below (15
                    # characters fit a day's width; the full name is the line's tooltip).
                    users = f" 見込み{v.expected_users:.0f}人" if v.expected_users else ""
                    name = v.site_name if len(v.site_name) <= 15 else v.site_name[:14] + "…"
                    color = "#6b3fa0" if v.activity != "regular" else "#222"
                    kind = "" if v.activity == "regular" else f" {v.activity_label}"
                    out.append(_t(x + 8, line, f"{v.start}-{v.end}{users}{kind}", 10, fill=color))
                    out.append(
                        f'<text x="{x + 14}" y="{line + 13}" font-size="10" fill="{color}">'
                        f"<title>{escape(v.site_name)}</title>{escape(name)}</text>"
                    )
                    line += 28
            out.append("</a>")
        y += h
    out.append("</svg>")
    return "".join(out)


def map_frame(
    pts: list[tuple[float, float]], size: tuple[int, int], label: str, step: float
) -> tuple[Callable[[float, float], tuple[float, float]], list[str]]:
    """The projection of a map (equirectangular around the middle latitude, east–west
    degrees shrunk by cos(latitude), fitted to ``size`` with a 40-pixel margin) and the
    drawing's opening: the ``<svg>`` tag (``label`` already escaped), the background and
    a graticule every ``step`` degrees."""
    width, height = size
    lat0 = sum(p[0] for p in pts) / len(pts)
    k = math.cos(math.radians(lat0))
    xs = [lon * k for _, lon in pts]
    ys = [lat for lat, _ in pts]
    margin = 40
    scale = min(
        (width - 2 * margin) / max(max(xs) - min(xs), 1e-6),
        (height - 2 * margin) / max(max(ys) - min(ys), 1e-6),
    )

    def xy(lat: float, lon: float) -> tuple[float, float]:
        return margin + (lon * k - min(xs)) * scale, height - margin - (lat - min(ys)) * scale

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" '
        f'height="{height}" font-family="{FONT}" role="img" aria-label="{label}">',
        f'<rect width="{width}" height="{height}" fill="#fbfcfd"/>',
    ]
    out += graticule(xy, (min(ys), max(ys)), (min(xs) / k, max(xs) / k), size, margin, step)
    return xy, out


def map_svg(plan: Plan, places: MapData, day: str, width: int = 720, height: int = 560) -> str:
    """Depot, every site, and each van's route on ``day`` (lat/lon on a plain grid).

    The projection is equirectangular around the middle latitude (east–west degrees
    shrunk by cos(latitude)), fitted to the drawing with a margin; grid lines every
    0.05°, labelled in degrees.
    """
    pts = [(p.lat, p.lon) for p in places.sites + places.depots]
    if not pts:
        return '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"></svg>'
    xy, out = map_frame(pts, (width, height), f"{escape(day)} の経路", 0.05)
    for d in places.districts:
        x, y = xy(d.lat, d.lon)
        out.append(_t(x, y, d.name, 13, fill="#b7c3cc", text_anchor="middle"))
    for s in places.sites:
        x, y = xy(s.lat, s.lon)
        out.append(
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="#9aa8b2"><title>{escape(s.name)}</title></circle>'
        )
    colors = ["#0b5d8c", "#c0392b", "#27ae60", "#8e44ad"]
    visits = [v for v in plan.visits if v.date == day]
    for n, van_id in enumerate(sorted({v.van_id for v in visits} | {d.id for d in places.depots})):
        depot = places.depot(van_id)
        route = sorted((v for v in visits if v.van_id == van_id), key=lambda v: v.order)
        color = colors[n % len(colors)]
        chain = []
        if depot is not None:
            chain.append(xy(depot.lat, depot.lon))
        for v in route:
            here = places.site(v.site_id)
            if here is not None:
                chain.append(xy(here.lat, here.lon))
        if depot is not None and route:
            chain.append(xy(depot.lat, depot.lon))
        if len(chain) > 1:
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y in chain)
            out.append(
                f'<polyline points="{path}" fill="none" stroke="{color}" stroke-width="2.5" '
                f'stroke-dasharray="6 3" data-van="{escape(van_id)}"/>'
            )
        # A site served in both windows is one marker: "1・2  10:00/13:30 name".
        groups: list[tuple[list[int], list[PlanVisit]]] = []
        for i, v in enumerate(route, start=1):
            if groups and groups[-1][1][-1].site_id == v.site_id:
                groups[-1][0].append(i)
                groups[-1][1].append(v)
            else:
                groups.append(([i], [v]))
        for numbers, vs in groups:
            stop = places.site(vs[0].site_id)
            if stop is None:
                continue
            x, y = xy(stop.lat, stop.lon)
            out.extend(f'<g data-site="{escape(v.site_id)}"></g>' for v in vs)
            r = 10 if len(numbers) == 1 else 14
            out.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{r}" fill="{color}"/>')
            label = "・".join(str(n) for n in numbers)
            out.append(
                _t(x, y + 4, label, 11, fill="#fff", text_anchor="middle", font_weight="bold")
            )
            times = "/".join(v.start for v in vs)
            out.append(_t(x + r + 3, y + 4, f"{times} {vs[0].site_name}", 12, fill="#222"))
        if depot is not None:
            x, y = xy(depot.lat, depot.lon)
            out.append(
                f'<rect x="{x - 7:.1f}" y="{y - 7:.1f}" width="14" height="14" fill="#222"/>'
            )
            out.append(_t(x + 10, y - 8, f"{depot.name}(出発・帰着)", 12, fill="#222"))
    out.append("</svg>")
    return "".join(out)
