"""The HTML transcript of an Optuna study with several objectives: each trial's values, the front and its
hypervolume against a stated reference point (Optuna's `value` refuses such a study)."""

from __future__ import annotations

import optuna

from llmopt.report.study import render_study


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
