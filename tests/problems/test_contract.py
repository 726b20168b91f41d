"""The plugin contract, checked on every registered problem (built-in or entry point)."""

from __future__ import annotations

import numpy as np
import pytest

from llmopt import contract
from llmopt.problem import Problem
from problems import registry

@pytest.fixture(params=sorted(registry()), name="problem")
def problem_fixture(request: pytest.FixtureRequest, build_problem) -> Problem:
    return build_problem(request.param)


@pytest.mark.parametrize("check", contract.CHECKS, ids=lambda c: c.__name__)
def test_contract(problem: Problem, check) -> None:
    check(problem)


def test_check_problem_reports_every_broken_rule() -> None:
    from problems.linear_regression import LinearRegression

    class Broken(LinearRegression):
        def decode(self, text: str):
            return (1, 2)

    failures = contract.check_problem(Broken())
    assert [f.split(":")[0] for f in failures] == ["check_round_trip", "check_garbage_is_rejected"]
    assert contract.check_problem(LinearRegression()) == []


def test_baselines_return_results_within_budget(problem: Problem, local_backend) -> None:
    from llmopt.baselines import run_baselines
    from llmopt.problem import Budget
    from llmopt.result import Result

    for result in run_baselines(problem, Budget(max_evals=3, seed=0, backend=local_backend)):
        assert isinstance(result, Result)
        assert 1 <= result.counts.evals <= 3
        assert result.best_value is not None


def test_optimum_is_not_beaten(problem: Problem) -> None:
    optimum = problem.optimum()
    if optimum is None:
        pytest.skip("optimum unknown")
    for solution in problem.initial(np.random.default_rng(4), 20):
        assert not problem.better(problem.evaluate(solution), optimum)
