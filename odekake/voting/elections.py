"""Elections as master data: the early-voting period, ballot kinds and stations.

An election (e.g. 令和5年福島県議会議員一般選挙) has an early-voting period, the ballot
kinds handed out together (選挙区 + 比例 + 国民審査, each with its own first day) and
its stations: fixed ones (a 支所, the whole period) and the van's stops (移動期日前投票所,
one day, with hours). Elections travel to the van with down-sync
(:func:`export_election` / :func:`import_election`); they are defined at the hub from a
TOML file (:func:`load_toml`).
"""

from __future__ import annotations

import json
import re
import tomllib
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import sqlite_utils

from odekake.errors import NotFound, OdekakeError, ValidationError
from odekake.storage.db import role_of, write
from odekake.voting.roll_deletion import delete_roll

JST = timezone(timedelta(hours=9), "JST")
STATION_KINDS = {"fixed": "期日前投票所", "mobile": "移動期日前投票所"}
_TIME = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
_ID = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")

# The six reasons of 公職選挙法 第48条の2 第1項 (宣誓書), as stable codes and labels.
REASONS: dict[str, str] = {
    "work": "仕事・学業・地域行事・冠婚葬祭等の用務に従事",
    "travel": "用務・事故のため投票区の区域外に旅行・滞在",
    "illness": "疾病・負傷・妊娠・老衰・身体の障害等のため歩行が困難",
    "island": "交通至難の島その他の地に居住",
    "moved": "投票区のある市町村の区域外の住所に居住",
    "weather": "天災又は悪天候により投票所に到達することが困難",
}


@dataclass(frozen=True)
class Ballot:
    """One ballot kind handed out (選挙区, 比例代表, 国民審査 …) and its first day."""

    kind: str
    label: str
    opens_on: str


@dataclass(frozen=True)
class Station:
    """A polling station of the early-voting period: fixed, or one stop of the van."""

    id: str
    name: str
    kind: str
    date_from: str
    date_to: str
    opens: str
    closes: str
    district_id: str = ""
    site_id: str = ""
    precincts: tuple[str, ...] = ()
    electors: int | None = None
    vans: tuple[str, ...] = ()

    def served_by(self, device_id: str, van_id: str | None = None) -> bool:
        """True when the device (or its van) is assigned to this station."""
        return device_id in self.vans or (van_id is not None and van_id in self.vans)

    def open_on(self, day: date) -> bool:
        """True when the station serves voters on ``day``."""
        return self.date_from <= day.isoformat() <= self.date_to


