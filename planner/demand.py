"""Expected residents per visit, by district and service.

From the hub's records (``stop.open`` of regular rounds and the service records
that point at those stops, after corrections and voids — ``odekake.storage.records.effective``)
the forecast is the mean residents per stop in each category over the last
``months`` months, shrunk toward a prior so that a district seen once or twice is not
taken at face value. With no history, the prior alone is used: it grows with the
district's population and with the distance from the district's sites to the
nearest 支所 (residents far from a branch office gain most from the van).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

import sqlite_utils

from odekake.masterdata.catalog import REPORT_COLUMNS, SERVICE_RECORD_TYPES, STOP_OPEN
from odekake.storage import records as rec
from planner.inputs import District, Site
from planner.travel import haversine_km

# Mix of categories in Iwaki's FY2022 regular rounds (certificate, mynumber, garbage,
# consultation, frailty = 3, 44, 1, 31, 47 of 126); used to split the prior.
PRIOR_MIX: dict[str, float] = {
    "certificate": 3 / 126,
    "mynumber": 44 / 126,
    "garbage": 1 / 126,
    "consultation": 31 / 126,
    "frailty": 47 / 126,
}
# Pseudo-visits given to the prior when blending with observed history.
PRIOR_WEIGHT = 2.0


@dataclass(frozen=True)
class DistrictDemand:
    """Forecast for one district."""

    district_id: str
    per_service: dict[str, float]
    observed_stops: int
    source: str

    @property
    def per_visit(self) -> float:
        """Expected residents per stop, all services together."""
        return sum(self.per_service.values())


def prior(district: District, sites: Iterable[Site], branches: list[District]) -> float:
    """Residents per visit with no history.

    ``3 × (population / 10,000)^0.3 × (1 + 0.05 × km to the nearest 支所)``, with the
    distance averaged over the district's sites (capped at 20 km). About 5–6 people for
    a mid-size district, which is the FY2022 average (126 users in 22 visits).
    """
    pop = district.population or 5000
    site_list = list(sites)
    points = [(s.lat, s.lon) for s in site_list] or [(district.lat, district.lon)]
    if branches:
        km = sum(
            min(haversine_km(lat, lon, b.lat, b.lon) for b in branches) for lat, lon in points
        ) / len(points)
    else:
        km = 0.0
    return 3.0 * (max(pop, 100) / 10000) ** 0.3 * (1 + 0.05 * min(km, 20.0))


def forecast(
    db: sqlite_utils.Database,
    districts: Iterable[District],
    sites: Iterable[Site],
    as_of: date,
    months: int = 12,
    branch_kind: str = "支所地区",
) -> dict[str, DistrictDemand]:
    """Forecast residents per regular visit for every district."""
    dist_list = list(districts)
    site_list = list(sites)
    kinds = {row[0]: row[1] for row in db.execute("SELECT id, kind FROM districts").fetchall()}
    branches = [d for d in dist_list if kinds.get(d.id, branch_kind) == branch_kind]
    since = as_of - timedelta(days=round(months * 30.44))
    # Voids must be read too, or effective() cannot see what they cancel.
    types = [STOP_OPEN, *SERVICE_RECORD_TYPES, rec.VOID]
    records = rec.effective(rec.iter_records(db, types=types))
    stops: dict[str, str] = {}
    for r in records:
        p = r.payload or {}
        if r.type != STOP_OPEN or p.get("activity") != "regular":
            continue
        try:
            day = date.fromisoformat(str(p.get("date", "")))
        except ValueError:
            continue
        if since <= day < as_of and p.get("district_id"):
            stops[str(p["stop_id"])] = str(p["district_id"])
    count: dict[str, int] = defaultdict(int)
    for did in stops.values():
        count[did] += 1
    people: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for r in records:
        if r.type not in SERVICE_RECORD_TYPES:
            continue
        p = r.payload or {}
        sdid = stops.get(str(p.get("stop_id", "")))
        cat = SERVICE_RECORD_TYPES[r.type]
        if sdid is None or cat not in REPORT_COLUMNS:
            continue
        people[sdid][cat] += float(p.get("people", 1) or 0)
    out: dict[str, DistrictDemand] = {}
    for d in dist_list:
        base = prior(d, (s for s in site_list if s.district_id == d.id), branches)
        n = count.get(d.id, 0)
        per: dict[str, float] = {}
        for cat in REPORT_COLUMNS:
            p0 = base * PRIOR_MIX[cat]
            per[cat] = (people[d.id][cat] + PRIOR_WEIGHT * p0) / (n + PRIOR_WEIGHT)
        source = (
            f"過去{months}か月の記録 {n}回の平均を推定値で補正"
            if n
            else "記録がないため人口と支所からの距離で推定"
        )
        out[d.id] = DistrictDemand(d.id, per, n, source)
    return out
