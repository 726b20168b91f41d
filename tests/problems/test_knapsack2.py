"""The bi-objective knapsack: Zitzler and Thiele's instances, its evaluation and its exact front."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from llmopt.core.pareto import hypervolume
from llmopt.problems.knapsack2 import EXACT_MAX_ITEMS, BiKnapsack, random_instance


def brute_force_front(problem: BiKnapsack) -> list[tuple[float, float]]:
    """Every selection within capacity, scored, and the profit pairs no other one dominates."""
    points = set()
    for bits in itertools.product((0, 1), repeat=problem.n):
        evaluation = problem.evaluate(bits)
        if evaluation.constraints[0] <= 0:
            points.add(tuple(evaluation.values))
    return sorted(p for p in points if not any(q[0] >= p[0] and q[1] >= p[1] and q != p for q in points))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_exact_front_of_ten_items_is_the_brute_force_one(seed: int) -> None:
    problem = BiKnapsack.from_options(items=10, instance_seed=seed)
    front = [tuple(p) for p in problem.true_front().tolist()]
    assert front == brute_force_front(problem)
    assert problem.optimum() == pytest.approx(hypervolume(front, (0, 0), ("max", "max")))


def test_a_zitzler_thiele_instance() -> None:
    instance, second = random_instance(30, 5)
    for numbers in (instance.values, instance.weights, second):
        assert len(numbers) == 30 and all(10 <= x <= 100 and float(x).is_integer() for x in numbers)
    assert instance.capacity == sum(instance.weights) // 2
    assert random_instance(30, 5) == (instance, second) and random_instance(30, 6) != (instance, second)


def test_evaluation_gives_both_profits_and_the_excess_weight() -> None:
    problem = BiKnapsack.from_options(items=6, instance_seed=3)
    everything = problem.evaluate((1,) * 6)
    assert everything.values == (sum(problem.profits[0]), sum(problem.profits[1]))
    assert everything.constraints == (sum(problem.instance.weights) - problem.instance.capacity,)
    assert everything.feedback.startswith("Over capacity by") and "per weight" in everything.feedback
    first = problem._items([0])  # the feedback names items as the description does: (profit1, profit2, weight)
    assert first == f"0: ({problem.profits[0][0]:g}, {problem.profits[1][0]:g}, {problem.instance.weights[0]:g})"
    assert first in problem.describe()
    assert problem.reference_point() == (0.0, 0.0) and problem.directions == ("max", "max")


def test_no_exact_front_beyond_its_size_and_no_single_objective_references() -> None:
    problem = BiKnapsack.from_options(items=EXACT_MAX_ITEMS + 1)
    assert problem.true_front() is None and problem.optimum() is None and problem.references() == {}


def test_random_starts_fit() -> None:
    problem = BiKnapsack.from_options(items=20)
    for selection in problem.initial(np.random.default_rng(0), 10):
        assert problem.evaluate(selection).constraints[0] <= 0
