"""Frozen, validated inputs of the tour planner.

Everything the model needs is collected into one :class:`PlanInput`: the sites and
districts (from the hub's master data), the vans, the working days with their
service windows, the travel times, the demand forecast and the pinned events. Each
dataclass checks itself on construction and raises :class:`PolicyError` with a
Japanese message a coordinator can act on.

Times of day are minutes after midnight (``int``); :func:`hhmm` and
:func:`parse_hhmm` convert.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from odekake.errors import OdekakeError

WEEKDAY_CHARS = "月火水木金土日"
_HHMM = re.compile(r"^(\d{1,2}):(\d{2})$")

ACTIVITY_REGULAR = "regular"
ACTIVITY_VOTING = "voting"
ACTIVITY_DISASTER = "disaster"
ACTIVITY_RESERVATION = "reservation"


class PolicyError(OdekakeError):
    """The policy file or the master data it refers to is wrong (one Japanese line)."""


# The driving models of the objective (``[objective] driving``); the first is the default.
DRIVING_MODES = ("approximate", "exact")


def parse_hhmm(text: str) -> int:
    """``"10:30"`` → 630 (minutes after midnight)."""
    m = _HHMM.match(str(text).strip())
    if not m or int(m.group(1)) > 24 or int(m.group(2)) > 59:
        raise PolicyError(f"時刻は HH:MM で書きます({text!r})")
    return int(m.group(1)) * 60 + int(m.group(2))


def hhmm(minutes: int) -> str:
    """630 → ``"10:30"``."""
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


@dataclass(frozen=True)
class Window:
    """A service window: the van is open for residents from ``start`` to ``end``."""

    start: int
    end: int

    def __post_init__(self) -> None:
        if not 0 <= self.start < self.end <= 24 * 60:
            raise PolicyError(f"受付時間帯 {hhmm(self.start)}-{hhmm(self.end)} が正しくありません")

    @property
    def label(self) -> str:
        """``"10:00-12:00"``."""
        return f"{hhmm(self.start)}-{hhmm(self.end)}"

    @classmethod
    def parse(cls, text: str) -> Window:
        """``"10:00-12:00"`` → Window."""
        parts = str(text).split("-")
        if len(parts) != 2:
            raise PolicyError(f"受付時間帯は 10:00-12:00 の形で書きます({text!r})")
        return cls(parse_hhmm(parts[0]), parse_hhmm(parts[1]))


@dataclass(frozen=True)
class Site:
    """A stop the van can serve (公民館, 集会所, …); it belongs to one district."""

    id: str
    district_id: str
    name: str
    lat: float
    lon: float
    open_weekdays: frozenset[int] = frozenset(range(5))
    open_from: int = 9 * 60
    open_to: int = 17 * 60

    def __post_init__(self) -> None:
        if not self.id:
            raise PolicyError("会場IDが空です")
        if self.open_from >= self.open_to:
            raise PolicyError(f"会場 {self.name} の利用可能時間が正しくありません")
        if any(not 0 <= w <= 6 for w in self.open_weekdays):
            raise PolicyError(f"会場 {self.name} の利用可能曜日が正しくありません")

    def is_open(self, day: date, window: Window) -> bool:
        """True when the site may be used for the whole window on that day."""
        return (
            day.weekday() in self.open_weekdays
            and self.open_from <= window.start
            and window.end <= self.open_to
        )


@dataclass(frozen=True)
class District:
    """A 地区 with its visit rules for the horizon."""

    id: str
    name: str
    lat: float
    lon: float
    population: int | None = None
    min_visits: int = 0
    max_visits: int = 99
    min_days_between: int = 1
    weight: float = 1.0

    def __post_init__(self) -> None:
        if self.min_visits < 0 or self.max_visits < 0:
            raise PolicyError(f"{self.name}の訪問回数は0以上です")
        if self.min_visits > self.max_visits:
            raise PolicyError(
                f"{self.name}の最低訪問回数({self.min_visits}回)が上限({self.max_visits}回)を超えています"
            )
        if self.min_days_between < 1:
            raise PolicyError(f"{self.name}の訪問間隔は1日以上です")
        if self.weight < 0:
            raise PolicyError(f"{self.name}の重みは0以上です")


@dataclass(frozen=True)
class Van:
    """A vehicle with its depot and daily shift (driving from and back to the depot)."""

    id: str
    name: str
    depot_name: str
    depot_lat: float
    depot_lon: float
    shift_start: int = 8 * 60 + 30
    shift_end: int = 17 * 60 + 15
    maintenance: frozenset[date] = frozenset()

    def __post_init__(self) -> None:
        if self.shift_start >= self.shift_end:
            raise PolicyError(f"車両 {self.name} の勤務時間が正しくありません")

    @property
    def depot(self) -> str:
        """The depot's node id in the travel matrix."""
        return depot_node(self.id)


