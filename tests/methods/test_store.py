"""Stored Results of compared methods: replayed for the same task, Setup and code, recomputed otherwise."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import pytest

from llmopt.contract.problem import UsageError
from llmopt.methods import ResultStore, Setup, run_methods


def bowl_problem(module_dir: Path, body: str, monkeypatch: pytest.MonkeyPatch):
    """A user's function in a module file of its own, counting its calls in the module."""
    from llmopt.problems.numeric import NumericProblem

    (module_dir / "user_bowl.py").write_text(f"CALLS = []\n\ndef f(x):\n    CALLS.append(1)\n    return {body}\n")
    monkeypatch.syspath_prepend(str(module_dir))
    sys.modules.pop("user_bowl", None)
    module = importlib.import_module("user_bowl")
    return NumericProblem(module.f, [(-3, 3), (-3, 3)], label="user_bowl:f"), module.CALLS


def test_a_rerun_replays_without_evaluating(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    problem, calls = bowl_problem(tmp_path, "float(((x - 1) ** 2).sum())", monkeypatch)
    store = ResultStore(tmp_path / "cache.sqlite")
    setup = Setup(max_evals=20, seed=4)
    first = run_methods(problem, setup, ["nelder-mead", "random-search"], store)
    spent = len(calls)
    again = run_methods(problem, setup, ["nelder-mead", "random-search"], ResultStore(tmp_path / "cache.sqlite"))
    assert spent > 0 and len(calls) == spent
    assert [r.trials for r in again] == [r.trials for r in first]
    assert [{**r.summary(), "seconds": 0} for r in again] == [{**r.summary(), "seconds": 0} for r in first]


def test_a_replayed_result_shows_the_seconds_this_run_spent(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    problem, _ = bowl_problem(tmp_path, "float(((x - 1) ** 2).sum())", monkeypatch)
    store = ResultStore(tmp_path / "cache.sqlite")
    (first,) = run_methods(problem, Setup(max_evals=20, seed=4), ["random-search"], store)
    first.seconds = 30.0  # as if the first run had been slow: stored as such
    store._store.put(store.key(*_method_problem_setup(problem)), first.to_json())
    (again,) = run_methods(problem, Setup(max_evals=20, seed=4), ["random-search"], store)
    assert again.seconds < 5 and again.extra["seconds_computed"] == 30.0, "seconds: what this run spent"


def _method_problem_setup(problem):
    from llmopt.methods import resolve

    (method,) = resolve(problem, ["random-search"])
    return method, problem, Setup(max_evals=20, seed=4)


def test_another_seed_or_changed_code_is_computed_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = ResultStore(tmp_path / "cache.sqlite")
    problem, _ = bowl_problem(tmp_path, "float(((x - 1) ** 2).sum())", monkeypatch)
    (first,) = run_methods(problem, Setup(max_evals=10, seed=1), ["random-search"], store)
    run_methods(problem, Setup(max_evals=10, seed=2), ["random-search"], store)
    assert (store.hits, store.misses) == (0, 2)
    changed, _ = bowl_problem(tmp_path, "float(((x + 1) ** 2).sum())", monkeypatch)
    (second,) = run_methods(changed, Setup(max_evals=10, seed=1), ["random-search"], store)
    assert (store.hits, store.misses) == (0, 3)
    assert second.best_value != first.best_value


def test_a_broken_store_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "bad.sqlite").write_text("not a database")
    with pytest.raises(UsageError, match="or pass no_cache") as refused:
        ResultStore(tmp_path / "bad.sqlite")
    from llmopt.cli.options import flag_of

    assert refused.value.naming(flag_of).endswith("or pass --no-cache"), "the CLI names the flag"


def test_every_term_of_the_setup_is_in_the_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from llmopt.methods import methods_for

    problem, _ = bowl_problem(tmp_path, "float(((x - 1) ** 2).sum())", monkeypatch)
    store, method = ResultStore(tmp_path / "cache.sqlite"), methods_for(problem)["powell"]
    base = Setup(max_evals=10, seed=1, starts=((0.5, 0.5),))
    variants = [
        base,
        Setup(11, 1, base.starts),
        Setup(10, 2, base.starts),
        Setup(10, 1, ((1.5, 0.5),)),
        Setup(10, 1, base.starts, target=0.1),
        Setup(10, 1, base.starts, max_failures=3),
    ]
    assert len({store.key(method, problem, setup) for setup in variants}) == len(variants)


def test_a_closure_is_never_replayed_in_another_process(tmp_path: Path) -> None:
    from llmopt.problems.numeric import NumericProblem

    def bowl(shift):
        return lambda x: float(((x - shift) ** 2).sum())

    one, two = NumericProblem(bowl(1.0), [(-2, 2)]), NumericProblem(bowl(-1.0), [(-2, 2)])
    assert one.fingerprint() != two.fingerprint()


def test_a_result_with_failed_evaluations_is_not_stored(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    problem, _ = bowl_problem(tmp_path, "float('nan') if x[0] < 0 else float((x ** 2).sum())", monkeypatch)
    store = ResultStore(tmp_path / "cache.sqlite")
    run_methods(problem, Setup(max_evals=10, seed=0), ["random-search"], store)
    run_methods(problem, Setup(max_evals=10, seed=0), ["random-search"], store)
    assert (store.hits, store.misses) == (0, 2)


def test_a_stored_result_is_keyed_on_the_code_that_computes_it_and_no_other(build_problem) -> None:
    from llmopt.methods import methods_for
    from llmopt.methods.store import _imports, _roots

    found = methods_for(build_problem("sphere"))
    powell = _imports(_roots(found["powell"].run))
    assert {
        "llmopt.methods.classical.box",
        "llmopt.methods.classical.base",
        "llmopt.contract.problem",
        "llmopt.core.result",
    } <= powell
    assert not {
        m for m in powell if m.startswith(("llmopt.cli", "llmopt.report", "llmopt.bench", "llmopt.report.plots"))
    }
    assert "llmopt.methods.classical.library" in _imports(_roots(found["optuna-tpe"].run)) - powell
    assert "llmopt.methods.model.lmx" in _imports(_roots(found["lmx-no-model"].proposer))


def test_a_stored_result_with_two_objectives_replays_its_values_and_front(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from llmopt.methods import methods_for
    from llmopt.problems.numeric import NumericProblem

    one, calls = bowl_problem(tmp_path, "(float(x[0]), float(((x - 1) ** 2).sum()))", monkeypatch)
    # random search, as its owner marks it for several objectives (taken here from the one-objective list)
    method = methods_for(one)["random-search"]
    fun = sys.modules["user_bowl"].f
    two = NumericProblem(fun, [(-3, 3), (-3, 3)], label="user_bowl:f", directions=("min", "min"), reference=(5.0, 40.0))
    setup = Setup(max_evals=12, seed=4)
    first = ResultStore(tmp_path / "cache.sqlite").replay(method, two, setup)
    again = ResultStore(tmp_path / "cache.sqlite").replay(method, two, setup)
    assert first.multiobjective and len(calls) == 12, "the second was replayed, not evaluated"
    assert [t.values for t in again.trials] == [t.values for t in first.trials]
    assert all(isinstance(t.values, tuple) for t in again.evaluated())
    assert again.front() == first.front() and again.best_value == first.best_value
    assert (again.directions, again.reference) == (("min", "min"), (5.0, 40.0))


def test_a_derived_reference_point_is_in_the_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from llmopt.methods import methods_for
    from llmopt.problems.numeric import NumericProblem

    scale = tmp_path / "scale.txt"  # data the function reads: no part of its code, so not of the fingerprint
    scale.write_text("1")
    body = f"(float(x[0]), float(((x - 1) ** 2).sum()) * float(open({str(scale)!r}).read()))"
    one, _ = bowl_problem(tmp_path, body, monkeypatch)
    method = methods_for(one)["random-search"]
    fun = sys.modules["user_bowl"].f

    def two_goals() -> NumericProblem:  # no reference given: it is derived from random points
        return NumericProblem(fun, [(-3, 3), (-3, 3)], label="user_bowl:f", directions=("min", "min"))

    store, setup = ResultStore(tmp_path / "cache.sqlite"), Setup(max_evals=8, seed=4)
    first = store.replay(method, two_goals(), setup)
    scale.write_text("2")
    changed = two_goals()
    again = store.replay(method, changed, setup)
    assert changed.reference_point() != first.reference
    assert store.misses == 2 and again.reference == changed.reference_point(), "measured against its own point"
