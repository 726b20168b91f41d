"""A run whose objective gives feedback, constraints and per-case scores, killed mid-step, resumes with them
intact; a pending journal of the previous format (values alone) still resumes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from llmopt import Evaluation
from llmopt.backends.scripted import ScriptedBackend
from llmopt.contract.problem import Problem
from llmopt.contract.spaces import Box
from llmopt.engine.records import RunRecorder, read_pending, read_steps
from llmopt.opro import OPRO, OPROConfig

CONFIG = OPROConfig(steps=3, proposals=3, initial=4, seed=3)
ANSWERS = [f"[{i % 7}, {(3 * i) % 8}]" for i in range(1, 40)]


class Told(Problem):
    """(x - 3)² + (y - 3)² on an integer box, with x + y <= 5 as a constraint, feedback and two cases; it
    dies (as a killed process) at evaluation `dies_at`."""

    name, summary = "told", "test problem"
    solution_label, value_label = "point", "value"

    def __init__(self, dies_at: int | None = None) -> None:
        self.space = Box(((0, 9), (0, 9)), integer=True)
        self.calls: list[tuple[int, int]] = []
        self.dies_at = dies_at

    def describe(self) -> str:
        return "Minimise f with x + y <= 5."

    def format_hint(self) -> str:
        return "Answer as [x1, x2]."

    def initial(self, rng, k):
        return [(5, 5), (4, 1), (0, 6), (7, 2)][:k]

    def evaluate(self, x) -> Evaluation:
        if len(self.calls) == self.dies_at:
            raise KeyboardInterrupt  # the process dies here
        self.calls.append(tuple(x))
        dx, dy = x[0] - 3, x[1] - 3
        feedback = {"x": f"{dx:+d} from 3", "y": dy} if x[0] % 2 else f"x is {dx:+d} from 3"
        return Evaluation(
            float(dx**2 + dy**2), feedback=feedback, constraints=[x[0] + x[1] - 5.0], cases=[dx**2, dy**2]
        )


def said(result) -> list[tuple]:
    return [(t.step, t.status, t.solution, t.value, t.feedback, t.constraints, t.cases) for t in result.trials]


def killed_then_resumed(run: Path, dies_at: int, edit=None):
    with pytest.raises(KeyboardInterrupt):
        OPRO(Told(dies_at), ScriptedBackend(ANSWERS), CONFIG, RunRecorder(run, {})).run()
    if edit is not None:
        edit(run / "pending.jsonl")
    asked = (
        sum(1 for line in (run / "steps.jsonl").read_text().splitlines()) - 1 if (run / "steps.jsonl").exists() else 0
    )
    pending = read_pending(run)
    asked += pending is not None and pending["step"] > 0
    again = Told()
    resumed = OPRO(
        again, ScriptedBackend(ANSWERS[asked * CONFIG.proposals :]), CONFIG, RunRecorder(run, {}, resume=True)
    )
    resumed.restore(read_steps(run), read_pending(run))
    return resumed.run(), again.calls


@pytest.mark.parametrize("dies_at", [2, 6], ids=["among-initial-points", "mid-step"])
def test_a_run_killed_mid_step_resumes_with_its_feedback_and_constraints(tmp_path: Path, dies_at: int) -> None:
    whole = Told()
    full = OPRO(whole, ScriptedBackend(ANSWERS), CONFIG).run()
    assert full.constrained and any(not t.feasible for t in full.evaluated())
    result, again = killed_then_resumed(tmp_path / "run", dies_at)
    assert len(again) == len(whole.calls) - dies_at, "no finished evaluation was made again"
    assert said(result) == said(full)
    assert result.counts == full.counts and result.best_value == full.best_value
    assert isinstance(result.trials[0].constraints, tuple), "a resumed trial's constraints are a tuple, as made"


def test_a_pending_journal_of_the_previous_format_resumes(tmp_path: Path) -> None:
    def as_before(path: Path) -> None:  # the previous version journaled each evaluation's value and round only
        lines = [json.loads(line) for line in path.read_text().splitlines()]
        old = [lines[0], *({k: v for k, v in r.items() if k in ("index", "value", "round")} for r in lines[1:])]
        assert len(old) > 1 and any(len(r) < len(n) for r, n in zip(old[1:], lines[1:]))
        path.write_text("".join(json.dumps(r) + "\n" for r in old))

    whole = Told()
    full = OPRO(whole, ScriptedBackend(ANSWERS), CONFIG).run()
    result, again = killed_then_resumed(tmp_path / "run", 6, as_before)
    assert len(again) == len(whole.calls) - 6, "no finished evaluation was made again"
    values = [(t.step, t.status, t.solution, t.value) for t in result.trials]
    assert values == [(t.step, t.status, t.solution, t.value) for t in full.trials]
    assert result.counts.evals == full.counts.evals and result.counts.llm_calls == full.counts.llm_calls
    # what the old journal did not keep is missing from those evaluations alone
    lost = [t for t, f in zip(result.trials, full.trials) if t.feedback != f.feedback]
    assert lost and all(t.feedback is None and t.constraints is None for t in lost)


def test_results_json_keeps_feedback_constraints_and_cases_exactly() -> None:
    from llmopt.core.result import Result

    full = OPRO(Told(), ScriptedBackend(ANSWERS), CONFIG).run()
    again = Result.from_json(full.to_json())
    assert said(again) == said(full) and again.counts.feasible == full.counts.feasible
    assert [t.feasible for t in again.trials] == [t.feasible for t in full.trials]
