"""Pinned events in the model: each reservation visit exactly once in its range, and a
disaster window's sessions spread over its halls."""

from __future__ import annotations

from collections import defaultdict

from planner.inputs import ACTIVITY_DISASTER, ACTIVITY_RESERVATION
from planner.model.variables import Key, Model, lp_name, slack_for, var_sum


def add_reservations(model: Model) -> None:
    """Each reservation visit (予約訪問) happens exactly once within its date range."""
    data = model.data
    for e in data.events:
        if e.kind != ACTIVITY_RESERVATION:
            continue
        keys = [k for k in model.x if k[4] == ACTIVITY_RESERVATION and k[5] == e.id]
        kept_before = [
            k
            for k in data.keep
            if data.policy.replan_from is not None
            and k.date < data.policy.replan_from
            and k.event_id == e.id
        ]
        if kept_before:
            continue
        name = lp_name("reservation", e.id)
        model.prob += (
            var_sum(model.x[k] for k in keys) + slack_for(model, "reservation", name) == 1,
            name,
        )


def add_disaster_spread(model: Model) -> None:
    """Spread each disaster window's sessions over its affected halls (``spread = true``).

    With N sessions and H halls each hall gets at least ⌊N/H⌋ sessions and at most
    ⌈N/H⌉ — fewer where a hall can be reached in fewer sessions, and no upper limit
    when the halls that can be reached cannot take the sessions otherwise.
    """
    data = model.data
    for e in data.events:
        if e.kind != ACTIVITY_DISASTER or not e.spread:
            continue
        keys = [k for k in model.x if k[4] == ACTIVITY_DISASTER and k[5] == e.id]
        sessions = len({k[:3] for k in keys})
        by_hall: dict[str, list[Key]] = defaultdict(list)
        for k in keys:
            by_hall[k[3]].append(k)
        if sessions == 0 or len(by_hall) < 2:
            continue
        halls = len(by_hall)
        low, high = sessions // halls, -(-sessions // halls)
        capped = sum(min(len(ks), high) for ks in by_hall.values()) >= sessions
        for sid, ks in sorted(by_hall.items()):
            total = var_sum(model.x[k] for k in ks)
            name = lp_name("disaster_share", e.id, sid)
            need = min(low, len(ks))
            if need > 0:
                model.prob += total + slack_for(model, "required_slot", name) >= need, name
            if capped:
                model.prob += (
                    total - slack_for(model, "required_slot", name + "_max") <= high,
                    name + "_max",
                )
