"""The TSP plugin: decoding with one reason per defect, grammar, meta-prompt, gap columns."""

from __future__ import annotations

import numpy as np
import pytest

from llmopt.contract.problem import InvalidSolution
from llmopt.core.result import Result
from llmopt.problems.tsp import TSP
from llmopt.problems.tsp.instance import random_instance

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
    assert problem.evaluate((0, 1, 2, 3)) == pytest.approx(d[0, 1] + d[1, 2] + d[2, 3] + d[3, 0])


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
    assert medium.optimum() == pytest.approx(medium.evaluate(medium._lkh_tour))
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
