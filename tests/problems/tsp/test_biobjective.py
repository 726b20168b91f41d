"""The bi-objective TSP: two maps of the same cities, its evaluation and its front by enumeration."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest

from llmopt.problems.tsp.biobjective import BiTSP
from llmopt.problems.tsp.instance import tour_length


def brute_force_front(problem: BiTSP) -> list[tuple[float, float]]:
    """Every tour from city 0 scored on both maps, and the pairs no other tour dominates (rounded, since a tour
    and its reverse sum their legs in another order)."""
    dists = [tsp.instance.dist for tsp in problem.maps]
    points = {
        tuple(round(tour_length(d, (0, *rest)), 9) for d in dists)
        for rest in itertools.permutations(range(1, problem.n))
    }
    return sorted(p for p in points if not any(q[0] <= p[0] and q[1] <= p[1] and q != p for q in points))


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_the_front_of_five_cities_is_the_brute_force_one(seed: int) -> None:
    problem = BiTSP.from_options(cities=5, instance_seed=seed)
    found = [tuple(round(v, 9) for v in p) for p in problem.true_front().tolist()]
    assert found == brute_force_front(problem)


def test_evaluation_gives_each_maps_length_and_feedback() -> None:
    problem = BiTSP.from_options(cities=8, instance_seed=1)
    tour = (0, 3, 1, 7, 2, 6, 4, 5)
    evaluation = problem.evaluate(tour)
    assert evaluation.values == (problem.maps[0].length(tour), problem.maps[1].length(tour))
    assert evaluation.values[0] != evaluation.values[1]  # two city sets, not one
    assert (
        evaluation.feedback == f"On map 1: {problem.maps[0].feedback(tour)} On map 2: {problem.maps[1].feedback(tour)}"
    )
    reference = problem.reference_point()
    assert len(reference) == 2 and problem.optimum() > 0


def test_no_true_front_beyond_nine_cities() -> None:
    problem = BiTSP.from_options(cities=10)
    assert problem.true_front() is None and problem.optimum() is None


def tsplib(path: Path, name: str, points: list[tuple[int, int]]) -> str:
    rows = "\n".join(f"{i} {x} {y}" for i, (x, y) in enumerate(points, 1))
    path.write_text(
        f"NAME : {name}\nTYPE : TSP\nDIMENSION : {len(points)}\nEDGE_WEIGHT_TYPE : EUC_2D\n"
        f"NODE_COORD_SECTION\n{rows}\nEOF\n"
    )
    return str(path)


def test_two_tsplib_files_of_the_same_size_combine(tmp_path: Path) -> None:
    square = tsplib(tmp_path / "a.tsp", "squareA", [(0, 0), (0, 10), (10, 10), (10, 0)])
    crossed = tsplib(tmp_path / "b.tsp", "squareB", [(0, 0), (10, 10), (0, 10), (10, 0)])
    problem = BiTSP.from_options(instances=f"{square},{crossed}")
    assert problem.config()["instances"] == ["squareA", "squareB"]
    assert problem.evaluate((0, 1, 2, 3)).values == (40.0, 2 * 10 + 2 * 14)  # TSPLIB rounds 14.14 to 14
    assert problem.true_front().tolist() == [[40.0, 48.0], [48.0, 40.0]]
    with pytest.raises(ValueError, match="the same cities: 4 and 3"):
        BiTSP.from_options(instances=f"{square},{tsplib(tmp_path / 'c.tsp', 'c', [(0, 0), (1, 1), (2, 0)])}")
    with pytest.raises(ValueError, match="two TSPLIB files, FIRST,SECOND"):
        BiTSP.from_options(instances=square)


def test_random_instances_differ_by_seed_and_map() -> None:
    first, other = BiTSP.from_options(cities=6, instance_seed=0), BiTSP.from_options(cities=6, instance_seed=1)
    assert not np.array_equal(first.maps[0].instance.dist, first.maps[1].instance.dist)
    assert not np.array_equal(first.maps[1].instance.dist, other.maps[0].instance.dist)
