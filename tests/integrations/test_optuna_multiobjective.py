"""OPROSampler and LMXSampler in multi-objective Optuna studies: the model's problem takes the study's directions and
a reference point (the user's, the study's recorded one, or one derived from its first complete trials), its history
carries each trial's values, and `study.best_trials` is the front the sampler built."""

from __future__ import annotations

import json
import re
from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState

from llmopt import OPROConfig, ScriptedBackend
from llmopt.core.pareto import derived_reference, hypervolume
from llmopt.integrations.optuna import LMXSampler, ModelSampler, OPROSampler
from llmopt.report.study import render_study
from llmopt.report.tables import format_value

optuna.logging.set_verbosity(optuna.logging.WARNING)
ROOT = Path(__file__).resolve().parents[2]
KINDS = [OPROSampler, LMXSampler]
ANSWERS = [json.dumps({"x": round((0.37 * i) % 1, 3), "y": round((0.61 * i) % 1, 3)}) for i in range(300)]


def zdt1(trial: optuna.Trial) -> tuple[float, float]:
    """ZDT1 in two variables (both minimised): its front is y = 0."""
    x, y = trial.suggest_float("x", 0, 1), trial.suggest_float("y", 0, 1)
    g = 1 + 9 * y
    return x, g * (1 - (x / g) ** 0.5)


def run(sampler: ModelSampler, n_trials: int = 20, objective=zdt1, directions=("minimize", "minimize")) -> optuna.Study:
    study = optuna.create_study(directions=list(directions), sampler=sampler)
    study.optimize(objective, n_trials=n_trials)
    sampler._sync(study, sampler._state)  # the trials finished since the model's last request
    return study


def front_params(sampler: ModelSampler) -> list[tuple[float, float]]:
    """The parameters of the sampler's front (its space's names are sorted: x, y)."""
    return sorted(tuple(t.solution) for t in sampler._state.driver.result.front())


def best_params(study: optuna.Study) -> list[tuple[float, float]]:
    return sorted((t.params["x"], t.params["y"]) for t in study.best_trials)


@pytest.mark.parametrize("kind", KINDS, ids=["opro", "lmx"])
@pytest.mark.parametrize("directions", [("minimize", "minimize"), ("maximize", "minimize")], ids=["min-min", "max-min"])
def test_best_trials_are_the_front_the_sampler_built(kind, directions) -> None:
    sampler = kind(seed=0, backend=ScriptedBackend(ANSWERS), proposals=4)
    study = run(sampler, directions=directions)
    assert sum("llmopt_answer" in t.user_attrs for t in study.trials) >= 10, "most trials are the model's"
    assert sampler._state.driver.problem.directions == tuple(d[:3] for d in directions)
    assert len(sampler._state.driver.ledger.seen()) == 20
    assert len(study.best_trials) >= 2 and best_params(study) == front_params(sampler)


@pytest.mark.parametrize("kind", KINDS, ids=["opro", "lmx"])
def test_a_constrained_studys_best_trials_are_the_feasible_front_and_the_history_carries_everything(kind) -> None:
    def objective(trial: optuna.Trial) -> tuple[float, float]:
        values = zdt1(trial)
        trial.set_user_attr("llmopt_feedback", f"x is {trial.params['x']:.2f}")
        return values

    sampler = kind(
        seed=0, backend=ScriptedBackend(ANSWERS), proposals=4, constraints_func=lambda t: [0.3 - t.params["x"]]
    )
    study = run(sampler, objective=objective)
    assert any(t.params["x"] < 0.3 for t in study.trials), "the study has infeasible trials"
    assert best_params(study) == front_params(sampler) and all(x >= 0.3 for x, _ in best_params(study))
    seen = {s.text: s for s in sampler._state.driver.ledger.seen()}
    for trial in study.trials:
        shown = seen[sampler._state.space.encode((trial.params["x"], trial.params["y"]))]
        assert shown.values == tuple(trial.values) and shown.constraints == (0.3 - trial.params["x"],)
        assert shown.feedback == trial.user_attrs["llmopt_feedback"]


def test_a_users_reference_point_is_used_and_recorded() -> None:
    sampler = OPROSampler(seed=0, backend=ScriptedBackend(ANSWERS), proposals=4, reference=(1.1, 11.0))
    study = run(sampler)
    result = sampler._state.driver.result
    assert result.reference == (1.1, 11.0) and study.user_attrs["llmopt_reference"] == [1.1, 11.0]
    front = [t.values for t in study.best_trials]
    assert result.best_value == pytest.approx(hypervolume(front, (1.1, 11.0), ("min", "min")))


def test_without_one_the_reference_is_derived_from_the_first_complete_trials_and_shared_with_other_workers() -> None:
    sampler = OPROSampler(seed=0, backend=ScriptedBackend(ANSWERS), proposals=4, n_startup_trials=3)
    study = run(sampler, n_trials=8, directions=("minimize", "maximize"))
    first = [t.values for t in study.trials[:3]]
    derived = derived_reference(first, ("min", "max"))
    assert sampler._state.driver.result.reference == derived and study.user_attrs["llmopt_reference"] == list(derived)
    other = LMXSampler(seed=1, backend=ScriptedBackend(ANSWERS[100:]), proposals=4, n_startup_trials=3)
    study.sampler = other  # a second worker on the same study: it reads the recorded point
    study.optimize(zdt1, n_trials=4)
    assert other._state.driver.result.reference == derived


