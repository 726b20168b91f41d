"""The evaluation record (`llmopt.Evaluation`): what an objective may return, read strictly, and Deb's
feasibility rules, which every method's Result, the table and the curves follow."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

import llmopt
from llmopt import Evaluation, OPROConfig, Problem, ScriptedBackend, Trial
from llmopt.contract.evaluation import FEEDBACK_LIMIT, read_returned
from llmopt.contract.problem import evaluate_safely
from llmopt.contract.spaces import Box
from llmopt.core.feasibility import deb_better, rank_key, violation
from llmopt.core.result import Result
from llmopt.report.tables import comparison_table

# Twenty malformed evaluations, each with the words its one-line reason must hold.
MALFORMED: list[tuple[Any, str]] = [
    (None, "is None, not a number"),
    ("1.5", "is text ('1.5'), not a number"),
    (True, "is a bool (True), not a number"),
    ([1.0, 2.0], "is a sequence of 2 values"),
    ({"value": 1.0}, "is a dict, not a number"),
    (1 + 2j, "is a complex, not a number"),
    (math.nan, "not a finite value: nan"),
    (-math.inf, "not a finite value: -inf"),
    (Evaluation(None), "the value is None"),  # type: ignore[arg-type]
    (Evaluation("x"), "the value is text ('x')"),  # type: ignore[arg-type]
    (Evaluation(Evaluation(1.0)), "an Evaluation inside an Evaluation"),  # type: ignore[arg-type]
    (Evaluation(1.0, constraints=[0.0, math.nan]), "constraint 2 is NaN"),
    (Evaluation(1.0, constraints=["a"]), "constraint 1 is text ('a')"),  # type: ignore[list-item]
    (Evaluation(1.0, constraints={"cap": 1.0}), "the constraints are a dict"),  # type: ignore[arg-type]
    (Evaluation(1.0, constraints=[math.inf]), "constraint 1 is not finite (inf)"),
    (Evaluation(1.0, constraints=np.ones((2, 2))), "an array of shape (2, 2)"),
    (Evaluation(1.0, constraints=[0.0] * 1001), "1001 constraint values, more than 1000"),
    (Evaluation(1.0, feedback=42), "the feedback is a int; give a text or a flat dict"),  # type: ignore[arg-type]
    (Evaluation(1.0, feedback={"why": {"deep": 1}}), "the feedback's 'why' is a dict; the feedback is a flat dict"),
    (Evaluation(1.0, feedback={3: "x"}), "the feedback's key 3 is a int, not a text"),
    (Evaluation(1.0, feedback={"gap": math.nan}), "the feedback's 'gap' is not finite (nan)"),
    (Evaluation(1.0, cases=[1.0, "no"]), "case 2 is text ('no')"),  # type: ignore[list-item]
    (Evaluation(1.0, cases=[1.0] * 10_001), "10001 per-case scores, more than 10000"),
]


@pytest.mark.parametrize(("returned", "words"), MALFORMED, ids=[f"malformed-{i}" for i in range(len(MALFORMED))])
def test_a_malformed_evaluation_fails_with_one_reason_that_names_the_fault(returned: Any, words: str) -> None:
    outcome = read_returned(returned)
    assert outcome.value is None and outcome.status == "failed"
    assert words in (outcome.reason or "") and "\n" not in (outcome.reason or "")


def test_a_megabyte_of_feedback_is_cut_to_the_stated_limit_and_says_so() -> None:
    outcome = read_returned(Evaluation(2.0, feedback="x" * 1_000_000))
    assert outcome.value == 2.0 and isinstance(outcome.feedback, str)
    assert len(outcome.feedback) <= FEEDBACK_LIMIT and outcome.feedback.endswith(
        f"(cut at {FEEDBACK_LIMIT} characters)"
    )
    many = read_returned(Evaluation(2.0, feedback={f"k{i}": "y" * 100 for i in range(100)}))
    assert isinstance(many.feedback, dict) and many.feedback["…"] == f"cut at {FEEDBACK_LIMIT} characters"
    one = read_returned(Evaluation(2.0, feedback={"log": "z" * 5000, "later": "dropped"})).feedback
    assert isinstance(one, dict) and list(one) == ["log", "…"] and 1900 < len(one["log"]) <= FEEDBACK_LIMIT


def test_a_well_formed_evaluation_keeps_everything_it_said() -> None:
    outcome = evaluate_safely(
        lambda _: Evaluation(np.float32(1.5), feedback={"over": 3, "note": "heavy"}, constraints=np.array([0.5, -1])),
        None,
    )
    assert outcome == (1.5, None, "ok", {"over": 3.0, "note": "heavy"}, (0.5, -1.0), None, None)
    assert evaluate_safely(lambda _: Evaluation(1.0, constraints=0.25), None).constraints == (0.25,)
    assert evaluate_safely(lambda _: 3, None) == (3.0, None, "ok", None, None, None, None)


class Malformed(Problem):
    """A 1-D integer box whose objective returns the k-th malformed evaluation at x = k, a good one above."""

    name, summary = "malformed", "returns malformed evaluations"
    space = Box([(0, 40)], integer=True)

    def describe(self) -> str:
        return "Find x."

    def format_hint(self) -> str:
        return "Answer [x]."

    def initial(self, rng: np.random.Generator, k: int) -> list[Any]:
        return [(40,)]

    def evaluate(self, solution: Any) -> Any:
        x = int(solution[0])
        return MALFORMED[x][0] if x < len(MALFORMED) else Evaluation(float(x), feedback=f"x={x}")


def test_twenty_malformed_evaluations_each_fail_alone_and_the_run_finishes_with_nothing_lost() -> None:
    good = ["[30]", "[31]", "[32]"][: 2 + len(MALFORMED) % 2]  # two answers a step: an even count in all
    texts = [f"[{k}]" for k in range(len(MALFORMED))] + good
    config = OPROConfig(steps=len(texts) // 2, proposals=2, initial=1, seed=0)
    result = llmopt.OPRO(Malformed(), ScriptedBackend(texts), config).run()
    failed = [t for t in result.trials if t.status == "failed"]
    assert [t.text for t in failed] == [f"[{k}]" for k in range(len(MALFORMED))]
    for trial, (_, words) in zip(failed, MALFORMED):
        assert words in (trial.reason or "")
    assert result.stop_reason == "max_steps" and result.counts.failed_evals == len(MALFORMED)
    assert (result.best_value, result.counts.evals) == (30.0, 1 + len(good))
    assert [t.feedback for t in result.evaluated()] == ["x=40"] + [f"x={text[1:-1]}" for text in good]


def trial(value: float, constraints: tuple[float, ...] | None = None) -> Trial:
    return Trial(1, "ok", text=str(value), solution=value, value=value, constraints=constraints)


def test_debs_rules_rank_feasible_by_value_then_infeasible_by_violation() -> None:
    assert violation((0.5, -2.0, 1.0)) == 1.5 and violation(None) == 0
    keys = sorted([(9.0, (0.1,)), (5.0, None), (1.0, (3.0,)), (7.0, (-1.0,))], key=lambda v: rank_key(*v, "min"))
    assert keys == [(5.0, None), (7.0, (-1.0,)), (9.0, (0.1,)), (1.0, (3.0,))]
    assert deb_better("max", 1.0, None, 100.0, (0.01,)) and not deb_better("max", 1.0, (2.0,), 0.0, (1.0,))


def test_a_results_best_is_its_best_feasible_solution_and_the_table_says_when_there_is_none() -> None:
    result = Result(method="m", problem="p", direction="min")
    for t in (trial(3.0, (1.0,)), trial(-5.0, (0.2,))):
        result.add(t)
    assert result.best_value is None and result.no_feasible and result.best_trial().value == -5.0
    assert np.isnan(result.best_so_far()).all()
    header, _, row = comparison_table([result]).splitlines()
    assert "feasible" in header and "no feasible solution" in row
    result.add(trial(4.0, (-1.0,)))
    result.add(trial(2.0, (0.0,)))
    assert (result.best_value, result.counts.feasible) == (2.0, 2)
    assert list(result.best_so_far()[2:]) == [4.0, 2.0]
    assert Result.from_json(result.to_json()).summary()["feasible"] == 2


def test_an_unconstrained_table_has_no_feasible_column() -> None:
    result = Result(method="m", problem="p", direction="min")
    result.add(trial(1.0))
    assert "feasible" not in comparison_table([result]) and result.summary()["feasible"] is None
