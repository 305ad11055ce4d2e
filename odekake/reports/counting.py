"""Counting the record log: sessions (回) and people served (利用者) per stop.

Pure aggregation with the semantics of :func:`odekake.storage.records.iter_records` +
:func:`odekake.storage.records.effective` (corrections replace, voids remove).
:func:`count_records` is that reference over ``Record`` objects;
:func:`count_period` computes the same in SQLite for speed (a fiscal year of
100,000 records), and the tests check on messy logs that the two agree. The rules
(see ``docs/reports.md``):

- one 回 is one effective ``stop.open``, in the period by its ``date`` (local JST);
- one 利用者 is the ``people`` (default 1) of one effective service record, counted
  under the category :data:`odekake.masterdata.catalog.SERVICE_RECORD_TYPES` gives its type, on
  the stop its ``stop_id`` names;
- a category is *offered* at a stop when it is in the stop's ``services`` list
  (or was actually used there).

The same code gives the van's day close (:func:`day_summary`) and the summary of
one stop (:func:`stop_summary`).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta, timezone

import sqlite_utils

from odekake.errors import NotFound, ValidationError
from odekake.masterdata.catalog import (
    ACTIVITIES,
    CATEGORIES,
    SERVICE_RECORD_TYPES,
    STOP_CLOSE,
    STOP_OPEN,
)
from odekake.masterdata.wareki import both_date, fiscal_year_label, month_label
from odekake.storage.records import VOID, Record, effective

JST = timezone(timedelta(hours=9), "JST")


@dataclass(frozen=True)
class Period:
    """A closed range of local (JST) days a report covers."""

    start: date
    end: date
    kind: str = "range"  # "month" | "fiscal_year" | "range" | "day"

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValidationError(
                f"期間の終わり({self.end.isoformat()})が始まり({self.start.isoformat()})より前です"
            )

    @classmethod
    def month(cls, year: int, month: int) -> Period:
        """A calendar month."""
        if not 1 <= month <= 12:
            raise ValidationError(f"月は1〜12で指定してください: {month}")
        nxt = date(year + (month == 12), month % 12 + 1, 1)
        return cls(date(year, month, 1), nxt - timedelta(days=1), "month")

    @classmethod
    def fiscal_year(cls, fy: int) -> Period:
        """April 1 of ``fy`` to March 31 of the next year."""
        return cls(date(fy, 4, 1), date(fy + 1, 3, 31), "fiscal_year")

    @classmethod
    def day(cls, day: date) -> Period:
        """One day."""
        return cls(day, day, "day")

    def contains(self, day: date) -> bool:
        """True when ``day`` lies in the period."""
        return self.start <= day <= self.end

    def covers(self, other: Period) -> bool:
        """True when ``other`` lies wholly inside this period."""
        return self.start <= other.start and other.end <= self.end

    def overlaps(self, other: Period) -> bool:
        """True when the two periods share at least one day."""
        return self.start <= other.end and other.start <= self.end

    def months(self) -> list[tuple[int, int]]:
        """The (year, month) pairs the period touches, in order."""
        out: list[tuple[int, int]] = []
        y, m = self.start.year, self.start.month
        while (y, m) <= (self.end.year, self.end.month):
            out.append((y, m))
            y, m = (y + 1, 1) if m == 12 else (y, m + 1)
        return out

    def is_whole_month(self) -> bool:
        """True when the period is exactly one calendar month."""
        p = Period.month(self.start.year, self.start.month)
        return (p.start, p.end) == (self.start, self.end)

    def label(self) -> str:
        """The heading people read, in Western and 和暦 form."""
        if self.kind == "fiscal_year" or (
            self.start.month == 4
            and self.start.day == 1
            and self.end == date(self.start.year + 1, 3, 31)
        ):
            return fiscal_year_label(self.start.year)
        if self.is_whole_month():
            return month_label(self.start.year, self.start.month)
        return self.range_label()

    def range_label(self) -> str:
        """``2023年4月1日(令和5年4月1日)〜2024年3月31日(令和6年3月31日)``."""
        if self.start == self.end:
            return both_date(self.start)
        return f"{both_date(self.start)}〜{both_date(self.end)}"


@dataclass
class StopCount:
    """One effective stop (one 回) and what was served there."""

    stop_id: str
    activity: str
    district_id: str
    day: date
    site_name: str = ""
    window: str = ""
    van_id: str = ""
    closed_at: str | None = None
    services: tuple[str, ...] = ()
    people: Counter[str] = field(default_factory=Counter)
    records: Counter[str] = field(default_factory=Counter)
    amounts: Counter[str] = field(default_factory=Counter)
    units: Counter[str] = field(default_factory=Counter)  # certificate copies, tickets
    fees: Counter[tuple[str, str]] = field(default_factory=Counter)  # (category, payment) → yen

    @property
    def offered(self) -> set[str]:
        """Categories offered: listed in ``services`` or actually served."""
        return set(self.services) | {c for c, n in self.people.items() if n}

    @property
    def activity_label(self) -> str:
        """The activity's Japanese name."""
        return ACTIVITIES.get(self.activity, self.activity)

    @property
    def served(self) -> int:
        """Residents served (every category except 説明/見学 visitors)."""
        return sum(n for c, n in self.people.items() if c != "explanation")


