"""Build the tour-planning MIP (PuLP). ``build()`` only builds; ``planner.solve`` solves.

Decision variables
------------------
``x[van, day, window, site, activity, event]`` (binary): the van serves the site in
that window of that day. Only candidates that can work are created: the site is
open that weekday for the whole window, and the van can drive from its depot at the
start of its shift and back before its end. A slot ``(van, day, window)`` holds at
most one candidate (exactly one for a pinned or disaster slot).

``r[van, day, window, district]`` (continuous, = the sum of ``x`` at the district's
sites) lets travel and trip constraints address a whole district at once, which
keeps the large instances sparse.

``visit[district, day]`` (binary): the district has a regular visit that day (any
van, any window). Minimum and maximum visits and the spacing between visits are
rules on these. ``vday[van, district, day]`` (continuous, only where several vans
could serve the district that day): which van does; their sum is at most ``visit``,
so a district gets at most one van-day of regular stops per day.

``seg[district, j]`` (continuous 0..1): the j-th regular stop in the district over
the horizon, valued at ``demand × diminishing[j]`` (concave, so the LP fills the
segments in order: piecewise-linear diminishing returns).

Driving enters the objective in one of two ways (``[objective] driving``):

- ``"approximate"`` (the default; round one's term): ``trip[van, district, day]`` (continuous) charges
  a round trip to the district's nearest site per van-day, plus half of each used
  site's extra detour; the order of the day's stops is not seen.
- ``"exact"``: the driving of each van-day's order (depot → stops by window → depot).
  A day of two slots is priced by day patterns: ``pair[van, day, g1, g2]`` (a stop
  of group g1, then one of g2; a group is a district's regular stops, or one site
  that matters on its own) costs the shortest such route, ``alone[…]`` a lone stop's
  round trip, and ``visit[district, day]`` needs a pattern that holds the district.
  Other days use ``leg[van, day, (window, site), (window, site)]`` (continuous): two
  stops that follow each other. See :func:`add_driving`.

plan.json's ``driving_minutes`` are counted exactly for the day's order in both modes.

The objective maximises expected residents served minus driving, minus a penalty
per moved already-announced visit (re-planning), minus a large penalty for any
shortfall against district minimums when a disaster window takes priority.

Every constraint is named after its family and indices (``slot_…``,
``travel_…``, ``visit_link_…``, ``min_visits_…``, ``spacing_…`` …).
"""

from __future__ import annotations

import pulp

from planner.inputs import PlanInput
from planner.model.day_patterns import add_visit_cover, pattern_days, settle_sites
from planner.model.driving import add_driving, add_trips
from planner.model.events import add_disaster_spread, add_reservations
from planner.model.objective import add_demand, add_moves
from planner.model.pins import add_forbids, add_pins
from planner.model.slots import add_fixed, add_slot_capacity, build_slots
from planner.model.travel_time import add_district_slots, add_travel
from planner.model.variables import FAMILIES, Key, Model, Slot, SlotKey, keys_by_slot
from planner.model.visits import add_min_max_visits, add_spacing, add_visit_days

__all__ = ["Key", "Model", "Slot", "SlotKey", "build", "settle_sites"]


def build(data: PlanInput, *, elastic: bool = False) -> Model:
    """Build the model for ``data``.

    Args:
        data: The validated inputs.
        elastic: Build the diagnostic variant: every rule family that can conflict
            gets a slack and the objective only minimises the total slack. Used by
            :mod:`planner.solve` to name the rules behind an infeasible policy.

    Returns:
        The model, not yet solved.
    """
    sense = pulp.LpMinimize if elastic else pulp.LpMaximize
    prob = pulp.LpProblem("tour_plan" + ("_elastic" if elastic else ""), sense)
    model = Model(
        data=data,
        prob=prob,
        slots={},
        x={},
        fixed=set(),
        visit={},
        seg={},
        seg_value={},
        shortfall={},
        slack={f: {} for f in FAMILIES},
        announced=[],
        elastic=elastic,
    )
    build_slots(model)
    add_forbids(model)
    add_pins(model)
    by_slot = keys_by_slot(model)
    add_slot_capacity(model, by_slot)
    add_fixed(model)
    r = add_district_slots(model, by_slot)
    patterns = pattern_days(model, by_slot)
    add_travel(model, by_slot, r, skip=patterns)
    add_visit_days(model, by_slot)
    add_min_max_visits(model)
    add_spacing(model)
    add_reservations(model)
    add_disaster_spread(model)
    value = add_demand(model)
    moves = add_moves(model)
    exact = data.policy.driving == "exact"
    travel = add_driving(model, by_slot, patterns) if exact else add_trips(model, r)
    add_visit_cover(model, by_slot, patterns)
    model.driving = travel
    if elastic:
        prob += pulp.lpSum(v for fam in model.slack.values() for v in fam.values())
    else:
        short = pulp.lpSum(data.policy.weights.shortfall * v for v in model.shortfall.values())
        objective = value - travel - moves - short
        # PuLP keeps an objective's constant to itself (HiGHS never sees it, so its
        # relative gap would be measured against another objective and it would stop
        # early). A variable fixed at 1 carries the constant into the solver.
        constant = float(objective.constant)
        if constant:
            one = prob.add_variable("objective_constant", 1, 1, pulp.LpContinuous)
            objective = objective - constant + constant * one
        prob += objective
    return model
