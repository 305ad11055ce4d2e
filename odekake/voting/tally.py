"""Hourly tallies of an election at the hub, from records only.

Counting rules (also in ``docs/voting.md``):

- 名簿対照 (roll checks): the hub's ``vote.checkin`` records, by the hour of the
  check-in (JST).
- 仮投票 (provisional votes): ``vote.provisional`` records synced from the vans, by
  the hour the van recorded them.
- 男 / 女 / 計 (voters): roll checks + provisional votes, by sex; 累計 is the running
  total of 計 within the station.
- 交付 (ballots handed out): the vans' ``vote.cast`` records, by the hour they were
  recorded. 差 = 交付 − 名簿対照: anything but 0 is the hourly comparison that finds
  errors (a ballot handed out without a check, or a check with no ballot recorded).
- Turnout of a station: its voters / its electors (the station's ``electors`` if set,
  otherwise the roll entries of its 投票区), to one decimal, rounded half up.

Each station lists every hour of its opening time on each day it has events (a van
stop: its one day always), plus any hour outside opening time that has an event.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

import sqlite_utils

from odekake import records as rec
from odekake.voting.checkin import CAST, CHECKIN, HUB_DEVICE, PROVISIONAL
from odekake.voting.elections import JST, Election, Station, get_election
from odekake.voting.roll import roll_size


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

    @property
    def label(self) -> str:
        """``10:00-11:00``."""
        return f"{self.hour:02d}:00-{self.hour + 1:02d}:00"

    @property
    def diff(self) -> int:
        """Ballots handed out minus roll checks (0 when they agree)."""
        return self.handed_out - self.roll_checks


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
    def turnout(self) -> Decimal | None:
        """Voters / electors in percent, one decimal, half up; None without electors."""
        if not self.electors:
            return None
        pct = Decimal(self.total) * 100 / Decimal(self.electors)
        return pct.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)

    @property
    def turnout_label(self) -> str:
        """``17.9%`` or ``—``."""
        t = self.turnout
        return "—" if t is None else f"{t}%"


@dataclass
class ElectionTally:
    """All stations of one election."""

    election: Election
    stations: list[StationTally]
    incidents: int = 0


def _jst(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(JST)


def tally(db: sqlite_utils.Database, election_id: str) -> ElectionTally:
    """Count an election's check-ins, provisional votes and ballots per station and hour."""
    election = get_election(db, election_id)
    # (station, day, hour) -> counters
    counts: dict[tuple[str, str, int], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    records = rec.effective(rec.iter_records(db, types=[CHECKIN, PROVISIONAL, CAST]))
    for r in records:
        p = r.payload or {}
        if p.get("election_id") != election_id:
            continue
        if r.type == CHECKIN and r.device_id != HUB_DEVICE:
            continue  # only the hub decides a check-in
        when = _jst(p["at"]) if r.type != CAST and "at" in p else _jst(r.wall_time)
        key = (str(p.get("station_id", "")), when.date().isoformat(), when.hour)
        c = counts[key]
        if r.type == CAST:
            c["handed_out"] += 1
            continue
        c["roll_checks" if r.type == CHECKIN else "provisional"] += 1
        c["men" if p.get("sex") == "M" else "women" if p.get("sex") == "F" else "unknown"] += 1
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
                total = c.get("roll_checks", 0) + c.get("provisional", 0)
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
    return ElectionTally(election, out, int(n_incidents))
