"""OPRO's ablations: the one OPRO loop with another meta-prompt, at the same budget, kind "ablation"."""

from __future__ import annotations

import pytest

from llmopt.backends.scripted import ScriptedBackend
from llmopt.methods import methods_for, run_methods, setup_for
from llmopt.opro import OPROConfig
from llmopt.problems.linear_regression import LinearRegression

ABLATIONS = ["opro-no-history", "opro-no-scores", "opro-shuffled-scores", "opro-bucketed-scores"]


def test_every_problem_offers_the_four_ablations_on_request() -> None:
    methods = methods_for(LinearRegression())
    assert all(methods[name].kind == "ablation" and not methods[name].default for name in ABLATIONS)


@pytest.mark.parametrize(
    "name, scores_shown",
    [
        ("opro-no-history", False),
        ("opro-no-scores", False),
        ("opro-shuffled-scores", True),
        ("opro-bucketed-scores", True),
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
    results = run_methods(problem, setup, ABLATIONS)
    assert [r.method for r in results] == ABLATIONS
    assert all(r.counts.llm_calls == 2 and 1 <= r.counts.evals <= setup.max_evals for r in results)
