"""The TSP plugin: decoding with one reason per defect, grammar, meta-prompt, gap columns."""

from __future__ import annotations

import numpy as np
import pytest

from llmopt.contract.evaluation import Evaluation
from llmopt.contract.problem import InvalidSolution
from llmopt.core.result import Result
from llmopt.problems.tsp import TSP
from llmopt.problems.tsp.heuristics import two_opt_moves
from llmopt.problems.tsp.instance import Instance, euclidean_matrix, random_instance

PROBLEM = TSP(random_instance(5, 0))


@pytest.mark.parametrize(
    "text, reason",
    [
        ("0,1,2,3,4", "no trace found"),
        ("<trace>0,1,2,3,4", "no trace found"),
        ("<trace>0,1,two,3,4</trace>", "non-integer entry"),
        ("<trace>0,1,2.5,3,4</trace>", "non-integer entry"),
        ("<trace>0,1,-2,3,4</trace>", "non-integer entry"),
        ("<trace></trace>", "non-integer entry"),
        ("<trace>0,1,2,3,9</trace>", "unknown city"),
        ("<trace>0,1,2,2,4</trace>", "repeated city"),
        ("<trace>0,1,2,3</trace>", "missing cities"),
        ("<trace>1,0,2,3,4</trace>", "wrong start"),
    ],
)
def test_each_defect_has_its_reason(text: str, reason: str) -> None:
    with pytest.raises(InvalidSolution) as caught:
        PROBLEM.decode(text)
    assert caught.value.reason == reason


def test_last_trace_wins_and_spaces_are_fine() -> None:
    text = "first <trace>0,1</trace> then <trace> 0, 4, 3, 2, 1 </trace>"
    assert PROBLEM.decode(text) == (0, 4, 3, 2, 1)


def test_evaluate_is_closed_tour_length() -> None:
    problem = TSP(random_instance(4, 3))
    d = problem.instance.dist
    assert problem.evaluate((0, 1, 2, 3)).value == pytest.approx(d[0, 1] + d[1, 2] + d[2, 3] + d[3, 0])


def test_grammar_lists_every_city_and_fixed_length() -> None:
    grammar = PROBLEM.grammar()
    assert '"<trace>" "0"' in grammar and "{4}" in grammar and '"4"' in grammar and '"5"' not in grammar


def test_describe_lists_coordinates() -> None:
    text = PROBLEM.describe()
    x, y = PROBLEM.instance.coords[3]
    assert f"(3): ({int(x)}, {int(y)})" in text


def test_random_instance_matches_the_paper() -> None:
    instance = random_instance(50, 7)
    assert instance.coords.min() >= -100 and instance.coords.max() <= 100
    assert np.array_equal(instance.coords, np.round(instance.coords))
    assert np.array_equal(random_instance(50, 7).dist, instance.dist)


def test_gap_is_against_the_optimum_or_labelled_bound() -> None:
    small = TSP(random_instance(8, 1))
    result = Result("x", "tsp", "min", best_value=small.optimum() * 1.1)
    assert small.extra_columns(result) == {"gap_pct": pytest.approx(10.0)}
    medium = TSP(random_instance(20, 1))  # beyond Held–Karp: the integer programme proves the optimum
    assert medium.optimum() == pytest.approx(medium.length(medium._lkh_tour))
    assert set(medium.extra_columns(Result("x", "tsp", "min", best_value=1e4))) == {"gap_pct"}
    large = TSP(random_instance(61, 1))
    assert large.optimum() is None
    assert set(large.extra_columns(Result("x", "tsp", "min", best_value=1.0))) == {"gap_pct_vs_lkh"}
    given = TSP(random_instance(20, 1), optimum=100.0)
    assert given.extra_columns(Result("x", "tsp", "min", best_value=150.0)) == {"gap_pct": 50.0}


def test_explicit_instance_is_drawable() -> None:
    from llmopt.problems.tsp.tsplib import parse_tsplib

    text = (
        "NAME: m\nTYPE: TSP\nDIMENSION: 4\nEDGE_WEIGHT_TYPE: EXPLICIT\nEDGE_WEIGHT_FORMAT: UPPER_ROW\n"
        "EDGE_WEIGHT_SECTION\n3 4 5 5 4 3\nEOF\n"
    )
    problem = TSP(parse_tsplib(text))
    assert problem.positions().shape == (4, 2)
    assert "Row i lists the distances" in problem.describe()


RECTANGLE = np.array([[0.0, 0.0], [2.0, 0.0], [2.0, 1.0], [0.0, 1.0]])  # a 2 × 1 rectangle, cities 0 to 3


@pytest.mark.parametrize(
    "tour, feedback",
    [
        ((0, 1, 2, 3), "No two edges cross: no 2-opt move shortens this tour."),
        # by hand: the diagonals 0-2 and 1-3 (√5 each) become the long sides (2 each), 2√5 - 4 = 0.47 shorter
        (
            (0, 2, 1, 3),
            "1 pair of edges crosses or is shorter reconnected (2-opt); the largest savings: "
            "edges 0-2 and 1-3 as 0-1 and 2-3 (0.47 shorter).",
        ),
        # the crossing diagonals save 2√5 - 2; the two long sides, parallel, save 4 - 2 as the short sides
        (
            (0, 1, 3, 2),
            "2 pairs of edges cross or are shorter reconnected (2-opt); the largest savings: "
            "edges 1-3 and 2-0 as 1-2 and 3-0 (2.47 shorter); edges 0-1 and 3-2 as 0-3 and 1-2 (2 shorter).",
        ),
    ],
)
def test_feedback_names_the_crossing_edges_by_city(tour: tuple[int, ...], feedback: str) -> None:
    problem = TSP(Instance("rectangle", euclidean_matrix(RECTANGLE), RECTANGLE))
    assert problem.evaluate(tour) == Evaluation(problem.length(tour), feedback=feedback)


@pytest.mark.parametrize("seed", [0, 1])
def test_the_two_opt_moves_counted_are_the_reversals_that_shorten_the_tour(seed: int) -> None:
    problem = TSP(random_instance(9, seed))
    tour = tuple(int(c) for c in np.random.default_rng(seed).permutation(9))
    savings = []
    for i in range(9):
        for j in range(i + 2, 9 if i else 8):  # two edges that share no city
            reversed_ = tour[: i + 1] + tour[i + 1 : j + 1][::-1] + tour[j + 1 :]
            if problem.length(tour) - problem.length(reversed_) > 1e-9:
                savings.append(problem.length(tour) - problem.length(reversed_))
    count, moves = two_opt_moves(problem.instance.dist, tour, 3)
    assert count == len(savings) > 3
    assert [saving for saving, _ in moves] == pytest.approx(sorted(savings, reverse=True)[:3])


def test_a_tour_too_large_to_scan_has_no_feedback() -> None:
    large = TSP(random_instance(1001, 0))
    assert large.evaluate(tuple(range(1001))).feedback is None
