"""The result of a planning run: visits, per-district totals and the solver's report."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from odekake.catalog import ACTIVITIES, CATEGORIES


@dataclass(frozen=True)
class PlanVisit:
    """One stop of a van: where and when it serves residents."""

    date: str
    van_id: str
    window: str
    start: str
    end: str
    site_id: str
    site_name: str
    district_id: str
    district_name: str
    activity: str
    arrive: str
    depart: str
    order: int
    opened_day: bool
    travel_minutes: int
    services: tuple[str, ...] = ()
    event_id: str = ""
    label: str = ""
    expected_users: float = 0.0

    @property
    def activity_label(self) -> str:
        """Japanese name of the activity (地区定期巡回, …)."""
        return ACTIVITIES.get(self.activity, self.activity)

    @property
    def services_label(self) -> str:
        """Japanese list of the services offered."""
        return "・".join(CATEGORIES.get(s, s) for s in self.services)

    def to_dict(self) -> dict[str, Any]:
        """JSON form (``opened_day`` only when true, as the plan format says)."""
        d = asdict(self)
        d["services"] = list(self.services)
        d["expected_users"] = round(self.expected_users, 2)
        if not self.opened_day:
            d.pop("opened_day")
        return d


@dataclass(frozen=True)
class DistrictTotal:
    """How many visits a district got and the residents expected."""

    district_id: str
    name: str
    visits: int
    stops: int
    expected_users: float
    min_visits: int
    max_visits: int
    shortfall: int = 0

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        d = asdict(self)
        d["expected_users"] = round(self.expected_users, 2)
        return d


@dataclass(frozen=True)
class SolverReport:
    """What the solver proved: objective, bound, relative gap, time."""

    name: str
    status: str
    objective: float
    bound: float | None
    gap: float | None
    seconds: float
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        d: dict[str, Any] = {
            "name": self.name,
            "status": self.status,
            "objective": round(self.objective, 6),
            "bound": None if self.bound is None else round(self.bound, 6),
            "gap": None if self.gap is None else round(self.gap, 8),
            "seconds": round(self.seconds, 3),
        }
        if self.note:
            d["note"] = self.note
        return d


@dataclass
class Plan:
    """A solved plan."""

    id: str
    created_at: str
    horizon_start: str
    horizon_end: str
    visits: list[PlanVisit]
    districts: list[DistrictTotal]
    solver: SolverReport
    moved: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    explanations: dict[str, str] = field(default_factory=dict)
    replan_from: str | None = None
    # Minutes driven per van and day (depot → stops → depot): {"date", "van_id", "minutes"}.
    driving: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """The ``plan.json`` document."""
        return {
            "plan_id": self.id,
            "created_at": self.created_at,
            "horizon": {"start": self.horizon_start, "end": self.horizon_end},
            "replan_from": self.replan_from,
            "visits": [v.to_dict() for v in self.visits],
            "districts": [d.to_dict() for d in self.districts],
            "solver": self.solver.to_dict(),
            "moved_visits": self.moved,
            "notes": self.notes,
            "explanations": self.explanations,
            "driving_minutes": {
                "total": sum(d["minutes"] for d in self.driving),
                "days": self.driving,
            },
        }
