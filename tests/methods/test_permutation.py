"""Permutation methods: every ordering tried costs one evaluation; the fixed start stays first."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from llmopt.contract.problem import Problem
from llmopt.contract.spaces import Permutation
from llmopt.methods import Setup, run_methods
from llmopt.methods.classical.permutation import _double_bridge, _neighbours, order_crossover

METHODS = ["random-orderings", "local-search", "genetic-algorithm"]


class Schedule(Problem):
    """Order 7 jobs to minimise the total weighted completion time (no fixed start)."""

    name, summary = "schedule", "test problem"
    durations = [3, 1, 4, 1, 5, 9, 2]
    weights = [2, 7, 1, 8, 2, 8, 1]

    def __init__(self, start: int | None = None) -> None:
        self.space = Permutation(7, start=start, tag="order", item="job", items="jobs")

    def describe(self) -> str:
        return "d"

    def format_hint(self) -> str:
        return "f"

    def evaluate(self, order) -> float:
        finish = np.cumsum([self.durations[j] for j in order])
        return float(sum(self.weights[j] * t for j, t in zip(order, finish)))


def brute_force(problem: Schedule) -> float:
    return min(
        problem.evaluate(p)
        for p in itertools.permutations(range(7))
        if problem.space.start is None or p[0] == problem.space.start
    )


@pytest.mark.parametrize("start", [None, 0])
def test_methods_keep_to_the_budget_and_the_space(start: int | None) -> None:
    problem = Schedule(start)
    for result in run_methods(problem, Setup(max_evals=40, seed=2), METHODS):
        assert result.counts.evals == 40 and result.stop_reason == "max_evals"
        assert len({t.text for t in result.trials}) == 40  # each distinct ordering costs one evaluation
        for trial in result.trials:
            assert problem.space.decode(problem.encode(trial.solution)) == trial.solution


def test_local_search_and_ga_find_the_optimum_of_a_small_instance_given_budget() -> None:
    problem = Schedule()
    optimum = brute_force(problem)
    results = run_methods(problem, Setup(max_evals=800, seed=0), ["local-search", "genetic-algorithm"])
    assert [r.best_value for r in results] == [optimum, optimum]


def test_moves_and_crossover_give_permutations() -> None:
    rng = np.random.default_rng(0)
    space = Permutation(8, start=0)
    tour = space.sample(rng, 1)[0]
    for neighbour in itertools.islice(_neighbours(space, tour, rng), 200):
        assert sorted(neighbour) == list(range(8)) and neighbour[0] == 0 and neighbour != tour
    kicked = _double_bridge(space, tour, rng)
    assert sorted(kicked) == list(range(8)) and kicked[0] == 0
    child = order_crossover([1, 2, 3, 4, 5], [5, 4, 3, 2, 1], rng)
    assert sorted(child) == [1, 2, 3, 4, 5]


def test_local_search_and_ga_start_from_the_shared_points() -> None:
    problem = Schedule()
    starts = tuple(problem.space.sample(np.random.default_rng(9), 3))
    for result in run_methods(
        problem, Setup(max_evals=10, seed=1, starts=starts), ["local-search", "genetic-algorithm"]
    ):
        assert [t.solution for t in result.trials[:3]] == list(starts), result.method
