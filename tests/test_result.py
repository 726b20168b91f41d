"""Result: it owns its trial log (best so far, evaluation index, target), exact JSON, the comparison table."""

from __future__ import annotations

import math

import pytest

from llmopt.core.direction import reached
from llmopt.core.result import Counts, Result, Trial
from llmopt.core.stops import StopStatus, status_of
from llmopt.report.tables import comparison_table


def sample() -> Result:
    result = Result(method="opro", problem="p", direction="min", stop_reason="max_steps", seconds=1.5, optimum=2.0)
    result.add(Trial(0, "initial", text="a", solution=(0, 0), value=9.0))
    result.add(Trial(1, "ok", raw="r", text="b", solution=(1, 2), value=3.0))
    result.add(Trial(1, "invalid", raw="x", reason="bad"))
    result.add(Trial(1, "duplicate", raw="r", text="b", solution=(1, 2)))
    result.add(Trial(2, "ok", raw="r", text="c", solution=(5, 5), value=4.0))
    assert result.counts.evals == 3  # counted by add(), one per evaluated trial
    result.counts = Counts(
        llm_calls=2, prompt_tokens=10, completion_tokens=5, proposals=4, evals=3, duplicates=1, invalid={"bad": 1}
    )
    return result


def test_add_keeps_best_and_numbers_evaluations_apart_from_steps() -> None:
    result = sample()
    assert result.best_value == 3.0 and result.best_solution == (1, 2)
    assert [t.eval_index for t in result.trials] == [1, 2, None, None, 3]
    assert [t.step for t in result.evaluated()] == [0, 1, 2]


def test_best_follows_the_direction() -> None:
    result = Result("m", "p", "max")
    for value in (1.0, 5.0, 2.0):
        result.add(Trial(None, "ok", value=value, solution=value))
    assert result.best_value == 5.0 and result.best_so_far().tolist() == [1.0, 5.0, 5.0]


@pytest.mark.parametrize("solution", [(1, 2), (1.5, -0.25), (0, 3, 1, 2), "an instruction", ((1, 2), [3, (4,)])])
def test_json_round_trip_is_exact_for_every_solution_type(solution) -> None:
    result = sample()
    result.add(Trial(3, "ok", text="t", solution=solution, value=1.0))
    again = Result.from_json(result.to_json())
    assert again == result
    assert type(again.best_solution) is type(solution) and again.best_solution == solution


def test_best_so_far_and_best_per_step_are_monotone() -> None:
    assert sample().best_so_far().tolist() == [9.0, 3.0, 3.0]
    assert sample().best_per_step() == [(0, 9.0), (1, 3.0), (2, 3.0)]


def test_target_reached_is_one_definition_with_a_tolerance() -> None:
    assert reached(3.0 + 1e-12, 3.0, "min") and not reached(3.1, 3.0, "min")
    assert reached(99.99999999999, 100.0, "max") and not reached(99.0, 100.0, "max")
    assert not reached(None, 1.0, "min") and not reached(math.nan, 1.0, "min")
    hit = sample().first_reaching(3.0)
    assert hit is not None and hit.eval_index == 2 and hit.step == 1
    assert sample().first_reaching(2.0) is None


def test_summary_and_counts() -> None:
    summary = sample().summary()
    assert summary["n_evals"] == 3 and summary["tokens"] == 15 and summary["n_llm_calls"] == 2
    assert summary["kind"] == "model" and summary["duplicates"] == 1 and summary["invalid"] == 1


def test_a_result_answers_to_scipys_names() -> None:
    result = sample()
    assert (result.x, result.fun, result.nfev) == (result.best_solution, result.best_value, result.counts.evals)
    assert result.nfev == 3 and result.message == result.stop_reason
    assert result.success and result.status == 0
    for broken in ("crashed: ValueError: x", "interrupted", "model_unreachable", "scorer_unreachable"):
        result.stop_reason = broken
        assert not result.success and result.status < 0, broken
    result.stop_reason, result.best_value = "max_evals", None
    assert not result.success, "no solution found is no success"


@pytest.mark.parametrize(
    "reason, status",
    [
        ("max_steps", StopStatus.FINISHED),
        ("converged", StopStatus.FINISHED),
        ("solved", StopStatus.FINISHED),
        ("target", StopStatus.TARGET),
        ("max_cost", StopStatus.LIMIT),
        ("stalled", StopStatus.LIMIT),
        ("enough", StopStatus.LIMIT),  # a stop rule of the caller's
        ("max_failures", StopStatus.FAILURES),
        ("max_failures (the default: the budget, 30)", StopStatus.FAILURES),
        ("crashed: ValueError: bad (very) bad", StopStatus.CRASHED),
        ("interrupted", StopStatus.INTERRUPTED),
        ("scorer_unreachable", StopStatus.UNREACHABLE),
        ("every evaluation failed", StopStatus.NOTHING_SCORED),
        ("no valid solution: the tour repeats a city", StopStatus.NO_SOLUTION),
        ("", StopStatus.RUNNING),  # not stopped yet: no success to claim
    ],
)
def test_a_stop_reason_has_a_status_whatever_its_detail(reason: str, status: StopStatus) -> None:
    result = Result("m", "p", "min", best_value=1.0, stop_reason=reason)
    assert status_of(reason) is status and result.status is status and result.summary()["status"] == status
    assert result.success is (0 <= status < StopStatus.RUNNING)