@dataclass(frozen=True)
class Election:
    """An election with its early-voting period, ballots and stations."""

    id: str
    name: str
    election_day: str
    early_from: str
    early_to: str
    ballots: tuple[Ballot, ...] = ()
    stations: tuple[Station, ...] = ()
    closed: bool = False
    notes: str = ""

    def station(self, station_id: str) -> Station:
        """A station by id."""
        for s in self.stations:
            if s.id == station_id:
                return s
        raise NotFound(f"期日前投票所がありません: {station_id}")

    def ballots_on(self, day: date) -> list[Ballot]:
        """The ballot kinds handed out on ``day`` (each opens on its own date)."""
        return [b for b in self.ballots if b.opens_on <= day.isoformat()]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (the down-sync form)."""
        d = asdict(self)
        for s in d["stations"]:
            s["precincts"] = list(s["precincts"])
            s["vans"] = list(s["vans"])
        d["ballots"] = list(d["ballots"])
        d["stations"] = list(d["stations"])
        return d


def _date(value: Any, label: str) -> str:
    if isinstance(value, date):
        return value.isoformat()
    try:
        return date.fromisoformat(str(value)).isoformat()
    except ValueError as exc:
        raise ValidationError(f"{label}は YYYY-MM-DD で書きます({value!r})", label) from exc


def _time(value: Any, label: str) -> str:
    text = str(value)
    if not _TIME.match(text):
        raise ValidationError(f"{label}は HH:MM で書きます({value!r})", label)
    return text


def election_from_dict(data: dict[str, Any]) -> Election:
    """Validate a dict (TOML or down-sync JSON) into an :class:`Election`.

    Raises:
        ValidationError: With one Japanese line naming the bad field.
    """
    try:
        eid = str(data["id"])
        name = str(data["name"])
    except KeyError as exc:
        raise ValidationError(f"選挙の {exc.args[0]} がありません") from exc
    if not _ID.match(eid):
        raise ValidationError(f"選挙IDは半角英数字・記号(_.-)で64文字以内です({eid!r})", "id")
    if not name.strip():
        raise ValidationError("選挙の名称が空です", "name")
    early_from = _date(data.get("early_from"), "期日前投票の開始日")
    early_to = _date(data.get("early_to"), "期日前投票の終了日")
    election_day = _date(data.get("election_day"), "投票日")
    if not early_from <= early_to < election_day:
        raise ValidationError("期日前投票の期間は 開始日 ≤ 終了日 < 投票日 です", "early_from")
    ballots: list[Ballot] = []
    for b in data.get("ballots") or []:
        opens = _date(b.get("opens_on", early_from), "投票用紙の交付開始日")
        if not early_from <= opens <= early_to:
            raise ValidationError(f"投票用紙 {b.get('label')} の交付開始日が期間外です({opens})")
        ballots.append(Ballot(str(b["kind"]), str(b["label"]), opens))
    if not ballots:
        raise ValidationError("投票用紙の種類(ballots)が1つもありません", "ballots")
    if len({b.kind for b in ballots}) != len(ballots):
        raise ValidationError("投票用紙の種類(kind)が重複しています", "ballots")
    stations: list[Station] = []
    for s in data.get("stations") or []:
        sid = str(s.get("id", ""))
        if not _ID.match(sid):
            raise ValidationError(f"投票所IDは半角英数字です({sid!r})", "stations")
        kind = str(s.get("kind", "fixed"))
        if kind not in STATION_KINDS:
            raise ValidationError(f"投票所の種別は fixed か mobile です({kind!r})", "stations")
        if kind == "mobile" and "date" in s:
            d_from = d_to = _date(s["date"], "移動期日前投票所の日付")
        else:
            d_from = _date(s.get("date_from", early_from), "投票所の開設日")
            d_to = _date(s.get("date_to", early_to), "投票所の閉鎖日")
        if not early_from <= d_from <= d_to <= early_to:
            raise ValidationError(f"投票所 {sid} の開設日が期日前投票の期間外です")
        opens = _time(s.get("opens", "08:30"), "開始時刻")
        closes = _time(s.get("closes", "20:00"), "終了時刻")
        if opens >= closes:
            raise ValidationError(f"投票所 {sid} の開始時刻 {opens} が終了時刻 {closes} より後です")
        electors = s.get("electors")
        vans = s.get("vans") or ()
        if isinstance(vans, str):
            vans = (vans,)
        for v in vans:
            if not _ID.match(str(v)):
                raise ValidationError(f"投票所 {sid} の車両IDは半角英数字です({v!r})", "vans")
        stations.append(
            Station(
                id=sid,
                name=str(s.get("name") or sid),
                kind=kind,
                date_from=d_from,
                date_to=d_to,
                opens=opens,
                closes=closes,
                district_id=str(s.get("district_id", s.get("district", ""))),
                site_id=str(s.get("site_id", "")),
                precincts=tuple(str(p) for p in s.get("precincts") or ()),
                electors=None if electors in (None, "") else int(electors),
                vans=tuple(dict.fromkeys(str(v) for v in vans)),
            )
        )
    if len({s.id for s in stations}) != len(stations):
        raise ValidationError("投票所IDが重複しています", "stations")
    return Election(
        id=eid,
        name=name,
        election_day=election_day,
        early_from=early_from,
        early_to=early_to,
        ballots=tuple(ballots),
        stations=tuple(stations),
        closed=bool(data.get("closed", False)),
        notes=str(data.get("notes", "")),
    )


def load_toml(path: str | Path) -> Election:
    """Read an election definition from a TOML file (see ``docs/voting.md``)."""
    p = Path(path)
    if not p.exists():
        raise NotFound(f"ファイルがありません: {p}")
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8-sig"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise OdekakeError(f"TOMLとして読めません: {p} ({exc})") from exc
    return election_from_dict(data)


def save_election(db: sqlite_utils.Database, election: Election) -> None:
    """Insert or replace an election with its ballots and stations (one transaction)."""
    with write(db):
        db.execute(
            "INSERT INTO elections(id, name, election_day, early_from, early_to, closed, notes) "
            "VALUES (?,?,?,?,?,?,?) ON CONFLICT(id) DO UPDATE SET name=excluded.name, "
            "election_day=excluded.election_day, early_from=excluded.early_from, "
            "early_to=excluded.early_to, closed=excluded.closed, notes=excluded.notes",
            [
                election.id,
                election.name,
                election.election_day,
                election.early_from,
                election.early_to,
                int(election.closed),
                election.notes,
            ],
        )
        db.execute("DELETE FROM election_ballots WHERE election_id = ?", [election.id])
        db.execute("DELETE FROM election_stations WHERE election_id = ?", [election.id])
        db.execute("DELETE FROM election_station_vans WHERE election_id = ?", [election.id])
        for i, b in enumerate(election.ballots):
            db.execute(
                "INSERT INTO election_ballots(election_id, kind, label, opens_on, sort) "
                "VALUES (?,?,?,?,?)",
                [election.id, b.kind, b.label, b.opens_on, i],
            )
        for s in election.stations:
            db.execute(
                "INSERT INTO election_stations(election_id, id, name, kind, date_from, date_to, "
                "opens, closes, district_id, site_id, precincts, electors) "
                "VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                [
                    election.id,
                    s.id,
                    s.name,
                    s.kind,
                    s.date_from,
                    s.date_to,
                    s.opens,
                    s.closes,
                    s.district_id,
                    s.site_id,
                    json.dumps(list(s.precincts), ensure_ascii=False),
                    s.electors,
                ],
            )
            for van in s.vans:
                db.execute(
                    "INSERT INTO election_station_vans(election_id, station_id, van_id) "
                    "VALUES (?,?,?)",
                    [election.id, s.id, van],
                )


def get_election(db: sqlite_utils.Database, election_id: str) -> Election:
    """An election by id, with ballots and stations.

    Raises:
        NotFound: No such election.
    """
    row = db.execute(
        "SELECT id, name, election_day, early_from, early_to, closed, notes FROM elections "
        "WHERE id = ?",
        [election_id],
    ).fetchone()
    if row is None:
        raise NotFound(f"選挙が登録されていません: {election_id}")
    ballots = tuple(
        Ballot(kind, label, opens)
        for kind, label, opens in db.execute(
            "SELECT kind, label, opens_on FROM election_ballots WHERE election_id = ? "
            "ORDER BY sort, kind",
            [election_id],
        )
    )
    vans: dict[str, list[str]] = {}
    for sid, van in db.execute(
        "SELECT station_id, van_id FROM election_station_vans WHERE election_id = ? "
        "ORDER BY station_id, van_id",
        [election_id],
    ):
        vans.setdefault(sid, []).append(van)
    stations = tuple(
        Station(
            id=r[0],
            name=r[1],
            kind=r[2],
            date_from=r[3],
            date_to=r[4],
            opens=r[5],
            closes=r[6],
            district_id=r[7],
            site_id=r[8],
            precincts=tuple(json.loads(r[9])),
            electors=r[10],
            vans=tuple(vans.get(r[0], ())),
        )
        for r in db.execute(
            "SELECT id, name, kind, date_from, date_to, opens, closes, district_id, site_id, "
            "precincts, electors FROM election_stations WHERE election_id = ? "
            "ORDER BY date_from, id",
            [election_id],
        )
    )
    return Election(
        id=row[0],
        name=row[1],
        election_day=row[2],
        early_from=row[3],
        early_to=row[4],
        ballots=ballots,
        stations=stations,
        closed=bool(row[5]),
        notes=row[6],
    )


def list_elections(db: sqlite_utils.Database) -> list[Election]:
    """All elections, newest election day first."""
    ids = [r[0] for r in db.execute("SELECT id FROM elections ORDER BY election_day DESC, id")]
    return [get_election(db, i) for i in ids]


def export_election(db: sqlite_utils.Database, election_id: str) -> dict[str, Any]:
    """The election as a JSON-ready dict, for down-sync to the van."""
    return get_election(db, election_id).to_dict()


def import_election(db: sqlite_utils.Database, data: dict[str, Any]) -> Election:
    """Store an election received by down-sync (validated like a TOML file).

    When the hub has closed the election and this is a van, the van's copy of the roll
    is deleted in the same transaction.
    """
    election = election_from_dict(data)
    with write(db):
        save_election(db, election)
        if election.closed and role_of(db) == "van":
            delete_roll(db, election.id)
    return election


def current_station(
    db: sqlite_utils.Database,
    day: date | None = None,
    *,
    van_id: str | None = None,
    device_id: str | None = None,
    site_id: str | None = None,
) -> tuple[Election, Station] | None:
    """The open election and station this van serves on ``day`` (today, JST).

    Only stations assigned to this van (``van_id`` or ``device_id``) count when either
    is given; among them, one at the open stop's site (``site_id``) is preferred, then
    a mobile stop over a fixed station. None when no election that is not closed has a
    station of this van open that day.
    """
    today = day or jst_now().date()
    found: list[tuple[int, Election, Station]] = []
    for election in list_elections(db):
        if election.closed:
            continue
        for station in election.stations:
            if not station.open_on(today):
                continue
            if (van_id or device_id) and not station.served_by(device_id or "", van_id):
                continue
            if site_id and station.site_id and station.site_id != site_id:
                continue
            rank = (0 if site_id and station.site_id == site_id else 2) + (
                0 if station.kind == "mobile" else 1
            )
            found.append((rank, election, station))
    if not found:
        return None
    found.sort(key=lambda x: x[0])
    return found[0][1], found[0][2]


def assign_van(
    db: sqlite_utils.Database, election_id: str, station_id: str, van_id: str, *, on: bool = True
) -> Election:
    """Assign a van (or device) to a station, or remove it (``on=False``).

    Raises:
        NotFound: No such election or station.
        ValidationError: A van id that is not half-width alphanumeric.
    """
    election = get_election(db, election_id)
    election.station(station_id)
    if not _ID.match(van_id):
        raise ValidationError(f"車両IDは半角英数字です({van_id!r})", "van")
    with write(db):
        if on:
            db.execute(
                "INSERT OR IGNORE INTO election_station_vans(election_id, station_id, van_id) "
                "VALUES (?,?,?)",
                [election_id, station_id, van_id],
            )
        else:
            db.execute(
                "DELETE FROM election_station_vans WHERE election_id = ? AND station_id = ? "
                "AND van_id = ?",
                [election_id, station_id, van_id],
            )
    return get_election(db, election_id)


def jst_now(now: datetime | None = None) -> datetime:
    """``now`` (or the current time) in Japan Standard Time."""
    return (now or datetime.now(UTC)).astimezone(JST)
