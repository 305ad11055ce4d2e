"""Vans as master data: id, name, depot (name and coordinates) and daily shift.

``odekake vans add|list|set`` and the console use these functions; every change
is audited (``van.change``). The planner reads the same table (``planner.policy``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import sqlite_utils

from odekake.access import audit
from odekake.errors import NotFound, OdekakeError
from odekake.masterdata.master import CITY_HALL
from odekake.storage.db import write

_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$")
_HHMM = re.compile(r"^([01]?\d|2[0-4]):([0-5]\d)$")
# Japan, generously: the depot must be somewhere a van can drive to.
LAT_RANGE = (20.0, 46.0)
LON_RANGE = (122.0, 154.0)


@dataclass(frozen=True)
class Van:
    """One van of the master data."""

    id: str
    name: str
    depot_name: str
    depot_lat: float
    depot_lon: float
    shift_start: str
    shift_end: str

    @property
    def shift(self) -> str:
        """``"08:30-17:15"``."""
        return f"{self.shift_start}-{self.shift_end}"


def _minutes(text: str) -> int:
    m = _HHMM.match(text.strip())
    if not m:
        raise OdekakeError(f"時刻は HH:MM で書きます({text})")
    return int(m.group(1)) * 60 + int(m.group(2))


def parse_shift(text: str) -> tuple[str, str]:
    """``"8:30-17:15"`` → ``("08:30", "17:15")``; a Japanese error when malformed."""
    parts = str(text).split("-")
    if len(parts) != 2:
        raise OdekakeError(f"勤務時間は 08:30-17:15 の形で書きます({text})")
    a, b = _minutes(parts[0]), _minutes(parts[1])
    if not a < b <= 24 * 60:
        raise OdekakeError(f"勤務時間の終わりは始まりより後です({text})")
    return f"{a // 60:02d}:{a % 60:02d}", f"{b // 60:02d}:{b % 60:02d}"


def _check_point(lat: float, lon: float) -> None:
    if not LAT_RANGE[0] <= lat <= LAT_RANGE[1]:
        raise OdekakeError(f"車庫の緯度 {lat} が日本の範囲({LAT_RANGE[0]}〜{LAT_RANGE[1]})外です")
    if not LON_RANGE[0] <= lon <= LON_RANGE[1]:
        raise OdekakeError(f"車庫の経度 {lon} が日本の範囲({LON_RANGE[0]}〜{LON_RANGE[1]})外です")


def vans(db: sqlite_utils.Database) -> list[Van]:
    """Every van, by id."""
    return [
        Van(r[0], r[1], r[2], float(r[3]), float(r[4]), r[5], r[6])
        for r in db.execute(
            "SELECT id, name, depot_name, depot_lat, depot_lon, shift_start, shift_end"
            " FROM vans ORDER BY id"
        )
    ]


def van(db: sqlite_utils.Database, van_id: str) -> Van:
    """One van; :class:`NotFound` when there is none."""
    for v in vans(db):
        if v.id == van_id:
            return v
    raise NotFound(f"車両がありません: {van_id}(一覧は odekake vans list)")


def add(
    db: sqlite_utils.Database,
    van_id: str,
    name: str,
    *,
    depot_name: str | None = None,
    depot_lat: float | None = None,
    depot_lon: float | None = None,
    shift: str = "08:30-17:15",
    actor: str,
) -> Van:
    """Register a new van (the depot defaults to city hall).

    Raises:
        OdekakeError: The id is taken or malformed, the name is empty, the depot is
            outside Japan or only half given, or the shift is malformed.
    """
    if not _ID.match(van_id):
        raise OdekakeError(
            f"車両IDは英数字・ハイフン・下線(32文字まで)で書きます({van_id!r}、例: van-2)"
        )
    if not name.strip():
        raise OdekakeError("車両の名前が空です")
    if (depot_lat is None) != (depot_lon is None):
        raise OdekakeError("車庫の緯度と経度は両方指定します")
    city, lat0, lon0 = CITY_HALL
    lat = lat0 if depot_lat is None else depot_lat
    lon = lon0 if depot_lon is None else depot_lon
    _check_point(lat, lon)
    depot = (depot_name or "").strip() or (city if depot_lat is None else "")
    if not depot:
        raise OdekakeError("車庫の名前を指定してください(--depot-name)")
    start, end = parse_shift(shift)
    with write(db):
        if db.execute("SELECT 1 FROM vans WHERE id = ?", [van_id]).fetchone() is not None:
            raise OdekakeError(f"車両 {van_id} はすでに登録されています(変更は odekake vans set)")
        db.execute(
            "INSERT INTO vans(id, name, depot_name, depot_lat, depot_lon, shift_start, shift_end)"
            " VALUES (?,?,?,?,?,?,?)",
            [van_id, name.strip(), depot, lat, lon, start, end],
        )
        audit.log(db, actor, "van.change", van_id, {"added": True})
    return van(db, van_id)


def update(
    db: sqlite_utils.Database,
    van_id: str,
    *,
    name: str | None = None,
    depot_name: str | None = None,
    depot_lat: float | None = None,
    depot_lon: float | None = None,
    shift: str | None = None,
    actor: str,
) -> Van:
    """Change a van's name, depot or shift (fields left ``None`` stay)."""
    current = van(db, van_id)
    if all(x is None for x in (name, depot_name, depot_lat, depot_lon, shift)):
        raise OdekakeError(
            "変更する項目を指定してください(--name、--depot-name、--lat/--lon、--shift)"
        )
    if name is not None and not name.strip():
        raise OdekakeError("車両の名前が空です")
    if depot_name is not None and not depot_name.strip():
        raise OdekakeError("車庫の名前が空です")
    lat = current.depot_lat if depot_lat is None else depot_lat
    lon = current.depot_lon if depot_lon is None else depot_lon
    _check_point(lat, lon)
    start, end = (
        parse_shift(shift) if shift is not None else (current.shift_start, current.shift_end)
    )
    changed = {
        k: v
        for k, v in {
            "name": None if name is None else name.strip(),
            "depot_name": None if depot_name is None else depot_name.strip(),
            "depot_lat": depot_lat,
            "depot_lon": depot_lon,
            "shift": shift and f"{start}-{end}",
        }.items()
        if v is not None
    }
    with write(db):
        db.execute(
            "UPDATE vans SET name = ?, depot_name = ?, depot_lat = ?, depot_lon = ?,"
            " shift_start = ?, shift_end = ? WHERE id = ?",
            [
                current.name if name is None else name.strip(),
                current.depot_name if depot_name is None else depot_name.strip(),
                lat,
                lon,
                start,
                end,
                van_id,
            ],
        )
        old = {
            "name": current.name,
            "depot_name": current.depot_name,
            "depot_lat": current.depot_lat,
            "depot_lon": current.depot_lon,
            "shift": current.shift,
        }
        audit.log(
            db,
            actor,
            "van.change",
            van_id,
            {
                "changed": sorted(changed),
                "changes": {k: [old.get(k), v] for k, v in changed.items() if old.get(k) != v},
            },
        )
    return van(db, van_id)
