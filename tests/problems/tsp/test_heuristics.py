"""Heuristics against brute force (n ≤ 8), and the strong solver against Held–Karp (n = 9–12)."""

from __future__ import annotations

from itertools import permutations

import numpy as np
import pytest

from llmopt.problems.tsp import heuristics, solvers
from llmopt.problems.tsp.instance import random_instance


def brute_force(dist: np.ndarray) -> float:
    n = dist.shape[0]
    return min(heuristics.tour_length(dist, [0, *p]) for p in permutations(range(1, n)))


def is_tour(tour: list[int], n: int) -> bool:
    return tour[0] == 0 and sorted(tour) == list(range(n))


CASES = [(n, seed) for n in (4, 5, 6, 7, 8) for seed in range(3)]
CONSTRUCTIVE = {
    "nearest-neighbour": heuristics.nearest_neighbour,
    "farthest-insertion": heuristics.farthest_insertion,
    "greedy": heuristics.greedy,
    "christofides": heuristics.christofides,
}


@pytest.mark.parametrize("n, seed", CASES)
@pytest.mark.parametrize("name", sorted(CONSTRUCTIVE))
def test_constructive_heuristics_give_tours_no_better_than_optimal(name: str, n: int, seed: int) -> None:
    dist = random_instance(n, seed).dist
    tour = CONSTRUCTIVE[name](dist)
    optimum = brute_force(dist)
    assert is_tour(tour, n)
    length = heuristics.tour_length(dist, tour)
    assert length >= optimum - 1e-9
    if name == "christofides":
        assert length <= 1.5 * optimum + 1e-9


@pytest.mark.parametrize("n, seed", CASES)
def test_local_search_held_karp_and_lkh_find_the_optimum(n: int, seed: int) -> None:
    dist = random_instance(n, seed).dist
    optimum = brute_force(dist)
    ils = heuristics.iterated_local_search(dist, heuristics.nearest_neighbour(dist), kicks=200)
    for tour in (ils, solvers.held_karp(dist), solvers.lkh(dist)):
        assert is_tour(tour, n)
        assert heuristics.tour_length(dist, tour) == pytest.approx(optimum)


def test_nearest_neighbour_by_hand() -> None:
    # Cities on a line at 0, 1, 3, 10: from 0 go to 1, then 3, then 10.
    x = np.array([0.0, 10.0, 1.0, 3.0])
    dist = np.abs(x[:, None] - x[None, :])
    assert heuristics.nearest_neighbour(dist) == [0, 2, 3, 1]


def test_local_search_never_worsens() -> None:
    dist = random_instance(60, 2).dist
    start = heuristics.nearest_neighbour(dist)
    better = heuristics.local_search(dist, start)
    assert is_tour(better, 60)
    assert heuristics.tour_length(dist, better) <= heuristics.tour_length(dist, start)


@pytest.mark.parametrize("n", [9, 10, 11, 12])
@pytest.mark.parametrize("seed", [0, 1])
def test_lkh_matches_held_karp(n: int, seed: int) -> None:
    dist = random_instance(n, 100 + seed).dist
    exact = heuristics.tour_length(dist, solvers.held_karp(dist))
    assert heuristics.tour_length(dist, solvers.lkh(dist)) == pytest.approx(exact, rel=1e-6)


def test_held_karp_refuses_large_instances() -> None:
    with pytest.raises(ValueError):
        solvers.held_karp(random_instance(14, 0).dist)


@pytest.mark.parametrize("n, seed", [(6, 0), (10, 3), (13, 5)])
def test_the_integer_programme_matches_held_karp(n: int, seed: int) -> None:
    instance = random_instance(n, seed)
    milp_tour = solvers.subtour_milp(instance.dist)
    assert sorted(milp_tour) == list(range(n)) and milp_tour[0] == 0
    assert instance.length(tuple(milp_tour)) == pytest.approx(instance.length(tuple(solvers.held_karp(instance.dist))))


def test_the_integer_programme_is_never_beaten_by_a_heuristic_and_refuses_large_instances() -> None:
    instance = random_instance(30, 2)
    exact = instance.length(tuple(solvers.subtour_milp(instance.dist)))
    assert exact <= instance.length(tuple(solvers.lkh(instance.dist))) + 1e-9
    assert exact <= instance.length(tuple(heuristics.christofides(instance.dist))) + 1e-9
    with pytest.raises(ValueError, match="limited to 60"):
        solvers.subtour_milp(random_instance(solvers.EXACT_MAX + 1, 0).dist)
