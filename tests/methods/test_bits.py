"""Bit-vector methods: written once, within budget, and able to solve a small problem."""

from __future__ import annotations

import pytest

from llmopt.contract.problem import InvalidSolution, Problem
from llmopt.contract.spaces import Bits
from llmopt.methods import Setup, methods_for, run_methods

METHODS = ["random-search", "one-plus-one-ea", "genetic-algorithm", "simulated-annealing"]


class OneMax(Problem):
    """Maximise the number of ones; a vector with more than `limit` ones is infeasible."""

    name, summary, direction = "onemax", "test problem", "max"

    def __init__(self, n: int = 12, limit: int | None = None) -> None:
        self.space, self.limit = Bits(n), limit

    def describe(self) -> str:
        return "d"

    def format_hint(self) -> str:
        return "f"

    def evaluate(self, bits) -> float:
        if self.limit is not None and sum(bits) > self.limit:
            raise InvalidSolution("too many ones")
        return float(sum(bits))


def test_the_bits_space_gets_its_methods_and_runs_the_strongest_by_default() -> None:
    found = methods_for(OneMax())
    assert set(METHODS) | {"optuna-tpe", "nevergrad-ngopt", "lmx", "lmx-no-model"} <= set(found)
    assert {n for n, m in found.items() if m.default} == {
        "opro",
        "one-plus-one-ea",
        "simulated-annealing",
        "nevergrad-ngopt",
        "optuna-tpe",
        "random-search",
    }


@pytest.mark.parametrize("method", METHODS)
def test_each_method_keeps_to_the_budget(method: str) -> None:
    (result,) = run_methods(OneMax(), Setup(max_evals=25, seed=1), [method])
    assert 1 <= result.counts.evals <= 25 and result.kind == "black-box"
    assert result.best_value == max(t.value for t in result.evaluated())


@pytest.mark.parametrize("method", ["one-plus-one-ea", "genetic-algorithm", "simulated-annealing"])
def test_search_methods_solve_onemax_with_enough_budget(method: str) -> None:
    (result,) = run_methods(OneMax(12), Setup(max_evals=400, seed=0), [method])
    assert result.best_value == 12.0 and result.stop_reason in ("max_evals", "stalled")


def test_infeasible_vectors_are_invalid_not_scored() -> None:
    (result,) = run_methods(OneMax(10, limit=4), Setup(max_evals=40, seed=2), ["random-search"])
    invalid = [t for t in result.trials if t.status == "invalid"]
    assert invalid and all(t.reason == "too many ones" and t.value is None for t in invalid)
    assert result.counts.invalid == {"too many ones": len(invalid)}
    assert result.best_value <= 4
