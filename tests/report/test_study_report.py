"""The HTML transcript of an Optuna study with several objectives: each trial's values, the front and its
hypervolume against a stated reference point (Optuna's `value` refuses such a study)."""

from __future__ import annotations

import math

import optuna

from llmopt.core.pareto import derived_reference
from llmopt.report.study import STARTUP_TRIALS, render_study, study_reference
from llmopt.report.tables import format_value

optuna.logging.set_verbosity(optuna.logging.WARNING)


def test_a_study_with_two_objectives_shows_each_trials_values_and_its_front() -> None:
    study = optuna.create_study(directions=["minimize", "maximize"], sampler=optuna.samplers.RandomSampler(seed=0))
    study.enqueue_trial({"x": 0.5})
    study.optimize(lambda trial: (trial.suggest_float("x", 0, 1), trial.params["x"] ** 2), n_trials=6)
    page = render_study(study)
    assert "directions minimize, maximize" in page
    assert f"{len(study.best_trials)} trial" in page and "on the Pareto front" in page
    assert "<td>0.5, 0.25</td>" in page, "the enqueued trial's two values"
    assert "Pareto front</h2>" in page and "hypervolume against the reference point (" in page


def test_a_study_with_one_objective_reads_as_before() -> None:
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    study.enqueue_trial({"x": 0.5})
    study.optimize(lambda trial: trial.suggest_float("x", 0, 1), n_trials=3)
    page = render_study(study)
    assert f"direction minimize, best value {study.best_value:.6g}" in page and "Pareto" not in page


def _two_objectives(trial: optuna.Trial) -> tuple[float, float]:
    x = trial.suggest_float("x", 0, 1)
    return x, (1 - x) * (1 + trial.number)


def test_the_report_measures_against_the_point_the_samplers_recorded() -> None:
    study = optuna.create_study(directions=["minimize", "minimize"], sampler=optuna.samplers.RandomSampler(seed=0))
    study.set_user_attr("llmopt_reference", [2.5, 30.0])
    study.optimize(_two_objectives, n_trials=8)
    page = render_study(study)
    assert "hypervolume against the reference point (2.5, 30), recorded in the study" in page


def test_without_a_recorded_point_the_report_derives_it_as_the_samplers_do_from_the_first_trials() -> None:
    study = optuna.create_study(directions=["minimize", "minimize"], sampler=optuna.samplers.RandomSampler(seed=1))
    study.optimize(_two_objectives, n_trials=12)  # later trials are worse: a point from all of them would differ
    first = derived_reference([t.values for t in study.trials[:STARTUP_TRIALS]], ("min", "min"))
    assert study_reference(study) == first != derived_reference([t.values for t in study.trials], ("min", "min"))
    point = ", ".join(format_value(v) for v in first)
    assert f"hypervolume against the reference point ({point}), derived from its first 5" in render_study(study)


def test_a_complete_trial_with_an_infinite_value_is_shown_and_left_out_of_the_point_and_the_front() -> None:
    def objective(trial: optuna.Trial) -> tuple[float, float]:
        x, f2 = _two_objectives(trial)
        return x, math.inf if trial.number == 1 else f2

    study = optuna.create_study(directions=["minimize", "minimize"], sampler=optuna.samplers.RandomSampler(seed=0))
    study.optimize(objective, n_trials=6)
    finite = [t.values for t in study.trials if t.number != 1][:STARTUP_TRIALS]
    point = ", ".join(format_value(v) for v in derived_reference(finite, ("min", "min")))
    page = render_study(study)
    assert f"hypervolume against the reference point ({point})" in page
    assert f"<td>{format_value(study.trials[1].values[0])}, inf</td>" in page


def test_a_study_with_no_finite_trial_says_so() -> None:
    study = optuna.create_study(directions=["minimize", "minimize"])
    study.enqueue_trial({"x": 0.5})
    study.optimize(lambda trial: (trial.suggest_float("x", 0, 1), math.inf), n_trials=1)
    assert study_reference(study) is None and "no complete trial with finite values" in render_study(study)
