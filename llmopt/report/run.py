"""One run as a self-contained HTML transcript: settings, comparison, convergence, and every step's
meta-prompt (what changed since the step before) and answers with their status and value."""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from llmopt.core.direction import better, to_loss
from llmopt.core.feasibility import broken_count, feasible, violation
from llmopt.core.result import Counts, Result
from llmopt.engine.journal import journaled_trial
from llmopt.engine.records import read_pending, read_steps
from llmopt.methods.model.opro import NAME, RECORD_KEY
from llmopt.report.page import counted, esc, figure, page, table, wide
from llmopt.report.tables import comparison_rows, format_value, reference_note

# Drawings of the step's best solution are kept to this many steps, so large runs stay small.
MAX_DRAWINGS = 30


@dataclass
class RunRecord:
    """Everything a run directory holds."""

    directory: Path
    config: dict[str, Any]
    steps: list[dict[str, Any]]
    pending: dict[str, Any] | None
    results: dict[str, Any] | None
    resumes: int = 0
    journaled_result: Result = field(init=False)

    def __post_init__(self) -> None:
        self.journaled_result = journaled_from_steps(
            self.journaled,
            self.config.get("problem", "?"),
            self.config.get("direction", "min"),
            self.steps,
            self.config.get("directions"),
            self.config.get("reference"),
        )

    @property
    def journaled(self) -> str:
        """The method the run journaled (OPRO in a record written before any other could be)."""
        return self.config.get("journaled") or NAME

    @property
    def last_step(self) -> int | None:
        """The number of the last journaled step, if any."""
        return self.steps[-1]["step"] if self.steps else None

    @property
    def finished(self) -> bool:
        """Whether the run wrote its results."""
        return self.results is not None


def read_run(directory: str | Path) -> RunRecord:
    """Read a run directory (finished or not); raises ValueError when it is none."""
    directory = Path(directory)
    config_path = directory / "config.json"
    if not config_path.is_file():
        raise ValueError(f"{directory} is not a run directory (no config.json)")
    results_path = directory / "results.json"
    results = json.loads(results_path.read_text(encoding="utf-8")) if results_path.is_file() else None
    resumes_path = directory / "resumes.txt"
    resumes = len(resumes_path.read_text().splitlines()) if resumes_path.is_file() else 0
    return RunRecord(
        directory,
        json.loads(config_path.read_text(encoding="utf-8")),
        read_steps(directory),
        read_pending(directory),
        results,
        resumes,
    )


def journaled_from_steps(
    method: str,
    problem: str,
    direction: str,
    steps: list[dict[str, Any]],
    directions: list[str] | None = None,
    reference: list[float] | None = None,
) -> Result:
    """The journaled method's Result rebuilt from the step journal (what an unfinished run has); a run with
    several objectives names their `directions` and the `reference` point in its config."""
    several = directions is not None and reference is not None
    result = Result(
        method,
        problem,
        direction,
        directions=tuple(directions) if several else None,  # type: ignore[arg-type]
        reference=tuple(reference) if several else None,  # type: ignore[arg-type]
    )
    for record in steps:
        for data in record["trials"]:
            result.add(journaled_trial(data))
    if steps:
        result.counts = Counts.from_dict(steps[-1]["counts"])
        result.seconds = steps[-1].get("clock", 0.0)
    return result


def _others(record: RunRecord) -> list[Result]:
    if record.results is None:  # unfinished
        return []
    return [Result.from_dict(r) for r in record.results.get("full_results", []) if r["method"] != record.journaled]


def _status_note(record: RunRecord) -> str:
    notes = []
    if not record.finished:
        notes.append(
            f"This run is unfinished: its last journaled step is {esc(record.last_step)}"
            f"{' and a step was in progress' if record.pending else ''}. "
            f"Continue it with <code>llmopt run … --resume {esc(record.directory)}</code>."
        )
    if record.resumes:
        notes.append(f"This run was resumed {counted(record.resumes, 'time')}.")
    return "".join(f"<p class='note'>{note}</p>" for note in notes)


