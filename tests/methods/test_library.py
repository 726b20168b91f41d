"""The field's optimizers (Optuna TPE, Nevergrad NGOpt, GP Bayesian optimisation) under the shared terms,
checked over every registered problem of their space: budget, target, seed, start points, bounds and
integrality."""

from __future__ import annotations

import pytest

from llmopt.contract.registry import registry
from llmopt.contract.spaces import Bits, Box, Permutation
from llmopt.methods import Setup, methods_for, run_methods
from llmopt.methods.classical.library import bits_methods, box_methods

LIBRARY = {Box: sorted(box_methods(Box(((0, 1),)))), Bits: sorted(bits_methods(Bits(2)))}
# GP Bayesian optimisation fits a GP per evaluation: a smaller budget keeps its cases short
BUDGET = {"gp-bo": 8}
# Methods that draw at random; NGOpt picks a deterministic local search (from the start points) at small budgets
SEEDED = {"optuna-tpe", "gp-bo"}


def cases() -> list[tuple[str, str]]:
    out = []
    for name in sorted(registry()):
        if name == "prompt-search":
            continue  # a text space: none of these methods apply
        space = registry()[name].space if isinstance(registry()[name].space, (Box, Bits)) else None
        kinds = [LIBRARY[cls] for cls in LIBRARY if space is None or isinstance(space, cls)]
        out += [(name, method) for methods in kinds for method in methods if (name, method) not in out]
    return out


@pytest.fixture(scope="module")
def built(build_problem):
    cache: dict[str, object] = {}

    def get(name: str):
        if name not in cache:
            cache[name] = build_problem(name)
        return cache[name]

    return get


@pytest.mark.parametrize("name, method", cases())
def test_library_methods_keep_the_shared_terms(name: str, method: str, built) -> None:
    problem = built(name)
    if method not in methods_for(problem):
        pytest.skip(f"{name}'s space has no {method}")
    space = problem.space
    budget = BUDGET.get(method, 15)
    starts = tuple(problem.initial(__import__("numpy").random.default_rng(0), 2))
    first = run_methods(problem, Setup(max_evals=budget, seed=1, starts=starts), [method])[0]
    again = run_methods(problem, Setup(max_evals=budget, seed=1, starts=starts), [method])[0]
    other = run_methods(problem, Setup(max_evals=budget, seed=2, starts=starts), [method])[0]
    assert first.kind == "black-box" and 1 <= first.counts.evals <= budget
    assert first.stop_reason in ("max_evals", "stalled", "target"), first.stop_reason
    texts = [t.text for t in first.trials]
    assert texts == [t.text for t in again.trials], "the same seed gives the same Result"
    if method in SEEDED:
        assert texts != [t.text for t in other.trials], "another seed gives another search"
    alone = run_methods(problem, Setup(max_evals=budget, seed=1), [method])[0]
    assert texts == [t.text for t in alone.trials], "its own initial design, as the library's, not the shared starts"
    for trial in first.trials:
        if isinstance(space, Permutation):  # NSGA-II's random keys: an ordering of every item, from the start
            assert space.decode(space.encode(trial.solution)) == trial.solution
            continue
        assert space.snap(trial.solution) == trial.solution, "inside the box, integers where declared"
        if isinstance(space, Box):
            assert all(lo <= v <= hi for v, (lo, hi) in zip(trial.solution, space.bounds))


@pytest.mark.parametrize("method", LIBRARY[Box])
def test_library_methods_stop_at_the_target(method: str, built) -> None:
    problem = built("sphere")
    starts = tuple(problem.initial(__import__("numpy").random.default_rng(0), 3))
    target = sorted(problem.evaluate(s) for s in starts)[0] * 1.5
    result = run_methods(
        problem, Setup(max_evals=BUDGET.get(method, 30), seed=0, starts=starts, target=target), [method]
    )[0]
    assert result.stop_reason == "target" and result.trials[-1].value <= target


@pytest.mark.parametrize("method", LIBRARY[Bits])
def test_library_methods_see_failures_as_the_worst_value(method: str) -> None:
    from llmopt.contract.problem import Problem

    class Picky(Problem):
        name, summary = "picky", "fails on half of the vectors"
        space = Bits(6)

        def describe(self) -> str:
            return "d"

        def format_hint(self) -> str:
            return "f"

        def evaluate(self, bits) -> float:
            if bits[0]:
                raise RuntimeError("no")
            return float(sum(bits))

    result = run_methods(Picky(), Setup(max_evals=12, seed=0, starts=((0,) * 6,), max_failures=100), [method])[0]
    failed = [t for t in result.trials if t.status == "failed"]
    assert failed and all(t.reason == "RuntimeError: no" for t in failed), "it met failures"
    assert result.stop_reason in ("max_evals", "stalled") and result.counts.evals >= 2, result.stop_reason
    assert result.best_value == 0.0
