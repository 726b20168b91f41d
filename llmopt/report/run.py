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
from llmopt.report.tables import comparison_rows, format_value

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
            self.journaled, self.config.get("problem", "?"), self.config.get("direction", "min"), self.steps
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


def journaled_from_steps(method: str, problem: str, direction: str, steps: list[dict[str, Any]]) -> Result:
    """The journaled method's Result rebuilt from the step journal (what an unfinished run has)."""
    result = Result(method, problem, direction)
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
        ["stop reason", _stop_reason(record)],
        ["budget (evaluations)", (record.results or {}).get("budget", "-")],
    ]
    return "<h2>Settings</h2>" + table(["", "value"], rows, left=2)


def _stop_reason(record: RunRecord) -> str:
    if record.results is None:
        return "unfinished"
    return next((r.get("stop_reason") for r in record.results["results"] if r["method"] == record.journaled), "-")


def _comparison(record: RunRecord) -> str:
    rows = (record.results or {}).get("results") or [record.journaled_result.summary()]
    header, body = comparison_rows(rows, (record.results or {}).get("optimum"), stop=True)
    return "<h2>Comparison at the same budget</h2>" + table(header, body, sortable=True, left=2)


def _convergence(record: RunRecord) -> str:
    from matplotlib.figure import Figure

    from llmopt.core.result import side_by_side
    from llmopt.report.plots import plot_convergence, plot_rounds

    fig = Figure(figsize=(9, 4), layout="constrained")
    optimum = (record.results or {}).get("optimum")
    plot_convergence(fig.subplots(), record.journaled_result, _others(record), optimum)
    html = "<h2>Convergence</h2>" + figure(
        fig, "best so far against evaluations: every evaluation, each method, references and the optimum"
    )
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
    rows = []
    for i, trial in enumerate(trials):
        mark = " class='best'" if trial.get("text") in best_texts and trial.get("value") is not None else ""
        rows.append(
            f"<tr{mark}><td>{i}</td><td class='l {esc(trial['status'])}'>{esc(_status(trial))}</td>"
            f"<td>{esc(format_value(trial.get('value')))}</td><td class='l'>{esc(trial.get('text') or '')}</td>"
            f"<td class='l'>{esc(trial.get('reason') or '')}</td>"
            + (f"<td class='l'>{said(trial)}</td>" if told else "")
            + f"<td class='l'>{_reasoning(trial)}<pre>{esc(trial.get('raw') or '')}</pre></td></tr>"
        )
    head = (
        "<tr><th>#</th><th class=l>status</th><th>value</th><th class=l>solution</th><th class=l>reason</th>"
        + ("<th class=l>feasibility and feedback</th>" if told else "")
        + "<th class=l>answer as written</th></tr>"
    )
    return wide(f"<table><thead>{head}</thead><tbody>{''.join(rows)}</tbody></table>")


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


def _step_label(record: dict[str, Any]) -> str:
    if record.get("retry"):
        return f"retried failed evaluations (after step {record['step']})"
    return "initial points" if record["step"] == 0 else f"step {record['step']}"


def _steps(record: RunRecord, problem: Any) -> str:
    parts, previous = ["<h2>Steps</h2>"], None
    bests = _step_bests(record.steps, record.journaled_result.direction)
    improving = [i for i, (_, improved, _) in enumerate(bests) if improved]
    drawn = set(improving[-MAX_DRAWINGS:]) if problem is not None and problem.drawable else set()
    for index, (step, (top, improved, best)) in enumerate(zip(record.steps, bests)):
        label = _step_label(step)
        scored = [t for t in step["trials"] if t.get("value") is not None]
        kept = sum(feasible(t.get("constraints")) for t in scored)
        constrained = any(t.get("constraints") is not None for t in scored)
        summary = (
            f"{label}: {counted(len(step['trials']), 'answer')}, {len(scored)} scored"
            f"{f' ({kept} feasible)' if constrained else ''}, "
            f"best so far {format_value(best)}{' — new best' if improved else ''}"
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
