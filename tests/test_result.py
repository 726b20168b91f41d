"""Result: JSON round trip, convergence curve, comparison table."""

from __future__ import annotations

from llmopt.result import Counts, Result, Trial, comparison_table


def sample() -> Result:
    return Result(method="opro", problem="p", direction="min", best_solution=[1, 2], best_value=3.0,
                  trials=[Trial(0, "initial", text="a", solution=[0, 0], value=9.0),
                          Trial(1, "ok", raw="r", text="b", solution=[1, 2], value=3.0),
                          Trial(1, "invalid", raw="x", reason="bad"),
                          Trial(2, "ok", raw="r", text="c", solution=[5, 5], value=4.0)],
                  counts=Counts(llm_calls=2, prompt_tokens=10, completion_tokens=5, proposals=3, evals=3,
                                invalid={"bad": 1}),
                  stop_reason="max_steps", seconds=1.5, optimum=2.0)


def test_json_round_trip() -> None:
    result = sample()
    assert Result.from_json(result.to_json()) == result


def test_best_per_step_is_monotone() -> None:
    assert sample().best_per_step() == [(0, 9.0), (1, 3.0), (2, 3.0)]


def test_summary_and_counts() -> None:
    summary = sample().summary()
    assert summary["n_evals"] == 3 and summary["tokens"] == 15 and summary["n_llm_calls"] == 2
    assert sample().invalid_share() == 1 / 3
    assert sample().gap == 1.0


def test_table_has_every_method() -> None:
    other = Result(method="nelder-mead", problem="p", direction="min", best_value=2.5)
    table = comparison_table([sample(), other], optimum=2.0)
    lines = table.splitlines()
    assert lines[0].split()[:3] == ["method", "best", "value"]
    assert lines[2].startswith("opro") and lines[3].startswith("nelder-mead")
    assert " 0.5 " in lines[3]
