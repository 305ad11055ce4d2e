"""The solver engines: HiGHS (highspy) with a wall-clock deadline and a two-phase start
for driving legs, the bundled CBC, the proven bound read from CBC's log, and the honest
``optimal`` / ``feasible`` word."""

from __future__ import annotations

import contextlib
import os
import re
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pulp
from pulp.apis.coin_api import PULP_CBC_CMD

from odekake.errors import OdekakeError
from planner.model import Model

SOLVERS = ("highs", "cbc")


@contextlib.contextmanager
def quiet_stdout() -> Iterator[None]:
    """Silence the solver's own banner (HiGHS prints it on fd 1 even with msg=False)."""
    try:
        sys.stdout.flush()
        saved = os.dup(1)
    except (OSError, ValueError):
        yield
        return
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 1)
            yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)


class _DeadlineHiGHS(pulp.HiGHS):  # type: ignore[misc]
    """HiGHS (highspy) whose time limit is a wall-clock deadline from its creation.

    Handing a large model to HiGHS takes seconds (PuLP builds it column by column); the
    time limit HiGHS is given when it starts running is what is left, so a solve
    asked for N seconds takes about N seconds, hand-over included.
    """

    def __init__(
        self,
        *,
        timeLimit: float | None = None,  # PuLP's name
        monotonic: Callable[[], float] = time.monotonic,
        **kw: object,
    ) -> None:
        super().__init__(timeLimit=timeLimit, **kw)
        self.monotonic = monotonic
        self.deadline = None if timeLimit is None else monotonic() + timeLimit

    def left(self) -> float | None:
        """Seconds left before the deadline (at least 1: HiGHS still returns its plan)."""
        if self.deadline is None:
            return None
        return max(1.0, self.deadline - self.monotonic())

    def callSolver(self, lp: pulp.LpProblem) -> None:
        left = self.left()
        if left is not None:
            lp.solverModel.setOptionValue("time_limit", float(left))
        lp.solverModel.run()


class _StartedHiGHS(_DeadlineHiGHS):
    """HiGHS (highspy) given a feasible starting solution, by variable name."""

    def __init__(self, start: dict[str, float], **kw: object) -> None:
        super().__init__(**kw)  # type: ignore[arg-type]
        self.start = start

    def callSolver(self, lp: pulp.LpProblem) -> None:
        import highspy

        sol = highspy.HighsSolution()
        sol.col_value = [float(self.start.get(v.name, 0.0)) for v in lp.variables()]
        sol.value_valid = True
        lp.solverModel.setSolution(sol)
        super().callSolver(lp)


def _highs(time_limit: float | None, gap: float | None, progress: Path | None) -> pulp.HiGHS:
    """A HiGHS engine; with ``progress`` its log (one line per B&B step with the bound,
    the best plan and the gap) goes to that file, which the console reads as progress."""
    if progress is None:
        return _DeadlineHiGHS(msg=False, timeLimit=time_limit, gapRel=gap)
    return _DeadlineHiGHS(
        msg=True,
        timeLimit=time_limit,
        gapRel=gap,
        log_to_console=False,
        log_file=str(progress),
    )


def solve_highs(
    model: Model, time_limit: float | None, gap: float | None, progress: Path | None = None
) -> int:
    """Solve with HiGHS in two phases when the model has driving legs.

    Exact driving makes good plans harder to find. Phase 1 solves the same model with
    every leg at 0 (each stop charged its round trip: an easier model whose plans are
    all feasible here) for at most a third of the time; its plan is handed to phase 2,
    the full model, as a starting solution. The bound and gap come from phase 2 alone.
    """
    prob = model.prob
    if not model.legs or model.patterns:
        # (Day patterns price the usual two-slot days well on their own; the few
        # legs left, on days of three stops or more, need no first phase.)
        return int(prob.solve(_highs(time_limit, gap, progress)))
    started = time.perf_counter()
    first = None if time_limit is None else max(1.0, time_limit / 3)
    for v in model.legs:
        v.upBound = 0
    try:
        status = prob.solve(_highs(first, gap, progress))
    finally:
        for v in model.legs:
            v.upBound = 1
    if status == pulp.LpStatusInfeasible or prob.sol_status == pulp.LpSolutionInfeasible:
        return int(status)
    left = None if time_limit is None else max(1.0, time_limit - (time.perf_counter() - started))
    if prob.sol_status in (pulp.LpSolutionOptimal, pulp.LpSolutionIntegerFeasible):
        start = {v.name: float(v.varValue or 0.0) for v in prob.variables()}
        return int(prob.solve(_StartedHiGHS(start, msg=False, timeLimit=left, gapRel=gap)))
    return int(prob.solve(_highs(left, gap, progress)))


def solver_for(name: str, time_limit: float | None, gap: float | None, log: Path) -> pulp.LpSolver:
    if name == "highs":
        return _highs(time_limit, gap, None)
    if name == "cbc":
        # The bundled CBC binary, driven through COIN_CMD (PULP_CBC_CMD is deprecated
        # for PuLP 4.0); its log is kept to read the proven bound.
        return pulp.COIN_CMD(
            path=PULP_CBC_CMD.pulp_cbc_path,
            msg=False,
            timeLimit=time_limit,
            gapRel=gap,
            logPath=str(log),
        )
    raise OdekakeError(f"ソルバーは {' / '.join(SOLVERS)} から選びます({name})")


_CBC_NUM = r"(-?\d+(?:\.\d*)?(?:[eE][-+]?\d+)?)"


def cbc_bound(log: str, objective: float) -> tuple[float | None, str, str]:
    """(bound, status word, note) from a CBC log, in the model's own objective sense.

    CBC ends its log with ``Objective value: X`` and, when it stopped early,
    ``Upper bound: Y`` (maximisation) or ``Lower bound: Y`` (minimisation), both in the
    problem's own sense; PuLP keeps constant terms outside the solver, so the bound is
    shifted by the same offset as the objective.
    """
    m = re.search(r"Result - (.+)", log)
    status = m.group(1).strip() if m else ""
    state = "optimal" if status.startswith("Optimal solution found") else "feasible"
    obj_m = re.search(r"Objective value:\s+" + _CBC_NUM, log)
    bound_m = re.search(r"(?:Upper|Lower) bound:\s+" + _CBC_NUM, log)
    if obj_m and bound_m:
        # Stopped early (time limit, or "within gap tolerance"): CBC prints its bound.
        offset = objective - float(obj_m.group(1))
        return float(bound_m.group(1)) + offset, state, ""
    if status == "Optimal solution found":
        return objective, "optimal", ""
    return None, "feasible", "CBCのログから上界(bound)を読み取れませんでした"


def honest_status(state: str, gap_value: float | None, target: float | None) -> str:
    """``"optimal"`` only when the gap, on the objective the plan is judged on, is within
    the target (HiGHS's default 1e-4 when none is given); otherwise ``"feasible"``.

    A solver's own word is not enough: its gap may be measured on another objective.
    """
    limit = 1e-4 if target is None else target
    if state == "optimal" and (gap_value is None or gap_value > limit + 1e-9):
        return "feasible"
    return state