def _settings(record: RunRecord) -> str:
    config, opro = record.config, record.config.get(RECORD_KEY, {})
    rows: list[list[Any]] = [
        ["problem", config.get("problem")],
        ["options", json.dumps(config.get("problem_config", {}))],
        ["model", json.dumps(config.get("backend", {}))],
        ["settings", ", ".join(f"{k}={v}" for k, v in opro.items() if k != "metaprompt")],
        ["meta-prompt", json.dumps(opro.get("metaprompt", {}))],
        ["journaled method", record.journaled],
        *_objective_rows(record.journaled_result),
        ["stop reason", _stop_reason(record)],
        ["budget (evaluations)", (record.results or {}).get("budget", "-")],
    ]
    return "<h2>Settings</h2>" + table(["", "value"], rows, left=2)


def _objective_rows(result: Result) -> list[list[Any]]:
    """With several objectives, their directions and the reference point of every hypervolume."""
    if not result.multiobjective:
        return []
    return [
        ["objectives", ", ".join(result.directions or ())],
        ["reference point", ", ".join(format_value(r) for r in result.reference or ())],
    ]


def _stop_reason(record: RunRecord) -> str:
    if record.results is None:
        return "unfinished"
    return next((r.get("stop_reason") for r in record.results["results"] if r["method"] == record.journaled), "-")


def _comparison(record: RunRecord) -> str:
    rows = (record.results or {}).get("results") or [record.journaled_result.summary()]
    header, body = comparison_rows(rows, (record.results or {}).get("optimum"), stop=True)
    reference = record.journaled_result.reference
    note = f"<p>{esc(reference_note(reference))}</p>" if reference is not None else ""
    return "<h2>Comparison at the same budget</h2>" + note + table(header, body, sortable=True, left=2)


def _fronts(record: RunRecord, problem: Any) -> str:
    """With several objectives, each method's front (and the true one where the problem knows it)."""
    from matplotlib.figure import Figure

    from llmopt.report.plots import plot_front

    if not record.journaled_result.multiobjective:
        return ""
    fig = Figure(figsize=(9, 4.5), layout="constrained")
    known = problem.true_front() if problem is not None else None
    labels = problem.labels() if problem is not None else None
    plot_front(fig.subplots(), [record.journaled_result, *_others(record)], known, labels)
    return "<h2>Pareto fronts</h2>" + figure(fig, "each method's feasible front, and the true front where known")


def _convergence(record: RunRecord) -> str:
    from matplotlib.figure import Figure

    from llmopt.core.result import side_by_side
    from llmopt.report.plots import plot_convergence, plot_rounds

    fig = Figure(figsize=(9, 4), layout="constrained")
    optimum = (record.results or {}).get("optimum")
    plot_convergence(fig.subplots(), record.journaled_result, _others(record), optimum)
    what = (
        "the hypervolume of each method's front against evaluations, and the true front's"
        if record.journaled_result.multiobjective
        else "best so far against evaluations: every evaluation, each method, references and the optimum"
    )
    html = "<h2>Convergence</h2>" + figure(fig, what)
    everyone = [record.journaled_result, *_others(record)]
    if side_by_side(everyone):
        rounds = Figure(figsize=(9, 4), layout="constrained")
        plot_rounds(rounds.subplots(), everyone, optimum)
        html += figure(rounds, "best so far against rounds of evaluations side by side")
    return html


def _counts(record: RunRecord) -> str:
    counts = record.journaled_result.counts
    rows: list[list[Any]] = [
        ["proposals", counts.proposals],
        ["evaluations", counts.evals],
        *([["on the front", len(record.journaled_result.front())]] if record.journaled_result.multiobjective else []),
        *([["feasible evaluations", counts.feasible]] if record.journaled_result.constrained else []),
        ["duplicates", counts.duplicates],
        ["failed evaluations", counts.failed_evals],
        ["failed model requests", counts.failed_requests],
        ["model calls", counts.llm_calls],
        ["tokens", counts.tokens],
        *([["cached prompt tokens", counts.cached_tokens]] if counts.cached_tokens else []),
        ["repairs (valid)", f"{counts.repairs} ({counts.repairs_valid})"],
        ["seconds", f"{record.journaled_result.seconds:.2f}"],
    ]
    by_count = sorted(counts.invalid.items(), key=lambda kv: -kv[1])
    rows += [[f"invalid: {reason}", n] for reason, n in by_count]
    return "<h2>What OPRO spent</h2>" + table(["", "count"], rows, left=1)


