"""Publishing with a gate: what a publish would change, checked against every rule first.

A published plan reaches the vans and the residents' 回覧板, so publishing is the one
step that cannot surprise anyone:

- :func:`preview` says, before anything changes, every rule the draft breaks
  (:mod:`planner.check`), how many visits come into force and how many of the
  visits in force now are replaced, and per district the visits added, removed and
  moved against what is in force — the districts whose 回覧板 notice must be
  re-sent;
- :func:`publish_checked` publishes only a draft that keeps every rule, or one whose
  coordinator gives a reason to publish it anyway; the reason and every violation go
  into the ``plan.publish`` audit entry.

The console's confirmation page and ``odekake plan publish`` both call these.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import sqlite_utils

from odekake.errors import OdekakeError
from odekake.masterdata import master
from odekake.plans import IN_FORCE
from planner import lifecycle
from planner.check import Violation, check_plan
from planner.inputs import PlanInput, PolicyError

WEEKDAYS = "月火水木金土日"


class PublishRefused(OdekakeError):
    """The draft breaks rules and no reason to publish it anyway was given."""

    def __init__(self, violations: list[Violation]) -> None:
        self.violations = violations
        super().__init__(
            f"この計画はルールに {len(violations)} 件違反しているため公開しませんでした。"
            "違反を直すか、公開する理由を書いてください(理由は監査ログに残ります)"
        )


@dataclass(frozen=True)
class VisitLine:
    """One visit as a resident reads it: ``12月3日(木) 10:00-12:00 上遠野公民館``."""

    date: str
    start: str
    end: str
    site_id: str
    site_name: str
    van_id: str

    @property
    def text(self) -> str:
        """The visit in words."""
        d = date.fromisoformat(self.date)
        return (
            f"{d.month}月{d.day}日({WEEKDAYS[d.weekday()]}) {self.start}-{self.end} "
            f"{self.site_name}"
        )


@dataclass(frozen=True)
class MovedVisit:
    """A visit in force now that the draft holds elsewhere (another day, time or site)."""

    before: VisitLine
    after: VisitLine


@dataclass(frozen=True)
class DistrictChange:
    """What publishing changes for one district's residents."""

    district_id: str
    name: str
    added: tuple[VisitLine, ...] = ()
    removed: tuple[VisitLine, ...] = ()
    moved: tuple[MovedVisit, ...] = ()
    unchanged: int = 0

    @property
    def changed(self) -> bool:
        """True when the district's residents must be told again (回覧板 re-sent)."""
        return bool(self.added or self.removed or self.moved)


@dataclass(frozen=True)
class PublishPreview:
    """What publishing a draft would do, in numbers, before it is done."""

    plan_id: str
    status: str
    visits: int
    unchanged: int
    superseded: dict[str, int] = field(default_factory=dict)
    violations: tuple[Violation, ...] = ()
    districts: tuple[DistrictChange, ...] = ()
    first_publish: bool = False

    @property
    def superseded_visits(self) -> int:
        """Visits in force now that publishing takes out of force."""
        return sum(self.superseded.values())

    @property
    def notices(self) -> list[str]:
        """Names of the districts whose 回覧板 notice must be (re-)sent."""
        return [d.name for d in self.districts if d.changed]

    @property
    def changed_districts(self) -> list[DistrictChange]:
        """The districts with anything added, removed or moved."""
        return [d for d in self.districts if d.changed]


def _line(r: dict[str, Any], sites: dict[str, str]) -> VisitLine:
    return VisitLine(
        date=r["date"],
        start=r["start"],
        end=r["end"],
        site_id=r["site_id"],
        site_name=sites.get(r["site_id"], r["site_id"]),
        van_id=r["van_id"],
    )


def _pair_moves(
    old: list[dict[str, Any]], new: list[dict[str, Any]]
) -> tuple[list[tuple[dict[str, Any], dict[str, Any]]], list[dict[str, Any]], list[dict[str, Any]]]:
    """Pair the district's visits leaving force with its new ones: the same site first,
    then in date order; what is left is removed (old) or added (new)."""
    old, new = sorted(old, key=_key), sorted(new, key=_key)
    pairs: list[tuple[dict[str, Any], dict[str, Any]]] = []
    for same_site in (True, False):
        for o in list(old):
            match = next((n for n in new if not same_site or n["site_id"] == o["site_id"]), None)
            if match is not None:
                pairs.append((o, match))
                old.remove(o)
                new.remove(match)
    return sorted(pairs, key=lambda p: _key(p[0])), old, new


