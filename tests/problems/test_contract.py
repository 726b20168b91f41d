"""The plugin contract, checked on every registered problem (built-in or entry point)."""

from __future__ import annotations

import numpy as np
import pytest

from llmopt.contract import checks as contract
from llmopt.contract.problem import Problem, evaluate_safely
from llmopt.contract.registry import registry
from llmopt.core.direction import better
from llmopt.core.feasibility import feasible
from llmopt.core.pareto import hypervolume


@pytest.fixture(params=sorted(registry()), name="problem")
def problem_fixture(request: pytest.FixtureRequest, build_problem) -> Problem:
    return build_problem(request.param)


@pytest.mark.parametrize("check", contract.CHECKS, ids=lambda c: c.__name__)
def test_contract(problem: Problem, check) -> None:
    check(problem)


def test_check_problem_reports_every_broken_rule() -> None:
    from llmopt.problems.linear_regression import LinearRegression

    class Broken(LinearRegression):
        def decode(self, text: str):
            return (1, 2)

    failures = contract.check_problem(Broken())
    assert [f.split(":")[0] for f in failures] == ["check_round_trip", "check_garbage_is_rejected"]
    assert contract.check_problem(LinearRegression()) == []


def test_every_method_keeps_to_the_budget_and_never_beats_the_optimum(problem: Problem, local_backend) -> None:
    from llmopt.methods import run_methods, setup_for
    from llmopt.opro import OPROConfig

    setup = setup_for(problem, OPROConfig(steps=1, proposals=2, initial=2, answer_tokens=24), local_backend)
    assert setup.max_evals == 4
    results = run_methods(problem, setup)
    assert results, "every registered problem gets at least one compared method"
    optimum = problem.optimum()
    for result in results:
        assert result.best_value is not None, result.method
        if result.kind == "reference":
            assert result.counts.evals == 0 and result.summary()["n_evals"] is None
        else:
            assert 1 <= result.counts.evals <= setup.max_evals, result.method
        if optimum is not None:  # with several objectives, both are hypervolumes (the result's direction: max)
            assert not better(result.direction, result.best_value, optimum), result.method


def test_optimum_is_not_beaten(problem: Problem) -> None:
    optimum = problem.optimum()
    if optimum is None:
        pytest.skip("optimum unknown")
    outcomes = [
        evaluate_safely(problem.evaluate, s, problem.objectives) for s in problem.initial(np.random.default_rng(4), 20)
    ]
    feasible_ones = [o for o in outcomes if feasible(o.constraints)]  # an infeasible one may beat the optimum
    if problem.directions is None:
        assert not any(better(problem.direction, o.value, optimum) for o in feasible_ones)
    else:  # the feasible ones as one front: its hypervolume is at most the true front's
        points = [o.values for o in feasible_ones]
        assert hypervolume(points, problem.reference_point() or (), problem.directions) <= optimum


@pytest.mark.parametrize("space", ["bits:8", "permutation:6"])
def test_a_users_combinatorial_function_passes_the_contract(space: str) -> None:
    from llmopt.problems.numeric import NumericProblem

    problem = NumericProblem.from_options(function="llmopt.problems.functions:sphere", space=space)
    assert contract.check_problem(problem) == []
