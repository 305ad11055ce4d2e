"""Travel times between depots and sites, and a plan's driving.

Straight-line (great-circle) distance times a road factor, divided by an average
speed, rounded up to whole minutes; or a matrix the user supplies as CSV
(``from,to,minutes``, ids of sites or ``depot:<van id>``). :class:`TravelModel` is
that choice as the policy states it; :func:`route_driving` prices a plan's van-days
with it. The solver, ``plan check``, hand edits and imports all go through these two.
"""

from __future__ import annotations

import csv
import math
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from planner.inputs import PolicyError, depot_node
from planner.plan import PlanVisit

EARTH_RADIUS_KM = 6371.0
DEFAULT_ROAD_FACTOR = 1.4
DEFAULT_SPEED_KMH = 35.0


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


@dataclass(frozen=True)
class TravelModel:
    """How a policy prices a driving leg — the one rule the solver, ``plan check``, hand
    edits and imports all use.

    Either a user matrix (``from,to,minutes``; ``matrix`` is its absolute path) or the
    straight line × ``road_factor`` ÷ ``speed_kmh``, rounded up to whole minutes.
    """

    road_factor: float = DEFAULT_ROAD_FACTOR
    speed_kmh: float = DEFAULT_SPEED_KMH
    matrix: str | None = None

    @classmethod
    def from_table(cls, table: Mapping[str, Any], base_dir: Path) -> TravelModel:
        """The policy's ``[travel]`` table (a relative matrix path is read from ``base_dir``)."""
        if "matrix" in table:
            path = Path(str(table["matrix"]))
            if not path.is_absolute():
                path = base_dir / path
            return cls(matrix=str(path.resolve()))
        try:
            factor = float(table.get("road_factor", DEFAULT_ROAD_FACTOR))
            speed = float(table.get("speed_kmh", DEFAULT_SPEED_KMH))
        except (TypeError, ValueError) as exc:
            raise PolicyError("travel.road_factor と speed_kmh は数値で書きます") from exc
        return cls(road_factor=factor, speed_kmh=speed)

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any]) -> TravelModel:
        """The inverse of :meth:`to_dict` (a stored plan's ``travel_model``)."""
        matrix = doc.get("matrix")
        return cls(
            road_factor=float(doc.get("road_factor", DEFAULT_ROAD_FACTOR)),
            speed_kmh=float(doc.get("speed_kmh", DEFAULT_SPEED_KMH)),
            matrix=str(matrix) if matrix else None,
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON form, stored with every plan so its edits are priced the same way."""
        if self.matrix:
            return {"matrix": self.matrix}
        return {"road_factor": self.road_factor, "speed_kmh": self.speed_kmh}

    def legs(self, points: Mapping[str, tuple[float, float]]) -> dict[tuple[str, str], int]:
        """Minutes between every ordered pair of ``points`` (site ids and ``depot:<van>``).

        Raises:
            PolicyError: A bad factor or speed, or a matrix that is missing or lacks a pair.
        """
        if self.matrix:
            return read_matrix(Path(self.matrix), set(points))
        return straight_line_matrix(points, self.road_factor, self.speed_kmh)


def route_driving(
    visits: Sequence[PlanVisit], minutes: Callable[[str, str], int]
) -> tuple[list[PlanVisit], list[dict[str, Any]]]:
    """Each van-day in start order: every visit's ``order`` and ``travel_minutes`` (from
    the depot or the previous stop), and the day's driving depot → stops → depot.

    Returns:
        The visits (same order as given) and ``[{"date", "van_id", "minutes"}]`` by day
        and van, the list a plan's ``driving_minutes`` holds.
    """
    by_vd: dict[tuple[str, str], list[int]] = defaultdict(list)
    for i, v in enumerate(visits):
        by_vd[(v.date, v.van_id)].append(i)
    out = list(visits)
    driving: list[dict[str, Any]] = []
    for (day, van_id), idx in sorted(by_vd.items()):
        idx.sort(key=lambda i: visits[i].start)
        prev = depot_node(van_id)
        total = 0
        for order, i in enumerate(idx, start=1):
            leg = minutes(prev, visits[i].site_id)
            out[i] = replace(visits[i], order=order, travel_minutes=leg)
            total += leg
            prev = visits[i].site_id
        total += minutes(prev, depot_node(van_id))
        driving.append({"date": day, "van_id": van_id, "minutes": total})
    return out, driving
