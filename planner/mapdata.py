"""Where things are, for drawing a plan on a map: sites, depots, district centres."""

from __future__ import annotations

from dataclasses import dataclass

import sqlite_utils

from odekake.masterdata import master


@dataclass(frozen=True)
class Point:
    """A named place (lat/lon in degrees)."""

    id: str
    name: str
    lat: float
    lon: float
    group: str = ""


@dataclass(frozen=True)
class MapData:
    """Every site, every van's depot and every district's centre."""

    sites: list[Point]
    depots: list[Point]
    districts: list[Point]

    def site(self, site_id: str) -> Point | None:
        """A site by id."""
        return next((s for s in self.sites if s.id == site_id), None)

    def depot(self, van_id: str) -> Point | None:
        """A van's depot."""
        return next((d for d in self.depots if d.id == van_id), None)


def map_data(db: sqlite_utils.Database) -> MapData:
    """The points of the hub's master data."""
    sites = [
        Point(s["id"], s["name"], float(s["lat"]), float(s["lon"]), s["district_id"])
        for s in master.sites(db)
    ]
    depots = [
        Point(r[0], r[1], float(r[2]), float(r[3]))
        for r in db.execute("SELECT id, depot_name, depot_lat, depot_lon FROM vans ORDER BY id")
    ]
    districts = [Point(d.id, d.name, d.lat, d.lon) for d in master.districts(db)]
    return MapData(sites, depots, districts)
