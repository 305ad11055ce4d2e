"""What a van can reach in time: open sites within its shift, the minutes left for
driving between two windows, and the travel minutes as arrays for whole groups of sites."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

import numpy as np

from planner.inputs import PlanInput, Van, Window

FAR = 10**9  # "cannot follow in time" in the distance arrays


class Distances:
    """The travel minutes between sites as an array (rows and columns in site-id order),
    with each depot's minutes to and from every site: the exact-driving reductions and
    patterns compare whole groups of sites at once."""

    def __init__(self, data: PlanInput) -> None:
        self.data = data
        self.ids = sorted(s.id for s in data.sites)
        self.at = {sid: i for i, sid in enumerate(self.ids)}
        n = len(self.ids)
        self.matrix = np.zeros((n, n), dtype=np.int64)
        travel = data.travel
        for i, a in enumerate(self.ids):
            row = self.matrix[i]
            for j, b in enumerate(self.ids):
                if i != j:
                    row[j] = travel[(a, b)]
        self._depots: dict[str, tuple[np.ndarray, np.ndarray]] = {}

    def index(self, site_ids: Iterable[str]) -> np.ndarray:
        """Row numbers of the sites, in site-id order."""
        return np.array(sorted(self.at[s] for s in site_ids), dtype=np.int64)

    def depot(self, depot: str) -> tuple[np.ndarray, np.ndarray]:
        """(minutes from the depot to each site, from each site back to the depot)."""
        if depot not in self._depots:
            data = self.data
            out = np.array([data.minutes(depot, s) for s in self.ids], dtype=np.int64)
            back = np.array([data.minutes(s, depot) for s in self.ids], dtype=np.int64)
            self._depots[depot] = (out, back)
        return self._depots[depot]

    def follow(self, first: np.ndarray, second: np.ndarray, budget: int) -> np.ndarray:
        """Minutes from each ``first`` site to each ``second`` site, ``FAR`` where the
        second cannot follow the first within ``budget`` (the same site always can)."""
        sub = self.matrix[np.ix_(first, second)]
        same = first[:, None] == second[None, :]
        return np.where(same | (sub <= budget), sub, FAR)


def reachable(data: PlanInput, van: Van, day: date, window: Window, site_id: str) -> bool:
    """The site is open for the window and the van can come from and go back to its depot."""
    site = data.site(site_id)
    pol = data.policy
    if not site.is_open(day, window):
        return False
    arrive = window.start - pol.setup_minutes
    depart = window.end + pol.teardown_minutes
    return (
        van.shift_start + data.minutes(van.depot, site_id) <= arrive
        and depart + data.minutes(site_id, van.depot) <= van.shift_end
    )


def drive_budget(data: PlanInput, w1: Window, w2: Window) -> int:
    """Minutes left for driving between a stop in ``w1`` and one in the later ``w2``."""
    return w2.start - w1.end - data.policy.teardown_minutes - data.policy.setup_minutes
