"""CHANGELOG.md's 0.3.0: with one worker, every black-box method but differential evolution (and, past a
generation, the genetic algorithms) finds what it found before the ledger; the library methods are left out
since 0.4.0, which runs them from their own initial design. The values below were computed by llmopt 0.2's
code (commit 0ad864f) with the same settings and libraries."""

from __future__ import annotations

import pytest

from llmopt import OPROConfig
from llmopt.contract.problem import InvalidSolution
from llmopt.contract.registry import build_problem
from llmopt.methods import run_methods, setup_for
from llmopt.problems.knapsack import Knapsack

BEFORE = {
    ("sphere", "nelder-mead"): 0.00060253,
    ("sphere", "powell"): 0.0,
    ("sphere", "dual-annealing"): 1.12679354,
    ("sphere", "cma-es"): 0.23208497,
    ("sphere", "random-search"): 1.2699284,
    ("rosenbrock", "cma-es"): 8.500435013971366,
    ("knapsack", "random-search"): 5419.0,
    ("knapsack", "one-plus-one-ea"): 7167.0,
    ("knapsack", "genetic-algorithm"): 6374.0,
    ("knapsack", "simulated-annealing"): 7170.0,
    ("tsp", "random-orderings"): 721.6280486454275,
    ("tsp", "local-search"): 729.8818462024033,
    ("tsp", "genetic-algorithm"): 721.6280486454275,
}
OPTIONS = {"tsp": {"cities": 10}}


class Knapsack02(Knapsack):
    """The knapsack as 0.2 scored it: a selection over capacity was no answer at all (since 0.7 it is scored,
    its excess weight a constraint), so the values above still say whether the ledger changed a search."""

    constrained = False

    def evaluate(self, selection: tuple[int, ...]) -> float:
        if self.weight(selection) > self.instance.capacity:
            raise InvalidSolution("over capacity")
        return self.total_value(selection)


@pytest.mark.parametrize("name", sorted({problem for problem, _ in BEFORE}))
def test_one_worker_finds_what_the_code_before_the_ledger_found(name: str) -> None:
    problem = build_problem(name, OPTIONS.get(name, {}))
    if name == "knapsack":
        problem = Knapsack02(problem.instance)
    methods = [method for problem_name, method in BEFORE if problem_name == name]
    for result in run_methods(problem, setup_for(problem, OPROConfig(steps=4, proposals=8, seed=3)), methods):
        assert result.best_value == pytest.approx(BEFORE[(name, result.method)], rel=1e-9, abs=1e-12), result.method
        assert result.counts.evals == 37 and result.stop_reason == "max_evals"
