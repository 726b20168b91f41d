"""OPROSampler and LMXSampler take `constraints_func` as Optuna's own samplers do, and read a trial's feedback from
its user attribute `llmopt_feedback`: the model's history carries both, and Optuna's feasibility rules hold."""

from __future__ import annotations

import json
from pathlib import Path

import optuna
import pytest
from optuna.study._constrained_optimization import _get_feasible_trials
from optuna.trial import TrialState

from llmopt import ScriptedBackend
from llmopt.integrations.optuna import LMXSampler, OPROSampler

optuna.logging.set_verbosity(optuna.logging.WARNING)
KINDS = [OPROSampler, LMXSampler]
ANSWERS = [json.dumps({"x": round(-4.9 + (0.73 * i) % 9.8, 2)}) for i in range(200)]


def objective(trial: optuna.Trial) -> float:
    """x² with x >= 1 as a constraint (1 - x <= 0), and feedback a person would give."""
    x = trial.suggest_float("x", -5, 5)
    trial.set_user_attr("llmopt_feedback", {"side": "left of 1" if x < 1 else "right of 1", "x": round(x, 2)})
    return x * x


def at_least_one(trial: optuna.trial.FrozenTrial) -> list[float]:
    return [1 - trial.params["x"]]


def constrained(kind, n_trials: int = 14, **settings) -> tuple[optuna.Study, object]:
    sampler = kind(seed=0, backend=ScriptedBackend(ANSWERS), proposals=4, constraints_func=at_least_one, **settings)
    study = optuna.create_study(sampler=sampler)
    study.optimize(objective, n_trials=n_trials)
    return study, sampler


@pytest.mark.parametrize("kind", KINDS, ids=["opro", "lmx"])
def test_constraints_func_is_stored_as_optunas_samplers_store_it_and_the_best_is_feasible(kind) -> None:
    study, _ = constrained(kind)
    done = study.get_trials(states=(TrialState.COMPLETE,))
    assert all(t.system_attrs["constraints"] == (1 - t.params["x"],) for t in done)
    assert any(t.params["x"] < 1 for t in done), "the study has infeasible trials"
    feasible = _get_feasible_trials(done)
    assert study.best_trial in feasible and study.best_value == min(t.value for t in feasible)


@pytest.mark.parametrize("kind", KINDS, ids=["opro", "lmx"])
def test_the_models_history_carries_each_trials_feedback_and_constraints(kind) -> None:
    study, sampler = constrained(kind)
    seen = {s.text: s for s in sampler._state.driver.ledger.seen()}
    synced = [t for t in study.trials if t.number in sampler._synced]
    assert len(synced) >= 10
    for trial in synced:
        shown = seen[sampler._state.space.encode((trial.params["x"],))]
        assert shown.constraints == (1 - trial.params["x"],)
        assert shown.feedback == trial.user_attrs["llmopt_feedback"]
    best = sampler._state.driver.result.best_solution
    assert best is not None and best[0] >= 1, "the driver's best is a feasible trial, as Optuna's is"


def test_set_constraint_is_read_too_and_a_trial_without_feedback_has_none() -> None:
    from llmopt.report.study import constraints_of

    def objective(trial: optuna.Trial) -> float:
        x = trial.suggest_float("x", -5, 5)
        if hasattr(trial, "set_constraint"):  # Optuna >= 5
            trial.set_constraint("at least one", 1 - x)
        return x * x

    sampler = OPROSampler(seed=0, backend=ScriptedBackend(ANSWERS), proposals=4)
    study = optuna.create_study(sampler=sampler)
    study.optimize(objective, n_trials=9)
    seen = sampler._state.driver.ledger.seen()
    assert seen and all(s.feedback is None for s in seen)
    if hasattr(optuna.Trial, "set_constraint"):
        assert all(s.constraints is not None and len(s.constraints) == 1 for s in seen)
        assert all(constraints_of(t) == (1 - t.params["x"],) for t in study.trials)


def test_a_malformed_feedback_is_left_out_with_a_warning_and_the_study_goes_on() -> None:
    def objective(trial: optuna.Trial) -> float:
        x = trial.suggest_float("x", -5, 5)
        trial.set_user_attr("llmopt_feedback", ["not", "a", "text"] if trial.number == 2 else f"x is {x:.1f}")
        return x * x

    sampler = OPROSampler(seed=0, backend=ScriptedBackend(ANSWERS), proposals=4)
    study = optuna.create_study(sampler=sampler)
    with pytest.warns(UserWarning, match="trial 2: the feedback is a list"):
        study.optimize(objective, n_trials=9)
    seen = sampler._state.driver.ledger.seen()
    assert len(study.trials) == 9 and sum(s.feedback is None for s in seen) == 1


def test_a_constrained_studys_meta_prompt_shows_violations_and_feedback() -> None:
    study, _ = constrained(OPROSampler, n_trials=12)
    prompt = [v for k, v in study.user_attrs.items() if k.startswith("llmopt:")][-1]["prompt"]
    assert "left of 1" in prompt and "right of 1" in prompt, "the feedback from the user attribute"
    assert "violation" in prompt


@pytest.mark.slow  # runs the embedded model
def test_a_constrained_study_runs_on_the_embedded_model(local_backend) -> None:
    from llmopt import OPROConfig

    short = OPROConfig(answer_tokens=16)  # a parameter set of one number is a few tokens: keep the request short
    sampler = OPROSampler(
        seed=0, backend=local_backend, proposals=2, n_startup_trials=3, constraints_func=at_least_one, config=short
    )
    study = optuna.create_study(sampler=sampler)
    study.optimize(objective, n_trials=5)
    done = study.get_trials(states=(TrialState.COMPLETE,))
    assert len(done) == 5 and all("constraints" in t.system_attrs for t in done)
    assert sampler.counts.llm_calls >= 1
    assert all(s.constraints is not None for s in sampler._state.driver.ledger.seen())


def test_llmopt_report_shows_a_studys_feedback_constraints_and_feasibility(tmp_path: Path) -> None:
    from llmopt.report.study import render_study

    study, _ = constrained(OPROSampler, n_trials=10)
    html = render_study(study)
    assert "left of 1" in html and "right of 1" in html, "each trial's feedback"
    assert "infeasible" in html and "feasible trials" in html
