"""Linear regression: data, decoding rules, exact optimum, baselines."""

from __future__ import annotations

import itertools
import re

import numpy as np
import pytest

from llmopt.contract.problem import InvalidSolution
from llmopt.methods import Setup, run_methods
from llmopt.problems.linear_regression import LinearRegression


def test_data_follows_the_paper() -> None:
    problem = LinearRegression(w_true=3, b_true=5, noise=0.0)
    assert problem.x.tolist() == list(range(1, 51))
    assert np.allclose(problem.y, 3 * problem.x + 5)
    assert problem.loss((3, 5)) == 0.0


def test_data_seed_changes_noise() -> None:
    assert not np.allclose(LinearRegression(data_seed=0).y, LinearRegression(data_seed=1).y)
    assert np.allclose(LinearRegression(data_seed=7).y, LinearRegression(data_seed=7).y)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("[15, 14]", (15, 14)),
        ("I think [1, 2] then finally [ -3 , 40 ]", (-3, 40)),
        ("w and b: [17.0, 2]", (17, 2)),
        ("[+5,6]", (5, 6)),
    ],
)
def test_decode_takes_the_last_pair(text: str, expected: tuple[int, int]) -> None:
    assert LinearRegression().decode(text) == expected


@pytest.mark.parametrize(
    "text, reason",
    [
        ("w=15, b=14", "no [w, b] found"),
        ("[15]", "wrong length"),
        ("[1, 2, 3]", "wrong length"),
        ("[15, b]", "not a number"),
        ("[1e400, 2]", "not a finite number"),
        ("[nan, 2]", "not a number"),
        ("[inf, 2]", "not a number"),
        ("[101, 2]", "out of bounds"),
        ("[2e6, 2]", "out of bounds"),
        ("[15.5, 14]", "not an integer"),
        ("[1, 2] then [x]", "wrong length"),
    ],
)
def test_decode_rejects_with_reason(text: str, reason: str) -> None:
    with pytest.raises(InvalidSolution, match=f"^{re.escape(reason)}$"):
        LinearRegression().decode(text)


def test_real_valued_mode() -> None:
    problem = LinearRegression(real_valued=True)
    assert problem.decode("[15.25, -0.0]") == (15.25, 0.0)
    assert "real numbers" in problem.format_hint()
    w, b = problem.least_squares()
    A = np.column_stack([problem.x, np.ones_like(problem.x)])
    assert np.allclose((w, b), np.linalg.lstsq(A, problem.y, rcond=None)[0])


@pytest.mark.parametrize("w_true, b_true", [(15, 14), (17, 17), (16, 10), (3, 5), (25, 23), (2, 30), (36, -1)])
def test_integer_optimum_matches_brute_force(w_true: int, b_true: int) -> None:
    problem = LinearRegression(w_true=w_true, b_true=b_true, noise=3.0, data_seed=5)
    grid = itertools.product(range(w_true - 3, w_true + 4), range(b_true - 40, b_true + 41))
    brute = min(grid, key=problem.loss)
    assert problem.least_squares() == brute


def test_linear_regression_is_an_integer_box_with_every_box_method_and_least_squares() -> None:
    problem = LinearRegression()
    starts = ((10, 10), (20, 20), (12, 18), (16, 11), (19, 13))
    results = {r.method: r for r in run_methods(problem, Setup(30, seed=1, starts=starts))}
    assert set(results) == {
        "least-squares",
        "powell",
        "gp-bo",
        "nevergrad-ngopt",
        "optuna-tpe",
        "nelder-mead",
        "random-search",
    }
    assert {r.kind for name, r in results.items() if name != "least-squares"} == {"black-box"}
    assert results["least-squares"].kind == "reference" and results["least-squares"].counts.evals == 0
    assert results["least-squares"].summary()["n_evals"] is None
    assert results["least-squares"].best_value == pytest.approx(problem.optimum())
    assert results["nelder-mead"].counts.evals <= 30
    assert results["random-search"].counts.evals == 30
    assert [t.solution for t in results["nelder-mead"].trials[:5]] == list(starts)
    assert results["nelder-mead"].best_value < min(problem.loss(s) for s in starts)


def test_grammar_mentions_brackets() -> None:
    assert '"["' in LinearRegression().grammar()
    assert '"."' in LinearRegression(real_valued=True).grammar()


def test_the_box_is_told_to_the_model_and_must_hold_the_true_line() -> None:
    assert "between -100 and 100" in LinearRegression().describe()
    assert "between -50 and 50" in LinearRegression(bound=50).describe()
    with pytest.raises(ValueError, match="--bound"):
        LinearRegression(w_true=60, bound=50)


@pytest.mark.parametrize(
    "pair, low, high",
    [
        # by hand on y = 3x + 5 at x = 1..5 (8, 11, 14, 17, 20): residuals of 2x + 5 are 1, 2 | 3, 4, 5
        ((2, 5), "the line is below the data by 1.50 on average", "the line is below the data by 4.00 on average"),
        # 4x + 2 gives 6, 10 | 14, 18, 22: residuals 2, 1 | 0, -1, -2, so it crosses the data
        ((4, 2), "the line is below the data by 1.50 on average", "the line is above the data by 1.00 on average"),
        ((3, 6), "the line is above the data by 1.00 on average", "the line is above the data by 1.00 on average"),
        ((3, 5), "the line runs through the data on average", "the line runs through the data on average"),
    ],
)
def test_feedback_says_where_the_line_lies_against_the_data(pair: tuple[int, int], low: str, high: str) -> None:
    problem = LinearRegression(w_true=3, b_true=5, noise=0.0, points=5)
    evaluation = problem.evaluate(pair)
    assert evaluation.value == problem.loss(pair)
    assert evaluation.feedback == f"At small x (x = 1 to 2) {low}; at large x (x = 3 to 5) {high}."