def depot_node(van_id: str) -> str:
    """Travel-matrix node id of a van's depot."""
    return f"depot:{van_id}"


@dataclass(frozen=True)
class Day:
    """A day on which the vans may work, with its service windows (sorted, disjoint)."""

    date: date
    windows: tuple[Window, ...]
    opened: bool = False
    # Opened only for an early-voting day: only the voting van works that day.
    voting_only: bool = False

    def __post_init__(self) -> None:
        if not self.windows:
            raise PolicyError(f"{self.date} に受付時間帯がありません")
        prev: Window | None = None
        for w in self.windows:
            if prev is not None and w.start < prev.end:
                raise PolicyError(
                    f"{self.date} の受付時間帯 {prev.label} と {w.label} が重なるか順番が逆です"
                )
            prev = w


@dataclass(frozen=True)
class Stop:
    """A fixed stop of a pinned event: a site and a window."""

    site_id: str
    window: Window


@dataclass(frozen=True)
class PinnedEvent:
    """An event the plan must honour.

    ``kind`` is ``voting`` (the van serves exactly ``stops`` on ``date_from``),
    ``disaster`` (every window of every working day from ``date_from`` to
    ``date_to`` is a session at one of ``site_ids``; it takes priority over regular
    rounds and district minimums) or ``reservation`` (one visit to ``site_ids[0]``
    on some day between ``date_from`` and ``date_to``).
    """

    id: str
    kind: str
    date_from: date
    date_to: date
    label: str = ""
    van_id: str | None = None
    site_ids: tuple[str, ...] = ()
    stops: tuple[Stop, ...] = ()
    services: tuple[str, ...] = ()
    window: Window | None = None
    # Disaster: spread the sessions over the affected halls (each a fair share).
    spread: bool = True

    def __post_init__(self) -> None:
        if self.kind not in (ACTIVITY_VOTING, ACTIVITY_DISASTER, ACTIVITY_RESERVATION):
            raise PolicyError(f"固定予定の種類が不明です({self.kind})")
        if self.date_to < self.date_from:
            raise PolicyError(f"固定予定 {self.label or self.id} の期間が逆です")
        if self.kind == ACTIVITY_VOTING:
            if not self.stops:
                raise PolicyError(f"期日前投票 {self.label or self.id} に停車場所がありません")
            ws = sorted(s.window.start for s in self.stops)
            ends = sorted(s.window.end for s in self.stops)
            if any(ws[i + 1] < ends[i] for i in range(len(ws) - 1)):
                raise PolicyError(f"期日前投票 {self.label or self.id} の停車時間が重なっています")
        elif not self.site_ids:
            raise PolicyError(f"固定予定 {self.label or self.id} に会場がありません")
        if self.kind == ACTIVITY_RESERVATION and len(self.site_ids) != 1:
            raise PolicyError(f"予約訪問 {self.label or self.id} の会場は1か所です")


