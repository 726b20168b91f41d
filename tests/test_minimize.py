"""The scipy-style front door, end to end with the embedded model."""

from __future__ import annotations

import math

import pytest

import llmopt
from llmopt.backends.scripted import ScriptedBackend
from llmopt.problems.functions import rosenbrock


@pytest.mark.slow
def test_minimize_rosenbrock_with_the_embedded_model() -> None:
    result = llmopt.minimize(rosenbrock, [(-2, 2), (-2, 2)], steps=2, proposals=4, seed=1)
    assert result.method == "opro" and result.stop_reason == "max_steps"
    assert result.counts.llm_calls == 8 and result.counts.proposals == 8
    assert math.isfinite(result.best_value) and len(result.best_solution) == 2
    assert all(-2 <= v <= 2 for v in result.best_solution)
    assert result.best_value == min(t.value for t in result.trials if t.value is not None)


def test_minimize_takes_any_backend_and_integers() -> None:
    backend = ScriptedBackend(["[1, 1]", "[0, 3]"])
    result = llmopt.minimize(rosenbrock, [(-2, 2), (-3, 3)], model=backend, steps=1, proposals=2, integer=True)
    assert result.best_solution == (1, 1) and result.best_value == 0.0


def test_ask_tell_with_a_users_own_values() -> None:
    from llmopt.problems.numeric import NumericProblem

    problem = NumericProblem(lambda x: float(abs(x).sum()), [(-4, 4)])
    opro = llmopt.OPRO(problem, ScriptedBackend(["[0.5]", "[9]"]), llmopt.OPROConfig(proposals=2, initial=1))
    ask = opro.ask()
    assert "x1 in [-4, 4]" in ask.prompt
    opro.evaluate(ask)
    trials = opro.tell(ask)
    assert [t.status for t in trials] == ["ok", "invalid"] and trials[1].reason == "out of bounds"


def hill(x) -> float:
    """A hill with its top, 0, at (1, -2)."""
    return -float((x[0] - 1) ** 2 + (x[1] + 2) ** 2)


def test_maximize_shows_the_model_the_true_values_with_higher_is_better() -> None:
    backend = ScriptedBackend(["[1, -2]", "[0, 0]"])
    result = llmopt.maximize(hill, [(-4, 4), (-4, 4)], model=backend, steps=1, proposals=2, integer=True)
    assert result.direction == "max" and result.best_solution == (1, -2) and result.best_value == 0.0
    prompt = backend.prompts[0]
    assert "Help me maximize a function f" in prompt and "a higher value is better" in prompt
    assert "has a higher value than all of them" in prompt
    shown = [float(line.rsplit(" ", 1)[-1]) for line in prompt.splitlines() if line.startswith("value:")]
    starts = [t.value for t in result.trials if t.status == "initial"]
    assert shown and all(v <= 0 for v in shown) and sorted(shown) == sorted(starts)  # never negated
    assert (
        llmopt.minimize(
            hill,
            [(-4, 4), (-4, 4)],
            model=ScriptedBackend(["[1, -2]"]),
            steps=1,
            proposals=1,
            integer=True,
            maximize=True,
        ).direction
        == "max"
    )


@pytest.mark.slow
def test_maximize_with_the_embedded_model() -> None:
    result = llmopt.maximize(hill, [(-4, 4), (-4, 4)], steps=1, proposals=4, seed=2)
    assert result.direction == "max" and result.stop_reason == "max_steps" and result.counts.llm_calls == 4
    assert result.best_value == max(t.value for t in result.trials if t.value is not None)


@pytest.mark.slow
def test_minimize_leaks_no_file(tmp_path) -> None:
    import subprocess
    import sys

    code = (
        "import llmopt\nfrom llmopt.problems.functions import rosenbrock\n"
        "llmopt.minimize(rosenbrock, [(-2, 2), (-2, 2)], steps=1, proposals=2, seed=1)\n"
    )
    done = subprocess.run(
        [sys.executable, "-W", "always::ResourceWarning", "-c", code],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "ResourceWarning" not in done.stderr, done.stderr
