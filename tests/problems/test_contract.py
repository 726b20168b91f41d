"""The plugin contract, checked on every registered problem (built-in or entry point)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from llmopt.problem import InvalidSolution, Problem
from problems import registry

GARBAGE = ["", "I am not sure.", "]]][[[", "\x00\x01", "[" * 1000, "NaN", "the answer is 42", "🙂" * 50]


# Smaller settings where the defaults would make the suite slow; plugins run with their defaults.
SMALL = {"prompt-search": {"train_size": 3, "test_size": 2}, "function": {"function": "problems.functions:himmelblau"}}


@pytest.fixture(params=sorted(registry()), name="problem")
def problem_fixture(request: pytest.FixtureRequest) -> Problem:
    cls = registry()[request.param]
    options = {o.dest: o.default for o in cls.options} | SMALL.get(request.param, {})
    return cls.from_options(**options)


def test_decode_inverts_encode(problem: Problem) -> None:
    for solution in problem.initial(np.random.default_rng(1), 10):
        assert problem.decode(problem.encode(solution)) == solution


def test_garbage_is_invalid_solution_with_reason(problem: Problem) -> None:
    for text in GARBAGE:
        with pytest.raises(InvalidSolution) as caught:
            problem.decode(text)
        assert caught.value.reason


def test_evaluate_is_deterministic_and_finite(problem: Problem) -> None:
    for solution in problem.initial(np.random.default_rng(2), 5):
        first = problem.evaluate(solution)
        assert math.isfinite(first)
        assert problem.evaluate(solution) == first


def test_initial_is_seeded(problem: Problem) -> None:
    one = problem.initial(np.random.default_rng(3), 5)
    two = problem.initial(np.random.default_rng(3), 5)
    assert [problem.encode(s) for s in one] == [problem.encode(s) for s in two]


def test_declared_labels(problem: Problem) -> None:
    assert problem.direction in ("min", "max")
    assert problem.name and problem.summary and problem.solution_label and problem.value_label
    assert problem.describe().strip() and problem.format_hint().strip()


def test_baselines_return_results_within_budget(problem: Problem, local_backend) -> None:
    from llmopt.baselines import run_baselines
    from llmopt.problem import Budget
    from llmopt.result import Result

    for result in run_baselines(problem, Budget(max_evals=3, seed=0, backend=local_backend)):
        assert isinstance(result, Result)
        assert 1 <= result.counts.evals <= 3
        assert result.best_value is not None


def test_optimum_is_not_beaten(problem: Problem) -> None:
    optimum = problem.optimum()
    if optimum is None:
        pytest.skip("optimum unknown")
    for solution in problem.initial(np.random.default_rng(4), 20):
        assert not problem.better(problem.evaluate(solution), optimum)
