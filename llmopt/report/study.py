"""The HTML transcript of an Optuna study that `llmopt.integrations.optuna`'s samplers took part in: each model step's
prompt and the trials its answers became, beside the trials the fallback sampled and the best so far."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from llmopt.core.direction import best_of
from llmopt.report.page import counted, esc, figure, page, table
from llmopt.report.run import _answers, _prompt_change
from llmopt.report.tables import format_value

STATUS = {"COMPLETE": "ok", "FAIL": "failed", "PRUNED": "pruned", "RUNNING": "running", "WAITING": "waiting"}


def _trial_row(trial: Any) -> dict[str, Any]:
    """A trial in the run report's shape: status, value, the parameters as text, the model's answer."""
    return {
        "status": STATUS.get(trial.state.name, trial.state.name.lower()),
        "value": trial.value,
        "text": json.dumps(trial.params, sort_keys=True),
        "raw": trial.user_attrs.get("llmopt_answer", ""),
        "reason": None,
    }


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


def _convergence(study: Any) -> str:
    from matplotlib.figure import Figure

    done = [t for t in study.trials if t.state.name == "COMPLETE"]  # a pruned trial's value is an intermediate one
    if not done:
        return ""
    direction = "min" if study.direction.name == "MINIMIZE" else "max"
    curve = best_of(np.array([t.value for t in done], dtype=float), direction)
    fig = Figure(figsize=(8, 3.5))
    ax = fig.subplots()
    ax.scatter([t.number for t in done], [t.value for t in done], s=10, alpha=0.4, label="trials")
    ax.step([t.number for t in done], curve, where="post", label="best so far")
    ax.set_xlabel("trial")
    ax.set_ylabel("objective value")
    ax.legend(fontsize=7)
    return "<h2>Convergence</h2>" + figure(fig, "every trial and the best so far")


def render_study(study: Any) -> str:
    """The whole report page of a study."""
    title = f"Optuna study {study.study_name}"
    counts: dict[str, int] = {}
    for trial in study.trials:
        state = STATUS.get(trial.state.name, trial.state.name.lower())
        counts[state] = counts.get(state, 0) + 1
    model = sum("llmopt_answer" in t.user_attrs for t in study.trials)
    rows = [["trials", len(study.trials)], ["from the model", model], *([k, v] for k, v in counts.items())]
    best = format_value(study.best_value) if any(t.state.name == "COMPLETE" for t in study.trials) else "-"
    body = [
        f"<h1>{esc(title)}</h1>",
        f"<p>direction {esc(study.direction.name.lower())}, best value {esc(best)}</p>",
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
