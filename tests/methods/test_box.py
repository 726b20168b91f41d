"""Box methods: written once, they respect the budget and the direction of any box problem."""

from __future__ import annotations

import pytest

from llmopt.contract.problem import Problem
from llmopt.contract.spaces import Box
from llmopt.methods import Setup, run_methods

METHODS = ["nelder-mead", "powell", "differential-evolution", "dual-annealing", "cma-es", "random-search"]


class Hill(Problem):
    """Maximise a smooth hill whose top (value 10) is at (1, -2)."""

    name, summary, direction = "hill", "test problem", "max"

    def __init__(self, integer: bool = False, dim: int = 2) -> None:
        self.space = Box(((-5, 5),) * dim, integer=integer)

    def describe(self) -> str:
        return "d"

    def format_hint(self) -> str:
        return "f"

    def evaluate(self, x) -> float:
        return 10.0 - (x[0] - 1) ** 2 - sum((v + 2) ** 2 for v in x[1:])


@pytest.mark.parametrize("integer", [False, True])
def test_every_box_method_climbs_a_maximisation_problem_within_budget(integer: bool) -> None:
    problem = Hill(integer)
    setup = Setup(max_evals=60, seed=1, starts=((4, 4), (-4, 4)))
    for result in run_methods(problem, setup, METHODS):
        values = [t.value for t in result.trials]
        assert 1 <= result.counts.evals <= 60 and result.best_value == max(values)
        assert all(problem.space.snap(t.solution) == t.solution for t in result.trials)
        if result.method != "random-search":
            assert result.best_value > max(problem.evaluate(s) for s in setup.starts), result.method


def test_local_methods_start_from_the_shared_points() -> None:
    setup = Setup(max_evals=20, seed=0, starts=((3.0, 3.0), (-1.0, 0.5)))
    for result in run_methods(Hill(), setup, ["nelder-mead", "powell", "cma-es"]):
        assert [t.solution for t in result.trials[:2]] == list(setup.starts)


def test_one_variable_boxes_are_searched_across_their_width() -> None:
    problem = Hill(dim=1)  # top at x = 1 in [-5, 5]
    for result in run_methods(problem, Setup(max_evals=30, seed=0, starts=((-4.5,),)), METHODS):
        assert result.counts.evals >= 2, result.method
        if result.method != "random-search":
            assert result.best_value > 9.0, (result.method, result.best_solution)