def _prompt_change(previous: str | None, prompt: str | None) -> str:
    if prompt is None:
        return ""
    if previous is None:
        return f"<details><summary>meta-prompt</summary><pre>{esc(prompt)}</pre></details>"
    lines = []
    for line in difflib.ndiff(previous.splitlines(), prompt.splitlines()):
        if line.startswith("+ "):
            lines.append(f"<span class='add'>{esc(line[2:])}</span>")
        elif line.startswith("- "):
            lines.append(f"<span class='del'>{esc(line[2:])}</span>")
    changed = "\n".join(lines) or "(the same meta-prompt as the step before)"
    return f"<details><summary>meta-prompt: what changed since the step before</summary><pre>{changed}</pre></details>"


def _status(trial: dict[str, Any]) -> str:
    return trial["status"] if trial["status"] not in ("ok", "initial") else "valid"


def _reasoning(trial: dict[str, Any]) -> str:
    """The proposal's own request (EvoPrompt's) and the model's reasoning, folded above its answer."""
    return "".join(
        f"<details class='reasoning'><summary>{label}</summary><pre>{esc(trial[key])}</pre></details>"
        for key, label in (("prompt", "request"), ("reasoning", "reasoning"))
        if trial.get(key)
    )


def said(trial: dict[str, Any]) -> str:
    """What the objective said with a trial's value: its feasibility and constraint values, and its feedback."""
    parts = []
    constraints = trial.get("constraints")
    if constraints is not None:
        values = ", ".join(format_value(c) for c in constraints)
        if feasible(constraints):
            parts.append(f"<span class='ok'>feasible</span> (constraints {esc(values)})")
        else:
            amount, broken = format_value(violation(constraints)), broken_count(constraints)
            parts.append(
                f"<span class='invalid'>infeasible</span>: violation {esc(amount)}, {broken} of "
                f"{len(constraints)} broken (constraints {esc(values)})"
            )
    feedback = trial.get("feedback")
    if feedback:
        text = feedback if isinstance(feedback, str) else "\n".join(f"{k}: {v}" for k, v in feedback.items())
        parts.append(f"<pre>{esc(text)}</pre>")
    return "".join(parts)


def _answers(trials: list[dict[str, Any]], best_texts: set[str]) -> str:
    told = any(trial.get("feedback") or trial.get("constraints") is not None for trial in trials)
    several = any(trial.get("values") is not None for trial in trials)
    rows = []
    for i, trial in enumerate(trials):
        mark = " class='best'" if trial.get("text") in best_texts and trial.get("value") is not None else ""
        rows.append(
            f"<tr{mark}><td>{i}</td><td class='l {esc(trial['status'])}'>{esc(_status(trial))}</td>"
            f"<td>{esc(shown_value(trial))}</td><td class='l'>{esc(trial.get('text') or '')}</td>"
            f"<td class='l'>{esc(trial.get('reason') or '')}</td>"
            + (f"<td class='l'>{said(trial)}</td>" if told else "")
            + f"<td class='l'>{_reasoning(trial)}<pre>{esc(trial.get('raw') or '')}</pre></td></tr>"
        )
    head = (
        f"<tr><th>#</th><th class=l>status</th><th>{'values' if several else 'value'}</th><th class=l>solution</th>"
        "<th class=l>reason</th>"
        + ("<th class=l>feasibility and feedback</th>" if told else "")
        + "<th class=l>answer as written</th></tr>"
    )
    return wide(f"<table><thead>{head}</thead><tbody>{''.join(rows)}</tbody></table>")


def shown_value(trial: dict[str, Any]) -> str:
    """A trial's value as the transcript shows it; with several objectives, each of its values."""
    values = trial.get("values")
    if values is not None:
        return ", ".join(format_value(v) for v in values)
    return format_value(trial.get("value"))


def scored(trial: dict[str, Any]) -> bool:
    """Whether a journaled trial has a value, or the values of a run with several objectives."""
    return trial.get("value") is not None or trial.get("values") is not None


def _drawing(problem: Any, text: str, title: str) -> str:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(3.2, 3.2))
    problem.draw(fig.subplots(), problem.decode(text), title)
    return figure(fig, title, dpi=70)