@dataclass
class Counts:
    """The stops of a period, and what could not be placed in it."""

    period: Period
    stops: list[StopCount]
    orphans: int = 0  # service records whose stop_id names no effective stop
    purged: int = 0  # records whose payload was blanked by the retention purge


_TYPES = (STOP_OPEN, STOP_CLOSE, VOID, *SERVICE_RECORD_TYPES)
_UNIT_TYPES = ("certificate.issue", "garbage.sell")  # records with copies / quantity


def _parse_day(text: object) -> date | None:
    try:
        return date.fromisoformat(str(text))
    except ValueError:
        return None


def count_records(records: Iterable[Record], period: Period) -> Counts:
    """Aggregate already-read records (all of them: corrections may come later).

    Args:
        records: Every record of the relevant types, in any order, including
            ``record.void`` records and corrections.
        period: Only stops whose local ``date`` falls in it are counted.

    Returns:
        The stops in the period with people per category.
    """
    live = effective(records)
    all_stops: dict[str, StopCount] = {}
    purged = 0
    order: dict[str, str] = {}
    for r in live:
        if r.type != STOP_OPEN:
            continue
        p = r.payload
        if p is None:
            purged += 1
            continue
        day = _parse_day(p.get("date"))
        sid = str(p.get("stop_id", ""))
        if day is None or not sid:
            continue
        # A stop id is unique; should a duplicate ever arrive, the later one wins.
        if sid in order and order[sid] > r.hlc:
            continue
        order[sid] = r.hlc
        all_stops[sid] = StopCount(
            stop_id=sid,
            activity=str(p.get("activity", "regular")),
            district_id=str(p.get("district_id", "")),
            day=day,
            site_name=str(p.get("site_name", "")),
            window=str(p.get("window", "")),
            van_id=str(p.get("van_id", "")),
            services=tuple(str(s) for s in p.get("services") or ()),
        )
    orphans = 0
    for r in live:
        if r.type == STOP_OPEN:
            continue
        p = r.payload
        if p is None:
            purged += 1
            continue
        stop = all_stops.get(str(p.get("stop_id", "")))
        if r.type == STOP_CLOSE:
            if stop is not None:
                stop.closed_at = str(p.get("closed_at", "")) or None
            continue
        category = SERVICE_RECORD_TYPES.get(r.type)
        if category is None:
            continue
        if stop is None:
            orphans += 1
            continue
        if not period.contains(stop.day):
            continue
        people = p.get("people", 1)
        stop.people[category] += int(people) if people is not None else 1
        stop.records[category] += 1
        units = p.get("copies") if r.type in _UNIT_TYPES else None
        if units is None and r.type in _UNIT_TYPES:
            units = p.get("quantity")
        stop.units[category] += int(units) if isinstance(units, int) else 1
        amount = p.get("amount")
        if isinstance(amount, int) and amount:
            stop.amounts[str(p.get("payment", "cash"))] += amount
            stop.fees[(category, str(p.get("payment", "cash")))] += amount
    stops = sorted(
        (s for s in all_stops.values() if period.contains(s.day)),
        key=lambda s: (s.day, s.window, s.stop_id),
    )
    return Counts(period=period, stops=stops, orphans=orphans, purged=purged)