def _key(r: dict[str, Any]) -> tuple[str, str, str]:
    return (r["date"], r["start"], r["van_id"])


def preview(
    db: sqlite_utils.Database,
    plan_id: str,
    today: date,
    *,
    policy: PlanInput | None = None,
) -> PublishPreview:
    """What publishing ``plan_id`` would change (nothing is changed).

    Args:
        db: The hub database.
        plan_id: The plan (its 8-character prefix is enough).
        today: Today in Japan (reading the month's policy forecasts from it).
        policy: The policy to check against; the month's saved policy when omitted.
    """
    s = lifecycle.summary(db, plan_id)
    plan = lifecycle.load_plan(db, s.id)
    try:
        if policy is None:
            from planner.workbench import check_input

            policy = check_input(db, plan)
        violations = tuple(check_plan(db, policy, plan))
    except PolicyError as exc:
        violations = (Violation("policy", str(exc)),)
    mine = lifecycle._visit_rows(db, "plan_id = ?", [s.id])
    vans = list(s.van_ids)
    marks = ",".join("?" * len(vans)) or "''"
    live = lifecycle._visit_rows(
        db,
        f"{IN_FORCE} AND plan_id != ? AND van_id IN ({marks}) AND date BETWEEN ? AND ?",
        [s.id, *vans, s.horizon_start, s.horizon_end],
    )
    by_slot: dict[tuple[str, str, str], list[dict[str, Any]]] = defaultdict(list)
    for w in live:
        by_slot[(w["date"], w["van_id"], w["start"])].append(w)
    kept: set[str] = set()
    same: set[str] = set()
    for v in mine:
        for w in by_slot.get((v["date"], v["van_id"], v["start"]), []):
            if w["id"] not in kept and lifecycle._same(v, w):
                kept.add(w["id"])
                same.add(v["id"])
                break
    superseded: dict[str, int] = defaultdict(int)
    leaving: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for w in live:
        if w["id"] not in kept:
            superseded[w["plan_id"]] += 1
            leaving[w["district_id"]].append(w)
    coming: dict[str, list[dict[str, Any]]] = defaultdict(list)
    unchanged_by: dict[str, int] = defaultdict(int)
    for v in mine:
        if v["id"] in same:
            unchanged_by[v["district_id"]] += 1
        else:
            coming[v["district_id"]].append(v)
    sites, names = lifecycle._names(db)
    districts: list[DistrictChange] = []
    # In the master data's order (the order every district list of the city uses).
    rank = {d.id: i for i, d in enumerate(master.districts(db))}
    for did in sorted(
        set(leaving) | set(coming) | set(unchanged_by), key=lambda d: (rank.get(d, 999), d)
    ):
        pairs, removed, added = _pair_moves(leaving.get(did, []), coming.get(did, []))
        districts.append(
            DistrictChange(
                district_id=did,
                name=names.get(did, did),
                added=tuple(_line(r, sites) for r in added),
                removed=tuple(_line(r, sites) for r in removed),
                moved=tuple(MovedVisit(_line(o, sites), _line(n, sites)) for o, n in pairs),
                unchanged=unchanged_by.get(did, 0),
            )
        )
    return PublishPreview(
        plan_id=s.id,
        status=s.status,
        visits=len(mine),
        unchanged=len(same),
        superseded=dict(superseded),
        violations=violations,
        districts=tuple(districts),
        first_publish=not live,
    )


def publish_checked(
    db: sqlite_utils.Database,
    plan_id: str,
    *,
    actor: str,
    today: date,
    override_reason: str = "",
    policy: PlanInput | None = None,
) -> tuple[lifecycle.PublishResult, PublishPreview]:
    """Publish a draft that keeps every rule, or one with violations and a reason.

    Returns:
        What publishing did, and the preview it was checked with (its districts say
        which 回覧板 notices must be re-sent).

    Raises:
        PublishRefused: The draft breaks rules and ``override_reason`` is blank.
        OdekakeError: The plan is not a draft (from :func:`planner.lifecycle.publish`).
    """
    found = preview(db, plan_id, today, policy=policy)
    reason = " ".join(override_reason.split())
    if found.violations and not reason:
        raise PublishRefused(list(found.violations))
    detail: dict[str, Any] = {
        "checked": True,
        "violations": [v.message for v in found.violations],
        "notices": found.notices,
    }
    if found.violations:
        detail["override_reason"] = reason
    return lifecycle.publish(db, found.plan_id, actor=actor, detail=detail, today=today), found
