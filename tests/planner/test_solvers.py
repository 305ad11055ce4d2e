"""HiGHS and CBC give the same optimum on a hand-solved instance; CBC's bound is read."""

from __future__ import annotations

import pytest

from planner.inputs import PlanInput
from planner.model import build
from planner.solve import solve
from planner.solvers import cbc_bound as _cbc_bound
from tests.planner.checker import check_plan


@pytest.mark.parametrize("solver", ["highs", "cbc"])
def test_both_solvers_find_the_hand_optimum(two_districts_two_days: PlanInput, solver: str) -> None:
    plan = solve(build(two_districts_two_days), solver=solver, time_limit=20, gap=0)
    assert plan.solver.name == solver
    assert plan.solver.objective == pytest.approx(15.0)
    assert plan.solver.bound == pytest.approx(15.0)
    assert plan.solver.status == "optimal"
    assert check_plan(plan.to_dict(), two_districts_two_days) == []


def test_cbc_log_bound_when_stopped_early() -> None:
    log = (
        "Result - Stopped on time limit\n\nObjective value:                94.12476342\n"
        "Upper bound:                    96.679\nGap:                            -0.03\n"
    )
    bound, state, note = _cbc_bound(log, 94.12476342)
    assert bound == pytest.approx(96.679) and state == "feasible" and note == ""
    # Within the gap tolerance: optimal by the tolerance, but the bound is still reported.
    log = log.replace("Stopped on time limit", "Optimal solution found (within gap tolerance)")
    bound, state, _ = _cbc_bound(log, 100.12476342)  # a constant of 6 kept outside CBC
    assert bound == pytest.approx(102.679) and state == "optimal"
    bound, state, _ = _cbc_bound("Result - Optimal solution found\n\nObjective value: 5\n", 5.0)
    assert bound == 5.0 and state == "optimal"
    bound, state, note = _cbc_bound("garbled", 5.0)
    assert bound is None and "読み取れません" in note


def test_highs_runs_with_what_is_left_of_its_deadline() -> None:
    # Handing a model to HiGHS takes time; the limit it runs with is the deadline set
    # when the solve began, less what the hand-over used (a fake clock: no timing).
    import highspy

    from planner.solvers import _DeadlineHiGHS

    now = [100.0]
    engine = _DeadlineHiGHS(msg=False, timeLimit=60, monotonic=lambda: now[0])
    now[0] += 7.5  # the hand-over

    class Prob:
        solverModel = highspy.Highs()

    prob = Prob()
    prob.solverModel.setOptionValue("output_flag", False)

    def limit() -> float:
        got = prob.solverModel.getOptionValue("time_limit")  # (status, value) in highspy 1.16
        return float(got[1] if isinstance(got, tuple) else got)

    engine.callSolver(prob)
    assert limit() == pytest.approx(52.5)
    now[0] += 100  # past the deadline: HiGHS still gets a second to return its plan
    engine.callSolver(prob)
    assert limit() == pytest.approx(1.0)
    # No limit asked, none set.
    assert _DeadlineHiGHS(msg=False, timeLimit=None).left() is None
