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


def _recording(values_of: object, best_shift: float = 0.0) -> Method:
    """A method that evaluates three points of a problem with several objectives and records the values
    `values_of(problem, solution)` gives, then moves its best value by `best_shift`."""

    def run(problem: Problem, setup: Setup) -> Result:
        from llmopt.contract.problem import new_result

        result = new_result(problem, "fake", "black-box")
        result.stop_reason = "converged"
        for solution in problem.space.sample(np.random.default_rng(0), 3):
            values = values_of(problem, solution)  # type: ignore[operator]
            result.add(Trial(None, "ok", text=problem.encode(solution), solution=solution, values=values))
        result.best_value = (result.best_value or 0.0) + best_shift
        return result

    return Method("fake", "black-box", run)


def test_a_method_on_several_objectives_is_checked_against_the_problems_values_and_its_fronts_hypervolume() -> None:
    zdt1 = build_problem("zdt1", {"dim": 3})
    assert check_method(_recording(lambda p, s: p.evaluate(s)), zdt1, Setup(max_evals=3)) == []
    wrong = check_method(_recording(lambda p, s: tuple(v + 1 for v in p.evaluate(s))), zdt1, Setup(max_evals=3))
    assert wrong and all("not its value" in failure for failure in wrong)
    shifted = check_method(_recording(lambda p, s: p.evaluate(s), best_shift=1.0), zdt1, Setup(max_evals=3))
    assert shifted == [f"best value {shifted[0].split()[2]} is not the hypervolume of its front"]
