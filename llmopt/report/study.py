"""The HTML transcript of an Optuna study that `llmopt.integrations.optuna`'s samplers took part in: each model step's
prompt and the trials its answers became, beside the trials the fallback sampled and the best so far."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from llmopt.contract.evaluation import Evaluation, read_returned
from llmopt.core.direction import best_of, from_optuna
from llmopt.core.feasibility import feasible
from llmopt.core.pareto import derived_reference
from llmopt.report.page import counted, esc, figure, page, table
from llmopt.report.run import _answers, _prompt_change
from llmopt.report.tables import format_value

FEEDBACK_ATTR = "llmopt_feedback"  # the trial user attribute an objective writes its feedback to
REFERENCE_ATTR = "llmopt_reference"  # the study's user attribute holding a multi-objective study's reference point
# the samplers' `n_startup_trials` by default: a study whose point no sampler recorded derives it from as many trials
STARTUP_TRIALS = 5
STATUS = {"COMPLETE": "ok", "FAIL": "failed", "PRUNED": "pruned", "RUNNING": "running", "WAITING": "waiting"}


def _trial_row(trial: Any) -> dict[str, Any]:
    """A trial in the run report's shape: status, value (values in a study with several objectives), the
    parameters as text, the model's answer."""
    values = trial.values  # Optuna's `value` refuses a study with several objectives
    return {
        "status": STATUS.get(trial.state.name, trial.state.name.lower()),
        "value": values[0] if values is not None and len(values) == 1 else None,
        "values": tuple(values) if values is not None and len(values) > 1 else None,
        "text": json.dumps(trial.params, sort_keys=True),
        "raw": trial.user_attrs.get("llmopt_answer", ""),
        "reason": None,
        "feedback": _feedback_of(trial),
        "constraints": constraints_of(trial),
    }


def _feedback_of(trial: Any) -> Any:
    """A trial's `llmopt_feedback`, read as strictly as an evaluation's (None when it is malformed)."""
    said = trial.user_attrs.get(FEEDBACK_ATTR)
    return None if said is None else read_returned(Evaluation(0.0, feedback=said)).feedback


def constraints_of(trial: Any) -> tuple[float, ...] | None:
    """An Optuna trial's constraint values as Optuna stores them (None when it has none): `constraints_func`'s list
    under the system attribute "constraints", and (Optuna >= 5) `trial.set_constraint`'s, which Optuna's own
    `FrozenTrial.constraints` reads with them."""
    found = getattr(trial, "constraints", None)  # Optuna >= 5
    if not isinstance(found, dict):
        found = dict(enumerate(trial.system_attrs.get("constraints") or ()))
    return tuple(float(value) for value in found.values()) if found else None


def _steps(study: Any) -> str:
    groups: dict[str, list[Any]] = {}
    for trial in study.trials:
        groups.setdefault(trial.user_attrs.get("llmopt_step", ""), []).append(trial)
    parts, previous = ["<h2>Steps</h2>"], None
    for key, trials in groups.items():
        step = study.user_attrs.get(key, {}) if key else {}
        label = (
            f"model step {key.split(':')[-1]} (sampler {key.split(':')[1]})"
            if key
            else "trials from the fallback sampler (start-up, enqueued, or no usable answer)"
        )
        inner = [_prompt_change(previous, step.get("prompt"))]
        if step.get("error"):
            inner.append(f"<p class='failed'>model request failed: {esc(step['error'])}</p>")
        if step.get("seen") is not None:
            inner.append(f"<p>the request read {counted(len(step['seen']), 'finished trial')}</p>")
        inner.append(_answers([_trial_row(t) for t in trials], set()))
        parts.append(
            f"<details><summary>{esc(label)}: {counted(len(trials), 'trial')}</summary>{''.join(inner)}</details>"
        )
        previous = step.get("prompt") or previous
    return "".join(parts)


def study_directions(study: Any) -> tuple[str, ...]:
    """A study's directions as llmopt names them ("min", "max"), one per objective (one for one objective, unlike
    `methods.model.fronts.directions_of`, which is None then)."""
    return tuple(from_optuna(d) for d in study.directions)


def _finite(trial: Any) -> bool:
    return all(math.isfinite(v) for v in trial.values)


def first_points(study: Any, count: int) -> list[tuple[float, ...]]:
    """The values of the study's first `count` complete trials with finite values: the feasible ones, where any is
    (a reference point is derived from feasible points, as for a problem without its own)."""
    done = [t for t in study.get_trials(deepcopy=False) if t.state.name == "COMPLETE" and _finite(t)]
    first = sorted(done, key=lambda t: t.number)[:count]
    kept = [t for t in first if feasible(constraints_of(t))] or first
    return [tuple(t.values) for t in kept]


def study_reference(study: Any, count: int = STARTUP_TRIALS) -> tuple[float, ...] | None:
    """The point a multi-objective study's hypervolume is measured against, by the samplers' rule: the one recorded
    in its user attribute `llmopt_reference`, else one derived (`core.pareto.derived_reference`) from its first
    `count` complete trials with finite values (`first_points`); None while there is none."""
    recorded = study.user_attrs.get(REFERENCE_ATTR)
    if recorded is not None:
        return tuple(float(v) for v in recorded)
    points = first_points(study, count)
    return derived_reference(points, study_directions(study)) if points else None


