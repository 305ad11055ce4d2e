"""The result of a planning run: visits, per-district totals and the solver's report."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

from odekake.masterdata.catalog import ACTIVITIES, CATEGORIES


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
    # The stored visit's id (``plan_visits.id``) once the plan is in the hub database;
    # empty in a freshly solved plan. Edits in the console name visits by it.
    id: str = ""

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
        if not self.id:
            d.pop("id")
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
    # The objective's driving model ("approximate" or "exact"); "" for a plan not solved.
    driving_mode: str = ""

    @classmethod
    def from_dict(cls, solver: dict[str, Any]) -> SolverReport:
        """Read back :meth:`to_dict` (missing keys empty)."""
        return cls(
            name=str(solver.get("name", "")),
            status=str(solver.get("status", "")),
            objective=float(solver.get("objective", 0.0)),
            bound=solver.get("bound"),
            gap=solver.get("gap"),
            seconds=float(solver.get("seconds", 0.0)),
            note=str(solver.get("note", "")),
            driving_mode=str(solver.get("driving_mode", "")),
        )

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
        if self.driving_mode:
            d["driving_mode"] = self.driving_mode
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
    # How legs are priced (planner.travel.TravelModel.to_dict()); {} when not known.
    travel_model: dict[str, Any] = field(default_factory=dict)

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
            "travel_model": self.travel_model,
        }


def _known(cls: type, d: dict[str, Any]) -> dict[str, Any]:
    names = {f.name for f in fields(cls)}
    return {k: v for k, v in d.items() if k in names}


def plan_from_dict(doc: dict[str, Any]) -> Plan:
    """The inverse of :meth:`Plan.to_dict` (a ``plan.json`` document back into a Plan).

    Keys this version does not know are ignored, so a newer plan.json still reads.

    Raises:
        ValueError, KeyError, TypeError: The document is not a plan.json.
    """
    visits = []
    for v in doc["visits"]:
        known = _known(PlanVisit, v)
        known["services"] = tuple(known.get("services", ()))
        known.setdefault("opened_day", False)
        visits.append(PlanVisit(**known))
    solver = doc.get("solver") or {}
    return Plan(
        id=str(doc["plan_id"]),
        created_at=str(doc.get("created_at", "")),
        horizon_start=str(doc["horizon"]["start"]),
        horizon_end=str(doc["horizon"]["end"]),
        visits=visits,
        districts=[DistrictTotal(**_known(DistrictTotal, d)) for d in doc.get("districts", [])],
        solver=SolverReport.from_dict(solver),
        moved=list(doc.get("moved_visits", [])),
        notes=list(doc.get("notes", [])),
        explanations=dict(doc.get("explanations", {})),
        replan_from=doc.get("replan_from"),
        driving=[dict(d) for d in (doc.get("driving_minutes") or {}).get("days", [])],
        travel_model=dict(doc.get("travel_model") or {}),
    )