def test_the_model_waits_for_a_complete_trial_with_finite_values_to_derive_the_reference_from() -> None:
    def objective(trial: optuna.Trial) -> tuple[float, float]:
        x, f2 = zdt1(trial)
        return x, float("inf") if trial.number == 0 else f2

    sampler = OPROSampler(seed=0, backend=ScriptedBackend(ANSWERS), proposals=4, n_startup_trials=0)
    study = run(sampler, n_trials=6, objective=objective)
    assert sampler.fallbacks == 1 and "llmopt_answer" not in study.trials[1].user_attrs, "no point to measure from"
    assert all("llmopt_answer" in t.user_attrs for t in study.trials[2:])
    assert study.user_attrs["llmopt_reference"] == list(derived_reference([study.trials[1].values], ("min", "min")))


def test_a_users_reference_that_differs_from_the_studys_recorded_one_is_a_clear_error() -> None:
    study = run(OPROSampler(seed=0, backend=ScriptedBackend(ANSWERS), proposals=4, n_startup_trials=3), n_trials=6)
    recorded = study.user_attrs["llmopt_reference"]
    study.sampler = OPROSampler(seed=1, backend=ScriptedBackend(ANSWERS), proposals=4, reference=(1.5, 12.0))
    with pytest.raises(ValueError, match=r"reference=\[1.5, 12.0\] differs from .*llmopt_reference, \[") as caught:
        study.optimize(zdt1, n_trials=1)
    assert str(recorded[0]) in str(caught.value)
    same = OPROSampler(seed=1, backend=ScriptedBackend(ANSWERS), proposals=4, reference=tuple(recorded))
    study.sampler = same  # the recorded point given again: no conflict
    study.optimize(zdt1, n_trials=2)
    assert same._state.driver.result.reference == tuple(recorded)


def test_the_study_report_measures_against_the_point_the_sampler_used() -> None:
    sampler = OPROSampler(seed=0, backend=ScriptedBackend(ANSWERS), proposals=4, n_startup_trials=3)
    study = run(sampler, n_trials=8)
    point = ", ".join(format_value(v) for v in sampler._state.driver.result.reference)
    assert f"hypervolume against the reference point ({point}), recorded" in render_study(study)


@pytest.mark.parametrize("reference", [(1.0,), (1.0, 2.0, 3.0)])
def test_a_reference_point_of_the_wrong_length_is_a_clear_error(reference) -> None:
    with pytest.raises(ValueError, match="has .* values; the study has 2 objectives"):
        run(OPROSampler(seed=0, backend=ScriptedBackend(ANSWERS), reference=reference), n_trials=6)


def test_a_reference_point_that_is_not_finite_is_refused_when_made() -> None:
    with pytest.raises(ValueError, match="finite numbers"):
        OPROSampler(reference=(1.0, float("nan")))


@pytest.mark.filterwarnings("ignore::optuna.exceptions.ExperimentalWarning")  # set_metric_names
def test_an_infinite_value_is_left_out_of_what_the_model_sees_and_the_objectives_are_named() -> None:
    def objective(trial: optuna.Trial) -> tuple[float, float]:
        x, f2 = zdt1(trial)
        return x, float("inf") if trial.number == 1 else f2

    sampler = OPROSampler(seed=0, backend=ScriptedBackend(ANSWERS), proposals=4)
    study = optuna.create_study(directions=["minimize", "minimize"], sampler=sampler)
    study.set_metric_names(["error", "latency"])
    study.optimize(objective, n_trials=9)
    seen = sampler._state.driver.ledger.seen()
    assert len(seen) == 4 and all(s.values is not None and len(s.values) == 2 for s in seen)
    prompt = [v for k, v in study.user_attrs.items() if k.startswith("llmopt:")][0]["prompt"]
    assert "error (lower is better), latency (lower is better)" in prompt


def test_the_docs_multi_objective_example_runs() -> None:
    text = (ROOT / "docs" / "optuna.md").read_text()
    (example,) = [b for b in re.findall(r"```python\n(.*?)```", text, flags=re.S) if "directions=" in b]
    assert "OPROSampler(seed=0)" in example
    example = example.replace("OPROSampler(seed=0)", "OPROSampler(seed=0, backend=BACKEND)").replace("print(", "SAID(")
    said: list[object] = []
    exec(example, {"BACKEND": ScriptedBackend(ANSWERS), "SAID": lambda *a: said.append(a)})  # our own docs' code
    assert len(said) >= 2 and len(said[-1][0]) == 2, "the front's trials, then the reference point"


@pytest.mark.slow  # runs the embedded model
def test_a_bi_objective_study_runs_twenty_trials_on_the_embedded_model(local_backend) -> None:
    # The embedded model takes seconds an answer on two cores: one request of two short answers, then the fallback.
    config = OPROConfig(max_llm_calls=2, answer_tokens=24)
    sampler = OPROSampler(seed=0, backend=local_backend, proposals=2, config=config)
    study = optuna.create_study(directions=["minimize", "minimize"], sampler=sampler)
    with pytest.warns(UserWarning, match="max_llm_calls reached"):
        study.optimize(zdt1, n_trials=20)
    assert len(study.get_trials(states=(TrialState.COMPLETE,))) == 20
    assert sampler.counts.llm_calls == 2 and any("llmopt_answer" in t.user_attrs for t in study.trials)
    sampler._sync(study, sampler._state)
    assert best_params(study) == front_params(sampler)