@dataclass(frozen=True)
class KeptVisit:
    """A visit of an earlier plan (``--keep``), as announced to residents."""

    date: date
    van_id: str
    window: Window
    site_id: str
    activity: str = ACTIVITY_REGULAR
    event_id: str | None = None


@dataclass(frozen=True)
class Pin:
    """A coordinator's hand edit: the plan must contain this regular visit
    (``[[pins]]``); any van unless ``van_id`` is given."""

    site_id: str
    date: date
    window: Window
    van_id: str | None = None
    note: str = ""


@dataclass(frozen=True)
class Forbid:
    """A coordinator's hand edit: no visit to these sites or districts on these days
    (``[[forbid]]``); e.g. the hall is taken by a festival."""

    dates: frozenset[date]
    site_ids: frozenset[str] = frozenset()
    district_ids: frozenset[str] = frozenset()
    note: str = ""

    def __post_init__(self) -> None:
        if not self.site_ids and not self.district_ids:
            raise PolicyError("[[forbid]] には site か district を書きます")
        if not self.dates:
            raise PolicyError("[[forbid]] には dates か from(と to)を書きます")

    def applies(self, site: Site, day: date) -> bool:
        """True when a visit to ``site`` on ``day`` is forbidden."""
        return day in self.dates and (
            site.id in self.site_ids or site.district_id in self.district_ids
        )


@dataclass(frozen=True)
class Weights:
    """Objective weights, in "expected residents served" units."""

    users: float = 1.0
    travel_per_minute: float = 0.02
    moved_visit: float = 5.0
    shortfall: float = 1000.0

    def __post_init__(self) -> None:
        if min(self.users, self.travel_per_minute, self.moved_visit, self.shortfall) < 0:
            raise PolicyError("重み(weights)は0以上です")


@dataclass(frozen=True)
class Policy:
    """The rules of one planning run."""

    horizon_start: date
    horizon_end: date
    setup_minutes: int = 15
    teardown_minutes: int = 15
    diminishing: tuple[float, ...] = (1.0, 0.7, 0.4)
    weights: Weights = field(default_factory=Weights)
    services: tuple[str, ...] = ("certificate", "mynumber", "garbage", "consultation", "frailty")
    replan_from: date | None = None
    sites_per_district: int = 0
    drop_dominated: bool = True
    # How driving enters the objective: "approximate" (a round trip per district and
    # day plus each site's detour; fast) or "exact" (the day's order, stop to stop).
    driving: str = "approximate"

    def __post_init__(self) -> None:
        if self.driving not in DRIVING_MODES:
            raise PolicyError(
                f"objective.driving は {' か '.join(DRIVING_MODES)} です({self.driving!r})"
            )
        if self.sites_per_district < 0:
            raise PolicyError("sites.per_district は0(すべて)以上です")
        if self.horizon_end < self.horizon_start:
            raise PolicyError("計画期間の終了日が開始日より前です")
        if self.setup_minutes < 0 or self.teardown_minutes < 0:
            raise PolicyError("準備・片付けの時間は0分以上です")
        if not self.diminishing or any(f < 0 for f in self.diminishing):
            raise PolicyError("diminishing(2回目以降の需要の割合)は0以上の数の並びです")
        if any(b > a for a, b in zip(self.diminishing, self.diminishing[1:], strict=False)):
            raise PolicyError("diminishing は回を重ねるごとに減る(増えない)値にしてください")

    @property
    def horizon_days(self) -> int:
        """Calendar days in the horizon."""
        return (self.horizon_end - self.horizon_start).days + 1


