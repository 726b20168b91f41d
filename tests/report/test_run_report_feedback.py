"""The run report's transcript shows each trial's feedback, constraint values and feasibility, and its best so
far passes over infeasible solutions (Deb's rules)."""

from __future__ import annotations

from pathlib import Path

from llmopt import Evaluation
from llmopt.backends.scripted import ScriptedBackend
from llmopt.contract.problem import Problem
from llmopt.contract.spaces import Box
from llmopt.engine.records import RunRecorder
from llmopt.opro import OPRO, OPROConfig
from llmopt.report import write_run_report


class Below(Problem):
    """(x - 3)² + (y - 3)² with x + y <= 4; the unconstrained optimum (3, 3) is infeasible."""

    name, summary = "below", "test problem"
    solution_label, value_label = "point", "value"
    space = Box(((0, 9), (0, 9)), integer=True)

    def describe(self) -> str:
        return "Minimise f with x + y <= 4."

    def format_hint(self) -> str:
        return "Answer as [x1, x2]."

    def initial(self, rng, k):
        return [(3, 3), (2, 2), (0, 0)][:k]

    def evaluate(self, x) -> Evaluation:
        side = "<left & low>" if x[0] + x[1] < 6 else "right"
        return Evaluation(
            float((x[0] - 3) ** 2 + (x[1] - 3) ** 2), feedback={"side": side}, constraints=[x[0] + x[1] - 4]
        )


def test_the_transcript_shows_feedback_constraints_and_feasibility(tmp_path: Path) -> None:
    config = OPROConfig(steps=1, proposals=2, initial=3, seed=0)
    OPRO(Below(), ScriptedBackend(["[1, 2]", "[4, 4]"]), config, RunRecorder(tmp_path, {"problem": "below"})).run()
    page = write_run_report(tmp_path).read_text()
    assert "side: &lt;left &amp; low&gt;" in page and "side: right" in page, "each trial's feedback, escaped"
    assert "infeasible</span>: violation 2, 1 of 1 broken (constraints 2)" in page, "(3, 3): 3 + 3 - 4 = 2"
    assert "feasible</span> (constraints 0)" in page and "feasible evaluations" in page
    assert "3 scored (2 feasible), best so far 2" in page, "the best so far is (2, 2)'s 2, not (3, 3)'s 0"