def _step_bests(steps: list[dict[str, Any]], direction: str) -> list[tuple[dict[str, Any] | None, bool, Any]]:
    """Per step: its best scored feasible trial, whether it improved on every step before, and the best feasible
    value so far (Deb's rules: an infeasible solution is never the best)."""
    out, best = [], None
    for record in steps:
        scored = [t for t in record["trials"] if t.get("value") is not None and feasible(t.get("constraints"))]
        top = min(scored, key=lambda t: to_loss(t["value"], direction)) if scored else None
        improved = top is not None and (best is None or better(direction, top["value"], best))
        if improved and top is not None:
            best = top["value"]
        out.append((top, improved, best))
    return out


def _step_hypervolumes(record: RunRecord) -> list[tuple[dict[str, Any] | None, bool, Any]]:
    """`_step_bests` with several objectives: per step no single best trial, whether the front's hypervolume
    grew, and the hypervolume after it."""
    journaled = record.journaled_result
    result = Result(
        journaled.method, journaled.problem, "max", directions=journaled.directions, reference=journaled.reference
    )
    out: list[tuple[dict[str, Any] | None, bool, Any]] = []
    best = None
    for step in record.steps:
        for data in step["trials"]:
            result.add(journaled_trial(data))
        grew = result.best_value is not None and (best is None or result.best_value > best)
        best = result.best_value if grew else best
        out.append((None, grew, best))
    return out


def _step_label(record: dict[str, Any]) -> str:
    if record.get("retry"):
        return f"retried failed evaluations (after step {record['step']})"
    return "initial points" if record["step"] == 0 else f"step {record['step']}"


def _steps(record: RunRecord, problem: Any) -> str:
    parts, previous = ["<h2>Steps</h2>"], None
    several = record.journaled_result.multiobjective
    bests = _step_hypervolumes(record) if several else _step_bests(record.steps, record.journaled_result.direction)
    improving = [i for i, (_, improved, _) in enumerate(bests) if improved]
    drawn = set(improving[-MAX_DRAWINGS:]) if problem is not None and problem.drawable else set()
    for index, (step, (top, improved, best)) in enumerate(zip(record.steps, bests)):
        label = _step_label(step)
        done = [t for t in step["trials"] if scored(t)]
        kept = sum(feasible(t.get("constraints")) for t in done)
        constrained = any(t.get("constraints") is not None for t in done)
        summary = (
            f"{label}: {counted(len(step['trials']), 'answer')}, {len(done)} scored"
            f"{f' ({kept} feasible)' if constrained else ''}, "
            f"{'hypervolume' if several else 'best'} so far {format_value(best)}"
            f"{(' — the front grew' if several else ' — new best') if improved else ''}"
        )
        inner = [_prompt_change(previous, step.get("meta_prompt"))]
        if step.get("error"):
            inner.append(f"<p class='failed'>model request failed: {esc(step['error'])}</p>")
        new_best = top if improved else None  # only improving steps are drawn
        inner.append(_answers(step["trials"], {new_best["text"]} if new_best is not None else set()))
        if index in drawn and new_best is not None and new_best.get("text"):
            inner.append(_drawing(problem, new_best["text"], f"{label}: {format_value(best)}"))
        parts.append(f"<details><summary>{esc(summary)}</summary>{''.join(inner)}</details>")
        previous = step.get("meta_prompt") or previous
    if record.pending:
        parts.append(
            f"<details open><summary>step {esc(record.pending['step'])}: in progress when the run stopped"
            f"</summary>{_prompt_change(previous, record.pending.get('meta_prompt'))}"
            f"<pre>{esc(json.dumps(record.pending.get('proposals', []), indent=1))}</pre></details>"
        )
    return "".join(parts)


def render_run(record: RunRecord, problem: Any = None) -> str:
    """The whole report page of one run."""
    title = f"llmopt run: {record.config.get('problem', '?')} ({record.directory.name})"
    body = [
        f"<h1>{esc(title)}</h1>",
        _status_note(record),
        _settings(record),
        _comparison(record),
        _fronts(record, problem),
        _convergence(record),
        _counts(record),
        _steps(record, problem),
    ]
    return page(title, body, sortable=True)


def write_run_report(directory: str | Path, problem: Any = None) -> Path:
    """Write `report.html` into the run directory and return its path."""
    record = read_run(directory)
    path = Path(directory) / "report.html"
    path.write_text(render_run(record, problem), encoding="utf-8", errors="xmlcharrefreplace")
    return path
