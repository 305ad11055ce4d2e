"""The model's slots and variables: candidate keys, :class:`Slot`, :class:`Model` (the
PuLP problem with the maps a solution is read back through) and the helpers every
constraint family uses to name and sum its terms."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

import pulp

from planner.inputs import KeptVisit, PlanInput, Window
from planner.model.reach import Distances

# A candidate key: (van id, date, window index, site id, activity, event id or "").
Key = tuple[str, date, int, str, str, str]


SlotKey = tuple[str, date, int]


FAMILIES = (
    "min_visits",
    "max_visits",
    "spacing",
    "reservation",
    "pinned",
    "required_slot",
    "pins",
)


@dataclass
class Slot:
    """One service window of one van on one day."""

    van_id: str
    day: date
    index: int
    window: Window
    kind: str  # regular | voting | disaster | kept
    required: bool = False
    opened_day: bool = False


@dataclass
class DayPattern:
    """The two slots of a van-day priced by patterns, and how to read its sites back."""

    slots: tuple[SlotKey, SlotKey]
    # group → the candidate keys of that group in each slot
    groups: tuple[dict[tuple[str, str], list[Key]], dict[tuple[str, str], list[Key]]]
    # (group 1, group 2) → the best pair of sites; group → the best site alone
    pair_sites: dict[tuple[tuple[str, str], tuple[str, str]], tuple[str, str]]
    alone_sites: tuple[dict[tuple[str, str], str], dict[tuple[str, str], str]]


@dataclass
class Model:
    """The built PuLP problem and the maps needed to read a solution back."""

    data: PlanInput
    prob: pulp.LpProblem
    slots: dict[SlotKey, Slot]
    x: dict[Key, pulp.LpVariable]
    fixed: set[Key]
    visit: dict[tuple[str, date], pulp.LpVariable]
    seg: dict[tuple[str, int], pulp.LpVariable]
    seg_value: dict[tuple[str, int], float]
    shortfall: dict[str, pulp.LpVariable]
    slack: dict[str, dict[str, pulp.LpVariable]]
    announced: list[tuple[KeptVisit, Key | None]]
    elastic: bool = False
    unreachable: list[str] = field(default_factory=list)
    # The driving cost in the objective and its leg variables (see ``add_driving``).
    driving: pulp.LpAffineExpression = field(default_factory=pulp.LpAffineExpression)
    legs: list[pulp.LpVariable] = field(default_factory=list)
    patterns: list[DayPattern] = field(default_factory=list)
    distances: Distances | None = None
    # (district, day) → the day patterns that hold a regular stop in the district
    cover: dict[tuple[str, date], list[pulp.LpVariable]] = field(
        default_factory=lambda: defaultdict(list)
    )


_NON_WORD = re.compile(r"\W")


def var_sum(variables: Iterable[pulp.LpVariable]) -> pulp.LpAffineExpression:
    """Sum of variables (much faster than ``lpSum`` over a generator of variables)."""
    return pulp.LpAffineExpression([(v, 1.0) for v in variables])


def lp_name(*parts: object) -> str:
    return _NON_WORD.sub(
        "_", "_".join(p.strftime("%Y%m%d") if isinstance(p, date) else str(p) for p in parts)
    )


def slack_for(model: Model, family: str, name: str) -> pulp.LpVariable | int:
    if not model.elastic:
        return 0
    var = model.prob.add_variable(f"slack_{name}", 0, None, pulp.LpContinuous)
    model.slack[family][name] = var
    return var


def keys_by_slot(model: Model) -> dict[SlotKey, list[Key]]:
    out: dict[SlotKey, list[Key]] = defaultdict(list)
    for key in model.x:
        out[key[:3]].append(key)
    return out


def distances_of(model: Model) -> Distances:
    if model.distances is None:
        model.distances = Distances(model.data)
    return model.distances
