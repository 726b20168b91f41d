"""OPRO's ablations: the one OPRO loop with another meta-prompt, at the same budget, kind "ablation"."""

from __future__ import annotations

from pathlib import Path

import pytest

from llmopt.backends.scripted import ScriptedBackend
from llmopt.contract.evaluation import Evaluation
from llmopt.contract.problem import Problem
from llmopt.contract.spaces import Box
from llmopt.methods import methods_for, run_methods, setup_for
from llmopt.opro import OPROConfig
from llmopt.problems.linear_regression import LinearRegression

ABLATIONS = ["opro-no-history", "opro-no-scores", "opro-shuffled-scores", "opro-bucketed-scores", "opro-no-feedback"]
TARGET = (6.3, -2.7)


class Told(Problem):
    """Find a hidden point in a box: the loss is its distance, the feedback says which way to move and how far."""

    name, summary = "told", "test problem"
    solution_label, value_label = "point", "distance"
    space = Box(((-10.0, 10.0), (-10.0, 10.0)), names=("x", "y"))

    def describe(self) -> str:
        return "Find the point (x, y) that the distance is measured from."

    def format_hint(self) -> str:
        return "Answer with a new point as a bracketed pair of numbers."

    def evaluate(self, point: tuple[float, float]) -> Evaluation:
        moves = [
            f"move {name} {'up' if at < goal else 'down'} by about {abs(goal - at):.1f}"
            for name, at, goal in zip("xy", point, TARGET)
        ]
        return Evaluation(sum(abs(at - goal) for at, goal in zip(point, TARGET)), feedback="; ".join(moves))


def test_every_problem_offers_the_ablations_on_request() -> None:
    methods = methods_for(LinearRegression())
    assert all(methods[name].kind == "ablation" and not methods[name].default for name in ABLATIONS)


def test_a_sweep_of_the_feedback_budget_changes_the_methods_that_show_feedback_only() -> None:
    methods = methods_for(LinearRegression())
    assert "feedback-chars" in methods["opro"].reads and "feedback-chars" in methods["opro-no-scores"].reads
    assert "feedback-chars" not in methods["opro-no-feedback"].reads and "top-k" in methods["opro-no-feedback"].reads


@pytest.mark.parametrize(
    "name, scores_shown",
    [
        ("opro-no-history", False),
        ("opro-no-scores", False),
        ("opro-shuffled-scores", True),
        ("opro-bucketed-scores", True),
        ("opro-no-feedback", True),
    ],
)
def test_each_ablation_changes_only_the_meta_prompt(name: str, scores_shown: bool) -> None:
    problem = LinearRegression()
    backend = ScriptedBackend(["[15, 14]", "[14, 15]"] * 4)
    config = OPROConfig(steps=2, proposals=2, initial=3, seed=2)
    setup = setup_for(problem, config, backend)
    (result,) = run_methods(problem, setup, [name])
    assert result.kind == "ablation" and result.method == name and result.counts.evals <= setup.max_evals
    assert [t.solution for t in result.trials if t.step == 0] == list(setup.starts)
    prompt = backend.prompts[0]
    assert ("loss:" in prompt) is scores_shown
    shown = [t.text for t in result.trials if t.step == 0]
    assert all(text in prompt for text in shown) is (name != "opro-no-history")


def test_the_ablations_run_on_the_embedded_model(local_backend) -> None:
    problem = LinearRegression()
    setup = setup_for(problem, OPROConfig(steps=1, proposals=2, initial=2, answer_tokens=24), local_backend)
    # opro-no-feedback is OPRO with text left out, which this problem never gives: the stub runs it (below)
    names = [name for name in ABLATIONS if name != "opro-no-feedback"]
    results = run_methods(problem, setup, names)
    assert [r.method for r in results] == names
    assert all(r.counts.llm_calls == 2 and 1 <= r.counts.evals <= setup.max_evals for r in results)


def test_a_stub_that_reads_only_the_feedback_does_better_with_it_than_without() -> None:
    """The channel, not a model: the stub moves the best shown point as its feedback says, and without the
    feedback (opro-no-feedback) can only guess around it; the same seed, starts and budget."""
    from llmopt.backends.openai_compat import OpenAIBackend
    from llmopt.testing.stub_server import StubSettings, follow_feedback, serve

    settings = StubSettings(answer=follow_feedback(("x", "y")))
    server, url = serve(settings)
    try:
        problem, config = Told(), OPROConfig(steps=4, proposals=2, initial=2, seed=4)
        setup = setup_for(problem, config, OpenAIBackend("stub", base_url=url, max_retries=0))
        (told,) = run_methods(problem, setup, ["opro"])
        asked_told = [body["messages"][-1]["content"] for body in settings.bodies]
        (blind,) = run_methods(problem, setup, ["opro-no-feedback"])
        asked_blind = [body["messages"][-1]["content"] for body in settings.bodies][len(asked_told) :]
    finally:
        server.shutdown()
    assert all("feedback: move x" in prompt for prompt in asked_told)
    assert asked_blind and not any("feedback" in prompt or "move x" in prompt for prompt in asked_blind)
    assert [t.solution for t in told.trials if t.step == 0] == [t.solution for t in blind.trials if t.step == 0]
    assert told.best_value < 0.1 < blind.best_value, (told.best_value, blind.best_value)


def test_an_opro_run_on_the_embedded_model_shows_the_feedback_in_its_meta_prompt(local_backend, tmp_path: Path) -> None:
    from llmopt.engine.records import RunRecorder, read_steps
    from llmopt.opro import OPRO

    config = OPROConfig(steps=1, proposals=1, initial=2, answer_tokens=24)
    OPRO(Told(), local_backend, config, recorder=RunRecorder(tmp_path, config.to_dict())).run()
    prompt = read_steps(tmp_path)[1]["meta_prompt"]
    assert prompt.count("feedback: move x ") == 2 and "; move y " in prompt