def count_period(db: sqlite_utils.Database, period: Period) -> Counts:
    """Count the stops of ``period`` straight from the database.

    The same rules as :func:`count_records` over ``iter_records`` + ``effective``
    (a record superseded by a correction or a void drops out; voids count as
    nothing), but SQLite drops the superseded records and sums the service records
    per stop, so Python never parses 100,000 payloads. The tests check on varied
    logs (corrections of corrections, voids, purges, orphans, duplicate stop ids)
    that both give the same counts.
    """
    types = list(_TYPES)
    marks = ", ".join("?" * len(types))
    # "+r.type": a full scan beats hopping through the type index for most of the table.
    live = (
        f"SELECT id, type, hlc, payload FROM records r WHERE +r.type IN ({marks}) "
        f"AND r.type != ? AND NOT EXISTS (SELECT 1 FROM records s WHERE s.supersedes = r.id "
        f"AND s.type IN ({marks}))"
    )
    params = [*types, VOID, *types]
    all_stops: dict[str, StopCount] = {}
    order: dict[str, str] = {}
    closes: list[tuple[str, str | None]] = []
    purged = 0
    for (
        gone,
        rtype,
        hlc,
        sid,
        activity,
        district,
        day_text,
        services,
        site,
        window,
        van,
        closed,
    ) in db.execute(
        f"WITH live AS ({live}) SELECT payload IS NULL, type, hlc, "
        "json_extract(payload, '$.stop_id'), "
        "json_extract(payload, '$.activity'), json_extract(payload, '$.district_id'), "
        "json_extract(payload, '$.date'), json_extract(payload, '$.services'), "
        "json_extract(payload, '$.site_name'), json_extract(payload, '$.window'), "
        "json_extract(payload, '$.van_id'), json_extract(payload, '$.closed_at') "
        "FROM live WHERE type IN (?, ?)",
        [*params, STOP_OPEN, STOP_CLOSE],
    ):
        if gone:
            purged += 1  # blanked by the retention purge
            continue
        if not sid:
            continue
        if rtype == STOP_CLOSE:
            closes.append((str(sid), str(closed) if closed else None))
            continue
        day = _parse_day(day_text)
        if day is None or (sid in order and order[sid] > hlc):
            continue
        order[str(sid)] = hlc
        all_stops[str(sid)] = StopCount(
            stop_id=str(sid),
            activity=str(activity if activity is not None else "regular"),
            district_id=str(district if district is not None else ""),
            day=day,
            site_name=str(site or ""),
            window=str(window or ""),
            van_id=str(van or ""),
            services=tuple(str(x) for x in (json.loads(services) if services else ())),
        )
    for sid, closed_at in closes:
        stop = all_stops.get(sid)
        if stop is not None:
            stop.closed_at = closed_at
    service_types = list(SERVICE_RECORD_TYPES)
    orphans = 0
    for is_purged, sid, rtype, payment, n, people, amount, units in db.execute(
        f"WITH live AS ({live}) SELECT payload IS NULL, json_extract(payload, '$.stop_id') AS sid, "
        "type, COALESCE(json_extract(payload, '$.payment'), 'cash') AS pay, COUNT(*), "
        "SUM(COALESCE(json_extract(payload, '$.people'), 1)), "
        "SUM(CASE WHEN json_type(payload, '$.amount') = 'integer' "
        "THEN json_extract(payload, '$.amount') ELSE 0 END), "
        # Copies/tickets only where they exist: every json_* call parses the payload again.
        # (the payload is parsed once into a two-item array, which is cheap to read)
        "SUM(CASE WHEN type NOT IN ('certificate.issue', 'garbage.sell') THEN 1 ELSE ("
        "SELECT CASE WHEN typeof(c) = 'integer' THEN c "
        "WHEN c IS NULL AND typeof(q) = 'integer' THEN q ELSE 1 END "
        "FROM (SELECT json_extract(u, '$[0]') AS c, json_extract(u, '$[1]') AS q "
        "FROM (SELECT json_extract(payload, '$.copies', '$.quantity') AS u))) END) "
        f"FROM live WHERE type IN ({', '.join('?' * len(service_types))}) "
        "GROUP BY payload IS NULL, sid, type, pay",
        [*params, *service_types],
    ):
        if is_purged:
            purged += int(n)
            continue
        stop = all_stops.get(str(sid)) if sid is not None else None
        if stop is None:
            orphans += int(n)
            continue
        if not period.contains(stop.day):
            continue
        category = SERVICE_RECORD_TYPES[rtype]
        stop.people[category] += int(people)
        stop.records[category] += int(n)
        stop.units[category] += int(units)
        if amount:
            stop.amounts[str(payment)] += int(amount)
            stop.fees[(category, str(payment))] += int(amount)
    stops = sorted(
        (s for s in all_stops.values() if period.contains(s.day)),
        key=lambda s: (s.day, s.window, s.stop_id),
    )
    return Counts(period=period, stops=stops, orphans=orphans, purged=purged)


# ---------------------------------------------------------------- the van's day


@dataclass
class DaySummary:
    """The 日計表: every stop of one day and the totals by category."""

    day: date
    stops: list[StopCount]

    @property
    def sessions(self) -> int:
        """Stops opened that day."""
        return len(self.stops)

    @property
    def people(self) -> Counter[str]:
        """People per category over the day."""
        total: Counter[str] = Counter()
        for s in self.stops:
            total.update(s.people)
        return total

    @property
    def amounts(self) -> Counter[str]:
        """Fees taken by payment method (``cash``/``cashless``), in yen."""
        total: Counter[str] = Counter()
        for s in self.stops:
            total.update(s.amounts)
        return total

    def lines(self) -> list[tuple[str, int]]:
        """(category label, people) for every category with at least one person."""
        people = self.people
        return [(label, people[c]) for c, label in CATEGORIES.items() if people[c]]


def day_summary(db: sqlite_utils.Database, day: date) -> DaySummary:
    """Every stop opened on a local (JST) day, with people per category and fees."""
    counts = count_period(db, Period.day(day))
    return DaySummary(day=day, stops=counts.stops)


def stop_summary(db: sqlite_utils.Database, stop_id: str) -> StopCount:
    """One stop's people per category (and fees), for closing the stop on the van.

    Raises:
        NotFound: No effective ``stop.open`` has this id.
    """
    days = {
        d
        for (text,) in db.execute(
            "SELECT json_extract(payload, '$.date') FROM records WHERE type = ? "
            "AND json_extract(payload, '$.stop_id') = ?",
            [STOP_OPEN, stop_id],
        )
        if (d := _parse_day(text)) is not None
    }
    for day in sorted(days):
        for s in count_period(db, Period.day(day)).stops:
            if s.stop_id == stop_id:
                return s
    raise NotFound(f"停車記録(運行)がありません: {stop_id}")
