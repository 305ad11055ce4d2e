"""Travel times between depots and sites.

Straight-line (great-circle) distance times a road factor, divided by an average
speed, rounded up to whole minutes; or a matrix the user supplies as CSV
(``from,to,minutes``, ids of sites or ``depot:<van id>``).
"""

from __future__ import annotations

import csv
import math
from collections.abc import Mapping
from pathlib import Path

from planner.inputs import PolicyError

EARTH_RADIUS_KM = 6371.0


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in km."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


def straight_line_matrix(
    points: Mapping[str, tuple[float, float]], road_factor: float, speed_kmh: float
) -> dict[tuple[str, str], int]:
    """Minutes between every ordered pair of points (0 on the diagonal)."""
    if road_factor < 1.0 or speed_kmh <= 0:
        raise PolicyError("travel.road_factor は1以上、speed_kmh は正の数です")
    items = list(points.items())
    out: dict[tuple[str, str], int] = {}
    for a, (la, lo) in items:
        for b, (lb, lob) in items:
            if a == b:
                out[(a, b)] = 0
                continue
            km = haversine_km(la, lo, lb, lob) * road_factor
            out[(a, b)] = math.ceil(km / speed_kmh * 60)
    return out


def read_matrix(path: Path, nodes: set[str]) -> dict[tuple[str, str], int]:
    """Read a user matrix ``from,to,minutes`` (UTF-8, BOM allowed); missing pairs are an error.

    A pair given in one direction only is used for both directions.
    """
    if not path.exists():
        raise PolicyError(f"移動時間の表(CSV)がありません: {path}")
    out: dict[tuple[str, str], int] = {}
    with path.open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh)
        if reader.fieldnames is None or not {"from", "to", "minutes"} <= set(reader.fieldnames):
            raise PolicyError(f"移動時間の表の見出しは from,to,minutes です: {path}")
        for line_no, row in enumerate(reader, start=2):
            try:
                minutes = int(float(row["minutes"]))
            except ValueError as exc:
                raise PolicyError(
                    f"移動時間の表 {line_no}行目: 分が数値ではありません({row['minutes']!r})"
                ) from exc
            if minutes < 0:
                raise PolicyError(f"移動時間の表 {line_no}行目: 分は0以上です")
            out[(row["from"].strip(), row["to"].strip())] = minutes
    for (a, b), m in list(out.items()):
        out.setdefault((b, a), m)
    for a in nodes:
        out[(a, a)] = 0
        for b in nodes:
            if (a, b) not in out:
                raise PolicyError(f"移動時間の表に {a} → {b} がありません: {path}")
    return out