def test_every_stop_reason_the_engine_and_the_methods_give_is_named_with_its_status() -> None:
    from llmopt.core import stops
    from llmopt.engine.config import RunConfig
    from llmopt.engine.stopping import black_box_rules, rules_for

    limits = dict(max_llm_calls=1, max_total_tokens=1, max_cost=1.0, timeout=1.0, patience=1, max_failures=1)
    config = RunConfig(target=0.0, max_evals=5, **limits)
    reasons = [rule.reason for rule in [*rules_for(config), *black_box_rules(5, 0.0, None, 1.0)]]
    assert len(reasons) == 15 and all(stops.name_of(reason) in stops.STATUS for reason in reasons), reasons
    assert set(StopStatus) - {StopStatus.RUNNING} == set(stops.STATUS.values()), "every status has a reason"


def test_add_counts_a_trial_as_the_ledger_does_live_and_on_replay() -> None:
    result = Result("opro", "p", "min")
    result.add(Trial(0, "initial", text="a", solution=1, value=3.0, round=1))
    result.add(Trial(1, "ok", text="b", solution=2, value=2.0, round=2, first_attempt={"raw": "x", "reason": "bad"}))
    result.add(Trial(1, "duplicate", text="b", solution=2))
    result.add(Trial(1, "failed", text="c", solution=3, reason="boom", round=2))
    result.add(Trial(2, "failed", text="c", solution=3, reason="boom again", round=3), retry=True)
    counts = result.counts
    assert (counts.starts, counts.proposals, counts.duplicates, counts.evals) == (1, 3, 1, 2)
    assert counts.invalid == {"bad": 1} and counts.rounds == 3
    assert counts.failed_evals == 1, "a retry that failed again counts once"


def test_table_groups_by_kind_and_hides_what_a_kind_does_not_have() -> None:
    reference = Result(method="least-squares", problem="p", direction="min", kind="reference", best_value=2.0)
    other = Result(method="nelder-mead", problem="p", direction="min", kind="black-box", best_value=2.5)
    other.counts.evals = 7
    table = comparison_table([reference, sample(), other], optimum=2.0)
    lines = table.splitlines()
    assert lines[0].split()[:4] == ["method", "kind", "best", "value"]
    assert [line.split()[0] for line in lines[2:]] == ["opro", "nelder-mead", "least-squares"]
    assert lines[3].split()[1:5] == ["black-box", "2.5", "0.5", "7"]
    assert lines[4].split()[4] == "-"  # a reference has no evaluation count


def test_table_shows_failed_evaluations_only_when_there_are_some() -> None:
    assert "failed" not in comparison_table([sample()]).splitlines()[0]
    broken = sample()
    broken.add(Trial(3, "failed", text="d", solution=(9, 9), reason="ValueError: boom"))
    header, _, row = comparison_table([broken]).splitlines()
    assert header.split()[5:7] == ["evals", "failed"] and row.split()[4:6] == ["3", "1"]


def test_a_record_from_before_starts_were_counted_reads_them_from_its_trials() -> None:
    from llmopt.core.result import Result, Trial

    result = Result("opro", "p", "min")
    for trial in [
        Trial(0, "initial", value=3.0),
        Trial(0, "invalid", reason="x"),
        Trial(1, "ok", value=2.0),
        Trial(1, "skipped", reason="evaluation budget spent"),
    ]:
        result.add(trial)
    data = result.to_dict()
    del data["counts"]["starts"], data["counts"]["skipped"]
    counts = Result.from_dict(data).counts
    assert (counts.starts, counts.skipped) == (2, 1)


def test_a_count_that_is_zero_in_every_row_is_left_out_of_the_table() -> None:
    from llmopt.report.tables import count_columns

    rows = [
        {
            "kind": "model",
            "n_evals": 9,
            "rounds": 9,
            "starts": 5,
            "proposals": 8,
            "failed_evals": 0,
            "skipped": 0,
            "repaired": 0,
            "duplicates": 1,
            "invalid": 0,
            "n_llm_calls": 8,
            "tokens": 90,
        }
    ]
    shown = count_columns(rows)
    assert not {"failed_evals", "skipped", "repaired", "rounds"} & set(shown)
    assert {"starts", "proposals", "invalid"} <= set(shown)  # always shown, zero or not
    assert "skipped" in count_columns([*rows, {**rows[0], "skipped": 2}])
