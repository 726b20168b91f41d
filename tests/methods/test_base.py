"""The Objective every black-box method goes through, black-box and reference runners, the registry."""

from __future__ import annotations

import pytest

from llmopt.contract.problem import Problem, UsageError
from llmopt.contract.spaces import Box
from llmopt.core.result import Result
from llmopt.methods import Setup, methods_for, resolve
from llmopt.methods.classical.base import Objective, Stop, black_box, reference


class Counting(Problem):
    """x1 + x2 over a small integer box, counting every real evaluation."""

    name, summary = "counting", "test problem"

    def __init__(self, direction: str = "min") -> None:
        self.direction = direction
        self.space = Box(((0, 9), (0, 9)), integer=True)
        self.calls = 0

    def describe(self) -> str:
        return "d"

    def format_hint(self) -> str:
        return "f"

    def evaluate(self, x) -> float:
        self.calls += 1
        return float(sum(x))


def test_objective_charges_new_solutions_only_and_stops_at_the_budget() -> None:
    problem = Counting()
    result = Result("m", problem.name, problem.direction, kind="black-box")
    f = Objective.on_terms(problem, Setup(max_evals=3), result)
    assert f((1, 2)) == 3.0 and f((1, 2)) == 3.0 and f((0, 0)) == 0.0
    with pytest.raises(Stop, match="max_evals"):
        f.batch([(0, 1), (5, 5), (6, 6)])  # the last round is cut to the one evaluation left
    assert problem.calls == 3 and result.counts.evals == 3
    assert [t.eval_index for t in result.trials] == [1, 2, 3] and result.best_value == 0.0


def test_an_objective_needs_a_budget() -> None:
    from llmopt.engine.ledger import Ledger

    problem = Counting()
    ledger = Ledger(problem, Result("m", problem.name, "min"), max_evals=None)
    with pytest.raises(ValueError, match="needs an evaluation budget"):  # a search would never be stopped
        Objective(problem, ledger)


def test_loss_negates_for_maximisation() -> None:
    problem = Counting("max")
    f = Objective.on_terms(problem, Setup(max_evals=5), Result("m", problem.name, "max"))
    assert f.loss((2, 3)) == -5.0


def test_a_search_that_only_repeats_itself_is_stopped() -> None:
    def stuck(space, f, setup):
        while True:
            f((1, 1))

    result = black_box("stuck", stuck).run(Counting(), Setup(max_evals=3))
    assert result.counts.evals == 1 and result.stop_reason == "stalled"


def test_a_reference_has_no_evaluation_count() -> None:
    result = reference("exact", lambda: (0, 0)).run(Counting(), Setup(max_evals=3))
    assert result.kind == "reference" and result.best_value == 0.0 and result.counts.evals == 0
    assert result.trials == [] and result.summary()["n_evals"] is None


def test_methods_follow_the_space_and_unknown_names_are_usage_errors() -> None:
    methods = methods_for(Counting())
    assert {name for name, m in methods.items() if m.default} == {
        "opro",
        "powell",
        "gp-bo",
        "nevergrad-ngopt",
        "optuna-tpe",
        "nelder-mead",
        "random-search",
    }
    assert {"cma-es", "dual-annealing", "differential-evolution", "lmx", "lmx-no-model"} <= set(methods), "by name"
    assert not any(methods[name].default for name in ("lmx", "lmx-no-model"))
    assert methods["opro-no-history"].kind == "ablation" and not methods["opro-no-history"].default
    with pytest.raises(UsageError, match="unknown method simplex"):
        resolve(Counting(), ["simplex"])


def test_a_problem_without_a_space_gets_no_black_box_method() -> None:
    class Bare(Counting):
        space = None

        def __init__(self) -> None:
            pass

    assert {m.kind for m in methods_for(Bare()).values()} == {"model", "ablation"}


def test_a_black_box_method_stops_at_the_target_like_opro() -> None:
    def count_up(space, f, setup):
        for x in range(10):
            f((x, x))

    result = black_box("up", count_up).run(Counting("max"), Setup(max_evals=9, target=4.0))
    assert result.stop_reason == "target" and result.best_value == 4.0 and result.counts.evals == 3
    assert result.first_reaching(4.0).eval_index == 3
