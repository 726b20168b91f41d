"""A run with several objectives, killed among its start points or mid-step, resumes to the uninterrupted
run's trials, values and front; its records (steps.jsonl, pending.jsonl, results.json) carry the vectors."""

from __future__ import annotations

import json
import sys
import types
from pathlib import Path

import pytest

from llmopt.backends.scripted import ScriptedBackend
from llmopt.cli import main
from llmopt.contract.problem import Problem
from llmopt.contract.spaces import Box
from llmopt.core.result import Result
from llmopt.engine.records import RunRecorder, read_pending, read_steps
from llmopt.opro import OPRO, OPROConfig

CONFIG = OPROConfig(steps=3, proposals=3, initial=4, seed=3)
ANSWERS = [f"[{i % 7}, {(3 * i) % 8}]" for i in range(1, 40)]


class TwoGoals(Problem):
    """Minimise (x, (x - 5)² + y) on an integer box, against (40, 40); it dies (as a killed process) at
    evaluation `dies_at`."""

    name, summary = "two-goals", "test problem"
    directions = ("min", "min")
    reference = (40.0, 40.0)

    def __init__(self, dies_at: int | None = None) -> None:
        self.space = Box(((0, 9), (0, 9)), integer=True)
        self.calls: list[tuple[int, int]] = []
        self.dies_at = dies_at

    def describe(self) -> str:
        return "Minimise both."

    def format_hint(self) -> str:
        return "Answer as [x1, x2]."

    def initial(self, rng, k):
        return [(5, 5), (4, 1), (0, 6), (7, 2)][:k]

    def evaluate(self, x) -> tuple[float, float]:
        if len(self.calls) == self.dies_at:
            raise KeyboardInterrupt  # the process dies here
        self.calls.append(tuple(x))
        return float(x[0]), float((x[0] - 5) ** 2 + x[1])


def scored(result: Result) -> list[tuple]:
    return [(t.step, t.status, t.solution, t.value, t.values) for t in result.trials]


def killed_then_resumed(run: Path, dies_at: int) -> tuple[Result, list]:
    with pytest.raises(KeyboardInterrupt):
        OPRO(TwoGoals(dies_at), ScriptedBackend(ANSWERS), CONFIG, RunRecorder(run, {})).run()
    steps = read_steps(run)
    pending = read_pending(run)
    asked = max(len(steps) - 1, 0) + (pending is not None and pending["step"] > 0)
    again = TwoGoals()
    resumed = OPRO(
        again, ScriptedBackend(ANSWERS[asked * CONFIG.proposals :]), CONFIG, RunRecorder(run, {}, resume=True)
    )
    resumed.restore(steps, pending)
    return resumed.run(), again.calls


@pytest.mark.parametrize("dies_at", [2, 6], ids=["among-initial-points", "mid-step"])
def test_a_killed_run_with_two_objectives_resumes_to_the_uninterrupted_runs_front(tmp_path: Path, dies_at: int) -> None:
    whole = TwoGoals()
    full = OPRO(whole, ScriptedBackend(ANSWERS), CONFIG).run()
    assert full.multiobjective and len(full.front()) > 1
    result, again = killed_then_resumed(tmp_path / "run", dies_at)
    assert len(again) == len(whole.calls) - dies_at, "no finished evaluation was made again"
    assert scored(result) == scored(full)
    assert [t.values for t in result.front()] == [t.values for t in full.front()]
    assert result.best_value == pytest.approx(full.best_value) and result.counts == full.counts
    assert all(isinstance(t.values, tuple) for t in result.evaluated()), "a resumed trial's values are a tuple"


def test_the_journal_holds_each_evaluations_values(tmp_path: Path) -> None:
    with pytest.raises(KeyboardInterrupt):
        OPRO(TwoGoals(6), ScriptedBackend(ANSWERS), CONFIG, RunRecorder(tmp_path, {})).run()
    first = read_steps(tmp_path)[0]["trials"][0]
    assert first["value"] is None and first["values"] == [5.0, 5.0], "(5, 5) scores (5, 0 + 5)"
    evals = [json.loads(line) for line in (tmp_path / "pending.jsonl").read_text().splitlines()[1:]]
    assert evals and all(e["value"] is None and len(e["values"]) == 2 for e in evals)


def test_results_json_keeps_the_directions_reference_and_values_exactly() -> None:
    full = OPRO(TwoGoals(), ScriptedBackend(ANSWERS), CONFIG).run()
    again = Result.from_json(full.to_json())
    assert (again.directions, again.reference) == (("min", "min"), (40.0, 40.0))
    assert scored(again) == scored(full) and again.best_value == full.best_value
    assert again.best_solution == full.best_solution and again.summary() == full.summary()


def test_a_record_written_before_several_objectives_reads_as_one_objective() -> None:
    data = Result("m", "p", "min").to_dict()
    for key in ("directions", "reference"):
        data.pop(key)
    old = Result.from_dict(data)
    assert old.directions is None and old.reference is None and not old.multiobjective


def test_a_run_whose_derived_reference_point_changed_is_not_resumed(tmp_path: Path, monkeypatch, capsys) -> None:
    module = types.ModuleType("reffix_two_goals")
    module.f = lambda x: (x[0], (x[0] - 1) ** 2 + x[1])  # no --reference: the point is derived from f
    monkeypatch.setitem(sys.modules, module.__name__, module)
    common = ["run", "function", "--function", "reffix_two_goals:f", "--bounds=-2:2,-2:2", "--directions", "min", "min"]
    common += ["--methods", "random-search", "--steps", "1", "--proposals", "2", "--no-cache"]
    run = tmp_path / "run"
    assert main([*common, "--out", str(run)]) == 0
    saved = json.loads((run / "config.json").read_text())["reference"]
    monkeypatch.setattr(module, "f", lambda x: (x[0], 3 * x[1]))  # the user edits the function: another point
    capsys.readouterr()
    assert main([*common, "--resume", str(run)]) == 2
    said = capsys.readouterr().err.strip()
    assert "reference point" in said and str(saved) in said and "\n" not in said