@dataclass(frozen=True)
class PlanInput:
    """Everything :func:`planner.model.build` needs, checked for consistency."""

    policy: Policy
    districts: tuple[District, ...]
    sites: tuple[Site, ...]
    vans: tuple[Van, ...]
    days: tuple[Day, ...]
    travel: Mapping[tuple[str, str], int]
    demand: Mapping[str, float]
    events: tuple[PinnedEvent, ...] = ()
    keep: tuple[KeptVisit, ...] = ()
    demand_notes: Mapping[str, str] = field(default_factory=dict)
    pins: tuple[Pin, ...] = ()
    forbids: tuple[Forbid, ...] = ()
    # Remarks found while reading the policy (a range cut to the horizon, …), for plan.json.
    notes: tuple[str, ...] = ()
    # How ``travel`` was priced (a planner.travel.TravelModel), stored with the plan so
    # that hand edits and imports price their legs the same way; None for hand-built input.
    travel_model: Any = None

    def __post_init__(self) -> None:
        if not self.vans:
            raise PolicyError("車両が1台もありません")
        if not self.days:
            raise PolicyError("計画期間に稼働日が1日もありません")
        dist_ids = {d.id for d in self.districts}
        site_ids = set()
        for s in self.sites:
            if s.district_id not in dist_ids:
                raise PolicyError(f"会場 {s.name} の地区 {s.district_id} がありません")
            if s.id in site_ids:
                raise PolicyError(f"会場ID {s.id} が重複しています")
            site_ids.add(s.id)
        van_ids = {v.id for v in self.vans}
        for e in self.events:
            if e.van_id is not None and e.van_id not in van_ids:
                raise PolicyError(f"固定予定 {e.label or e.id} の車両 {e.van_id} がありません")
            for sid in (*e.site_ids, *(s.site_id for s in e.stops)):
                if sid not in site_ids:
                    raise PolicyError(f"固定予定 {e.label or e.id} の会場 {sid} がありません")
        for p in self.pins:
            if p.site_id not in site_ids:
                raise PolicyError(f"[[pins]] の会場 {p.site_id} がありません")
            if p.van_id is not None and p.van_id not in van_ids:
                raise PolicyError(f"[[pins]] の車両 {p.van_id} がありません")
        for f in self.forbids:
            for sid in sorted(f.site_ids - site_ids):
                raise PolicyError(f"[[forbid]] の会場 {sid} がありません")
            for did in sorted(f.district_ids - dist_ids):
                raise PolicyError(f"[[forbid]] の地区 {did} がありません")
        nodes = site_ids | {v.depot for v in self.vans}
        for a in nodes:
            for b in nodes:
                if a != b and (a, b) not in self.travel:
                    raise PolicyError(f"移動時間が分かりません: {a} → {b}")
        for d in self.districts:
            if d.id not in self.demand:
                raise PolicyError(f"{d.name}の需要予測がありません")
        # Lookup tables (the dataclass stays frozen; these are derived, not inputs).
        object.__setattr__(self, "_sites", {s.id: s for s in self.sites})
        object.__setattr__(self, "_districts", {d.id: d for d in self.districts})
        object.__setattr__(self, "_vans", {v.id: v for v in self.vans})

    def site(self, site_id: str) -> Site:
        """A site by id."""
        found: Site | None = self._sites.get(site_id)  # type: ignore[attr-defined]
        if found is not None:
            return found
        raise PolicyError(f"会場 {site_id} がありません")

    def district(self, district_id: str) -> District:
        """A district by id."""
        found: District | None = self._districts.get(district_id)  # type: ignore[attr-defined]
        if found is not None:
            return found
        raise PolicyError(f"地区 {district_id} がありません")

    def van(self, van_id: str) -> Van:
        """A van by id."""
        found: Van | None = self._vans.get(van_id)  # type: ignore[attr-defined]
        if found is not None:
            return found
        raise PolicyError(f"車両 {van_id} がありません")

    def forbidden(self, site_id: str, day: date) -> bool:
        """True when a ``[[forbid]]`` rules out a visit to the site that day."""
        if not self.forbids:
            return False
        site = self.site(site_id)
        return any(f.applies(site, day) for f in self.forbids)

    def minutes(self, a: str, b: str) -> int:
        """Travel minutes between two nodes (site ids or depot nodes)."""
        return 0 if a == b else int(self.travel[(a, b)])