def _fronts(study: Any, done: list[Any]) -> str:
    """A study with several objectives: its front (Deb's rules: the feasible trials) beside the hypervolume
    after each trial, against the study's reference point (`study_reference`), which the caption gives; a trial
    with an infinite value is left out, as the samplers leave it out."""
    from matplotlib.figure import Figure

    from llmopt.core.result import Result, Trial
    from llmopt.report.plots import plot_convergence, plot_front

    directions, done = study_directions(study), [t for t in done if _finite(t)]
    reference = study_reference(study)
    if reference is None or not done:
        return "<h2>Pareto front</h2><p>no complete trial with finite values</p>"
    result = Result("study", study.study_name, "max", kind="black-box", directions=directions, reference=reference)
    for trial in done:
        result.add(Trial(trial.number, "ok", values=tuple(trial.values), constraints=constraints_of(trial)))
    fig = Figure(figsize=(14, 4), layout="constrained")
    left, right = fig.subplots(1, 2)
    plot_front(left, [result])
    plot_convergence(right, result)
    point = ", ".join(format_value(r) for r in reference)
    caption = f"the study's front, and its hypervolume after each trial against the reference point ({point})"
    origin = (
        f"recorded in the study's user attribute {REFERENCE_ATTR}"
        if REFERENCE_ATTR in study.user_attrs
        else f"derived from its first {STARTUP_TRIALS} complete trials: each objective's worst + 10 % of their range"
    )
    note = f"<p>hypervolume against the reference point ({esc(point)}), {esc(origin)}</p>"
    return "<h2>Pareto front</h2>" + note + figure(fig, caption)


def _convergence(study: Any) -> str:
    from matplotlib.figure import Figure

    done = [t for t in study.trials if t.state.name == "COMPLETE"]  # a pruned trial's value is an intermediate one
    if not done:
        return ""
    if len(study.directions) > 1:
        return _fronts(study, done)
    direction = from_optuna(study.direction)
    # an infeasible trial is never the best (Optuna's rule, and Deb's): its place is NaN, which best_of passes over
    kept = [t.value if feasible(constraints_of(t)) else np.nan for t in done]
    curve = best_of(np.array(kept, dtype=float), direction)
    fig = Figure(figsize=(8, 3.5))
    ax = fig.subplots()
    ax.scatter([t.number for t in done], [t.value for t in done], s=10, alpha=0.4, label="trials")
    ax.step([t.number for t in done], curve, where="post", label="best so far")
    ax.set_xlabel("trial")
    ax.set_ylabel("objective value")
    ax.legend(fontsize=7)
    return "<h2>Convergence</h2>" + figure(fig, "every trial and the best so far")


def _feasibility(study: Any) -> list[list[Any]]:
    """The feasible and infeasible trials' counts, when the study has constraints."""
    done = [t for t in study.trials if t.state.name == "COMPLETE"]
    said = [constraints_of(t) for t in done]
    if all(c is None for c in said):
        return []
    kept = sum(feasible(c) for c in said)
    return [["feasible trials", kept], ["infeasible trials", len(done) - kept]]


def _best(study: Any) -> str:
    """The best feasible value (Optuna's `best_value`), or why there is none."""
    if not any(t.state.name == "COMPLETE" for t in study.trials):
        return "-"
    try:
        return format_value(study.best_value)
    except ValueError:  # Optuna: "No feasible trials are completed yet."
        return "none: no feasible trial"


def _directions(study: Any) -> str:
    names = [d.name.lower() for d in study.directions]
    return f"direction {esc(names[0])}" if len(names) == 1 else f"directions {esc(', '.join(names))}"


def render_study(study: Any) -> str:
    """The whole report page of a study."""
    title = f"Optuna study {study.study_name}"
    counts: dict[str, int] = {}
    for trial in study.trials:
        state = STATUS.get(trial.state.name, trial.state.name.lower())
        counts[state] = counts.get(state, 0) + 1
    model = sum("llmopt_answer" in t.user_attrs for t in study.trials)
    rows = [["trials", len(study.trials)], ["from the model", model], *([k, v] for k, v in counts.items())]
    rows += _feasibility(study)
    several = len(study.directions) > 1 and any(t.state.name == "COMPLETE" for t in study.trials)
    best = (
        f"{counted(len(study.best_trials), 'trial')} on the Pareto front"
        if several
        else f"best value {esc(_best(study))}"
    )
    body = [
        f"<h1>{esc(title)}</h1>",
        f"<p>{_directions(study)}, {best}</p>",
        table(["", "count"], rows),
        _convergence(study),
        _steps(study),
    ]
    return page(title, body)


def write_study_report(storage: Any, study_name: str, path: str | Path) -> Path:
    """Read the study from its storage (an RDB URL, a journal file `*.log`, or an Optuna storage) and write
    its report to `path`."""
    import optuna

    if isinstance(storage, str) and "://" not in storage:  # a journal file, as the workers shared it
        from optuna.storages import JournalStorage
        from optuna.storages.journal import JournalFileBackend

        if not Path(storage).is_file():
            raise OSError(f"no journal file {storage}")
        storage = JournalStorage(JournalFileBackend(storage))
    study = optuna.load_study(study_name=study_name, storage=storage)
    path = Path(path)
    path.write_text(render_study(study), encoding="utf-8")
    return path
