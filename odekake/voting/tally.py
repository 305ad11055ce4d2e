"""Hourly tallies of an election at the hub, from records only.

Counting rules (also in ``docs/voting.md``). People are counted, not records:

- 男 / 女 / 計 (voters): each voter once — the hub's one vote per voter and election
  (``vote_checkins``: a confirmed check-in not released, or a provisional vote
  registered at reconcile), at the station and hour of that vote, by sex; 累計 is the
  running total of 計 within the station. A second event for a voter (a 仮投票 after a
  check-in, a second 仮投票, an invalid record) is an incident, listed apart, never a
  voter.
- 名簿対照 (roll checks): the hub's ``vote.checkin`` records, by the hour of the
  check-in (JST); 取りやめ: those released by 交付取りやめ (``vote.released``), by the
  hour of the check-in they release.
- 仮投票 (provisional votes): ``vote.provisional`` records synced from the vans, by
  the hour the van recorded them; 仮投票(数えない): those that became incidents.
- 交付 (ballots handed out): the vans' ``vote.cast`` records, by the hour they were
  recorded. 差 = 交付 − (名簿対照 − 取りやめ): anything but 0 is the hourly comparison
  that finds errors (a ballot handed out without a check, or a check with no ballot
  recorded).
- Per station the three reconcile: 計 = 名簿対照 − 取りやめ + (仮投票 − 仮投票(数えない)).
- Turnout of a station: its voters / its electors (the station's ``electors`` if set,
  otherwise the roll entries of its 投票区); overall: distinct voters / the whole roll;
  to one decimal, rounded half up.

Each station lists every hour of its opening time on each day it has events (a van
stop: its one day always), plus any hour outside opening time that has an event.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

import sqlite_utils

from odekake.storage import records as rec
from odekake.voting.checkin.kinds import CAST, CHECKIN, HUB_DEVICE, PROVISIONAL, RELEASED
from odekake.voting.elections import JST, Election, Station, get_election
from odekake.voting.roll import roll_size, sex_of


@dataclass(frozen=True)
class HourRow:
    """One hour of one station."""

    day: str
    hour: int
    men: int
    women: int
    total: int
    cumulative: int
    roll_checks: int
    provisional: int
    handed_out: int
    released: int = 0
    provisional_uncounted: int = 0

    @property
    def label(self) -> str:
        """``10:00-11:00``."""
        return f"{self.hour:02d}:00-{self.hour + 1:02d}:00"

    @property
    def diff(self) -> int:
        """Ballots handed out minus roll checks still standing (0 when they agree)."""
        return self.handed_out - (self.roll_checks - self.released)


@dataclass
class StationTally:
    """The hourly table and the turnout of one station."""

    station: Station
    rows: list[HourRow] = field(default_factory=list)
    electors: int | None = None

    def _sum(self, name: str) -> int:
        return sum(int(getattr(r, name)) for r in self.rows)

    @property
    def men(self) -> int:
        """Men who voted."""
        return self._sum("men")

    @property
    def women(self) -> int:
        """Women who voted."""
        return self._sum("women")

    @property
    def total(self) -> int:
        """Voters (roll checks + provisional)."""
        return self._sum("total")

    @property
    def roll_checks(self) -> int:
        """Roll checks confirmed by the hub."""
        return self._sum("roll_checks")

    @property
    def provisional(self) -> int:
        """Provisional votes."""
        return self._sum("provisional")

    @property
    def handed_out(self) -> int:
        """Ballots handed out (van records)."""
        return self._sum("handed_out")

    @property
    def released(self) -> int:
        """Roll checks released by 交付取りやめ."""
        return self._sum("released")

    @property
    def provisional_uncounted(self) -> int:
        """Provisional votes that became incidents (not voters)."""
        return self._sum("provisional_uncounted")

    @property
    def diff(self) -> int:
        """Ballots handed out minus roll checks still standing."""
        return self.handed_out - (self.roll_checks - self.released)

    @property
    def reconciled(self) -> bool:
        """計 = 名簿対照 − 取りやめ + counted 仮投票 (true unless the data is damaged)."""
        counted = self.provisional - self.provisional_uncounted
        return self.total == self.roll_checks - self.released + counted

    @property
    def turnout(self) -> Decimal | None:
        """Voters / electors in percent, one decimal, half up; None without electors."""
        return _percent(self.total, self.electors)

    @property
    def turnout_label(self) -> str:
        """``17.9%`` or ``—``."""
        return _percent_label(self.turnout)


def _percent(count: int, of: int | None) -> Decimal | None:
    if not of:
        return None
    pct = Decimal(count) * 100 / Decimal(of)
    return pct.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def _percent_label(value: Decimal | None) -> str:
    return "—" if value is None else f"{value}%"


@dataclass
class ElectionTally:
    """All stations of one election, and the distinct voters over all of them."""

    election: Election
    stations: list[StationTally]
    incidents: int = 0
    voters: int = 0
    electors: int | None = None

    @property
    def turnout_label(self) -> str:
        """Distinct voters / the whole roll (``62.5%``), or ``—`` without a roll."""
        return _percent_label(_percent(self.voters, self.electors))


def _jst(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(JST)


def tally(db: sqlite_utils.Database, election_id: str) -> ElectionTally:
    """Count an election's voters (people), roll checks, 仮投票 and ballots per station and hour."""
    election = get_election(db, election_id)
    # (station, day, hour) -> counters
    counts: dict[tuple[str, str, int], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    sexes: dict[str, str] = {}
    types = [CHECKIN, PROVISIONAL, CAST, RELEASED]
    for r in rec.effective(rec.iter_records(db, types=types)):
        p = r.payload or {}
        if p.get("election_id") != election_id:
            continue
        if r.type in (CHECKIN, RELEASED) and r.device_id != HUB_DEVICE:
            continue  # only the hub decides a check-in or its release
        sexes[r.id] = str(p.get("sex", ""))
        if r.type == RELEASED:
            when = _jst(str(p.get("checked_at") or r.wall_time))
        elif r.type != CAST and "at" in p:
            when = _jst(p["at"])
        else:
            when = _jst(r.wall_time)
        key = (str(p.get("station_id", "")), when.date().isoformat(), when.hour)
        name = {CAST: "handed_out", CHECKIN: "roll_checks", RELEASED: "released"}
        counts[key][name.get(r.type, "provisional")] += 1
    uncounted = {
        str(row[0])
        for row in db.execute(
            "SELECT record_id FROM vote_reconciled WHERE election_id = ? AND type = ? "
            "AND outcome != 'registered'",
            [election_id, PROVISIONAL],
        )
    }
    for record_id in uncounted:
        r = rec.get(db, record_id)
        p = r.payload or {}
        when = _jst(str(p.get("at") or r.wall_time))
        key = (str(p.get("station_id", "")), when.date().isoformat(), when.hour)
        counts[key]["provisional_uncounted"] += 1
    # People: the hub's one vote per voter (UNIQUE), where and when it was counted.
    voters = db.execute(
        "SELECT voter_no, station_id, checked_at, record_id FROM vote_checkins "
        "WHERE election_id = ?",
        [election_id],
    ).fetchall()
    for voter_no, station_id, checked_at, record_id in voters:
        when = _jst(str(checked_at))
        c = counts[(str(station_id), when.date().isoformat(), when.hour)]
        sex = sexes.get(str(record_id)) or sex_of(db, election_id, str(voter_no)) or ""
        c["men" if sex == "M" else "women" if sex == "F" else "unknown"] += 1
        c["voters"] += 1
    out: list[StationTally] = []
    for station in election.stations:
        days: dict[str, set[int]] = defaultdict(set)
        if station.kind == "mobile":
            days[station.date_from]
        for sid, day, hour in counts:
            if sid == station.id:
                days[day].add(hour)
        first = int(station.opens[:2])
        last = int(station.closes[:2]) - (1 if station.closes.endswith(":00") else 0)
        st = StationTally(station)
        running = 0
        for day in sorted(days):
            for hour in sorted(days[day] | set(range(first, last + 1))):
                c = counts.get((station.id, day, hour), {})
                total = c.get("voters", 0)
                running += total
                st.rows.append(
                    HourRow(
                        day=day,
                        hour=hour,
                        men=c.get("men", 0),
                        women=c.get("women", 0),
                        total=total,
                        cumulative=running,
                        roll_checks=c.get("roll_checks", 0),
                        provisional=c.get("provisional", 0),
                        handed_out=c.get("handed_out", 0),
                        released=c.get("released", 0),
                        provisional_uncounted=c.get("provisional_uncounted", 0),
                    )
                )
        if station.electors is not None:
            st.electors = station.electors
        elif station.precincts:
            st.electors = roll_size(db, election_id, station.precincts)
        out.append(st)
    n_incidents = db.execute(
        "SELECT COUNT(*) FROM vote_incidents WHERE election_id = ?", [election_id]
    ).fetchone()[0]
    whole = roll_size(db, election_id)
    return ElectionTally(election, out, int(n_incidents), len(voters), whole or None)
