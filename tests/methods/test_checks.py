"""`check_method`: what every method owes a comparison."""

from __future__ import annotations

import numpy as np

from llmopt.contract.problem import Problem
from llmopt.contract.registry import build_problem
from llmopt.core.result import Result, Trial
from llmopt.methods import Setup
from llmopt.methods.checks import check_method
from llmopt.methods.method import Method


def _evaluating(best: float | None) -> Method:
    """A method that evaluates one random point, then reports `best` as its best value."""

    def run(problem: Problem, setup: Setup) -> Result:
        result = Result("fake", problem.name, problem.direction, kind="black-box", stop_reason="converged")
        solution = problem.space.sample(np.random.default_rng(0), 1)[0]
        result.add(
            Trial(None, "ok", text=problem.encode(solution), solution=solution, value=problem.evaluate(solution))
        )
        result.best_value = best
        return result

    return Method("fake", "black-box", run)


def test_a_best_value_that_is_the_best_evaluation_passes() -> None:
    sphere = build_problem("sphere", {})
    point = sphere.space.sample(np.random.default_rng(0), 1)[0]
    assert check_method(_evaluating(sphere.evaluate(point)), sphere, Setup(max_evals=3)) == []


def test_evaluations_without_a_best_value_fail() -> None:
    failures = check_method(_evaluating(None), build_problem("sphere", {}), Setup(max_evals=3))
    assert failures == ["best value None is not the best of its evaluations"]


def test_a_constrained_problem_passes_with_its_best_feasible_value() -> None:
    from llmopt.methods import methods_for

    knapsack = build_problem("knapsack", {"items": 12})
    setup = Setup(max_evals=20, seed=0)
    result = methods_for(knapsack)["random-search"].run(knapsack, setup)
    infeasible = [t.value for t in result.evaluated() if not t.feasible]
    assert infeasible and max(infeasible) > result.best_value, "uniform bits overfill the knapsack, worth more"
    assert check_method(methods_for(knapsack)["random-search"], knapsack, setup) == []
