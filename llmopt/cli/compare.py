"""`llmopt run` and `llmopt baselines`: one pipeline, the problem's methods at one evaluation budget."""

from __future__ import annotations

import argparse
import dataclasses
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from llmopt.backends import make_backend
from llmopt.backends.base import Backend
from llmopt.bench import health
from llmopt.cli.options import (
    EXIT_INTERRUPTED,
    backend_settings,
    check_evaluations,
    make_problem,
    opro_config,
    print_json,
    problem_options,
    report_cache,
    result_store,
    write,
)
from llmopt.contract.problem import Problem
from llmopt.core.errors import ENDS_THE_RUN, ObjectiveError, UsageError
from llmopt.core.result import Result
from llmopt.core.settings import with_defaults
from llmopt.core.stops import StopStatus
from llmopt.engine.config import RESUMABLE, RunConfig
from llmopt.engine.driver import Driver
from llmopt.engine.records import RunRecorder, default_run_dir, read_config, resume_refusal
from llmopt.methods import compared_methods, declared_settings, resolve
from llmopt.methods.comparison import compare, journaled_method
from llmopt.methods.model.opro import NAME, RECORD_KEY
from llmopt.report.tables import comparison_table, json_row, strict_json


def _progress(name: str, total: int, quiet: bool) -> tuple[Callable[[Driver], None], Callable[[], None]]:
    """A bar over the steps with the best so far; between steps, what the model is doing (loading, requests
    in flight, answers and tokens so far) every half second, so a slow model shows life."""
    import threading

    from tqdm import tqdm

    from llmopt.backends.activity import ACTIVITY

    bar = tqdm(total=total, desc=name, unit="step", file=sys.stderr, disable=quiet, leave=False)
    best: dict[str, Any] = {}
    done = threading.Event()

    def show() -> None:
        bar.set_postfix({**best, **ACTIVITY.status()}, refresh=True)

    def tick() -> None:
        while not done.wait(0.5):
            show()

    def update(driver: Driver) -> None:
        best["best"] = driver.result.best_value
        show()
        bar.update(1)

    def close() -> None:
        done.set()
        bar.close()

    if not quiet:
        threading.Thread(target=tick, name="llmopt-progress", daemon=True).start()
    return update, close


def _output(
    problem: Problem, results: list[Result], as_json: bool, extra: dict[str, Any], notes: Sequence[str] = ()
) -> dict[str, Any]:
    """Print the comparison (table or JSON) with what it says about the model; returns the JSON payload."""
    columns = [problem.extra_columns(r) for r in results]
    failed, broken = health.not_a_comparison(health.row_of(r) for r in results)
    warnings_ = health.failed_evaluations(results)
    cut = health.cut_off_warning(r.counts for r in results if r.kind != "reference")
    payload = {
        "problem": problem.name,
        "optimum": problem.optimum(),
        **_objectives(problem),
        "results": [json_row(r, more) for r, more in zip(results, columns)],
        **extra,
        **({"adaptations": list(notes)} if notes else {}),
        **({"model_failed": failed} if failed else {}),
        **({"evaluations_failed": broken} if broken else {}),
        **({"warning": cut} if cut else {}),
    }
    if as_json:
        print_json(strict_json(payload))
    else:
        for line in [*failed, *([broken] if broken else [])]:
            print(f"NOT A COMPARISON: {line}")
        print(comparison_table(results, problem.optimum(), columns))
        for key, value in extra.items():
            print(f"{key}: {value}")
        for note in notes:
            print(f"note: {note}")
    for result in results:
        if result.status is StopStatus.CRASHED:
            print(
                f"warning: {result.method} {result.stop_reason}; recorded as it stood, the others went on",
                file=sys.stderr,
            )
    for line in warnings_:
        print(line, file=sys.stderr)
    beaten = _beaten(problem, results)
    if beaten:
        print(beaten, file=sys.stderr)
    if cut:
        print(cut, file=sys.stderr)
    return payload


def _objectives(problem: Problem) -> dict[str, Any]:
    """With several objectives, their directions and the one reference point every hypervolume is measured
    against (the JSON output's and config.json's); nothing with one."""
    if problem.directions is None:
        return {}
    return {"directions": list(problem.directions), "reference": list(problem.reference_point() or ())}


def _beaten(problem: Problem, results: list[Result]) -> str | None:
    """A warning when a method beat the optimum the problem was given: the given value is wrong."""
    from llmopt.core.direction import better

    optimum = problem.optimum()
    found = [
        r
        for r in results
        if optimum is not None
        and r.best_value is not None
        and better(problem.goal, r.best_value, optimum)
        and abs(r.best_value - optimum) > 1e-9 * max(1, abs(optimum))
    ]
    if not found:
        return None
    best = found[0]
    return (
        f"warning: {best.method} found {best.best_value:g}, better than the optimum {optimum:g}; the gaps "
        "are measured against a wrong value: check --optimum"
    )


def _recorder(
    args: argparse.Namespace, config: dict[str, Any], settings: RunConfig, journaled: str | None
) -> RunRecorder:
    """A new run directory (`--out`, else one named by the time), or the one `--resume` continues, refused
    when the run there was made with other options than these (`llmopt.engine.records.resume_refusal`)."""
    if not args.resume:
        directory = Path(default_run_dir(config["problem"]) if args.out is None else args.out)
        if (directory / "config.json").exists() or (directory / "steps.jsonl").exists():
            raise UsageError(
                f"--out {directory} already holds a run; name a new folder, or continue that run "
                f"with --resume {directory}"
            )
        try:
            return RunRecorder(directory, config)
        except OSError as error:
            raise UsageError(f"--out {directory}: cannot write there ({error.strerror or error})") from None
    if not (Path(args.resume) / "config.json").is_file():
        raise UsageError(f"{args.resume} is not a run directory (no config.json); check --resume")
    saved = read_config(args.resume)
    declared = declared_settings()
    resumable = RESUMABLE | {setting.key for setting in declared if setting.resumable}
    changed = settings.changes_on_resume(
        RunConfig.from_dict(with_defaults(saved.get(RECORD_KEY, {}), declared)), resumable
    )
    refusal = resume_refusal(saved, config, changed, NAME)
    if refusal:
        raise UsageError(f"--resume {args.resume}: {refusal}")
    return RunRecorder(args.resume, config, resume=True)


def cmd_run(args: argparse.Namespace) -> int:
    """The problem's methods (OPRO and the defaults unless --methods names them) at one evaluation budget,
    the first model-driven one journaled in the run directory."""
    return _compare(args, journal=True)


def cmd_baselines(args: argparse.Namespace) -> int:
    """The compared methods alone, at the evaluation budget an OPRO run with these options would have."""
    return _compare(args, journal=False)


def _compare(args: argparse.Namespace, journal: bool) -> int:
    """The pipeline of both: the methods, the model, the settings, the comparison, its table or JSON; with
    `journal`, a run directory that journals the first model-driven method, and its figure and report."""
    problem = make_problem(args)
    names = args.methods if args.methods is not None or journal else compared_methods(problem)
    methods = resolve(problem, names)
    backend = make_backend(**backend_settings(args)) if any(m.samples_model for m in methods) else None
    config = _resumed_limit(args, opro_config(args))
    check_evaluations(config)
    lead = journaled_method(methods) if journal else None
    recorder = (
        _recorder(args, _record(args, problem, config, backend, lead), config, lead.name if lead else None)
        if journal
        else None
    )
    update, close = _progress(lead.name if lead else "run", config.steps, args.json or not journal)
    store = result_store(args)
    try:
        results = compare(
            problem,
            config,
            [m.name for m in methods],
            backend,
            store=store,
            recorder=recorder,
            resume=bool(journal and args.resume),
            on_step=update,
        )
    except ENDS_THE_RUN + (ObjectiveError,) as error:  # no compared method is started against a server gone
        saved = (
            f"; the run is saved: once that is mended, continue with --resume {recorder.directory}" if recorder else ""
        )
        raise error.then(saved) from None
    except KeyboardInterrupt:  # no comparison is printed or saved: the journal holds what was done
        if recorder is None:
            raise
        print(f"llmopt: interrupted; continue with --resume {recorder.directory}", file=sys.stderr)
        return EXIT_INTERRUPTED
    finally:
        close()
    payload = _write(args, problem, results, config, backend, recorder, lead.name if lead else None)
    report_cache(backend, store, args.json)
    return exit_code(payload)


def _write(
    args: argparse.Namespace,
    problem: Problem,
    results: list[Result],
    config: RunConfig,
    backend: Backend | None,
    recorder: RunRecorder | None,
    leader: str | None,
) -> dict[str, Any]:
    """The comparison's table or JSON, and with a run directory its results, figure and the model's adaptations;
    returns the payload the exit code is read from."""
    notes = health.adaptations(backend)
    extra: dict[str, Any] = {"budget": config.evaluation_budget()}
    if recorder is not None:
        if notes:
            recorder.amend_config({"adaptations": notes})
        extra["run_dir"] = str(recorder.directory)
    payload = _output(problem, results, args.json, extra, notes)
    if recorder is not None:
        recorder.write_results({**payload, "full_results": [r.to_dict() for r in results]})
        # the figure draws the journaled method against the rest
        _figures(args, problem, sorted(results, key=lambda r: r.method != leader), recorder.directory)
    return payload


def _resumed_limit(args: argparse.Namespace, config: RunConfig) -> RunConfig:
    """A resumed run keeps the answer limit it was recorded with, unless --answer-tokens gives one (0.4's
    records hold 128, the limit every answer had then)."""
    resume = getattr(args, "resume", None)
    if not resume or config.answer_tokens is not None or not (Path(resume) / "config.json").is_file():
        return config
    limit = read_config(resume).get(RECORD_KEY, {}).get("answer_tokens")
    return dataclasses.replace(config, answer_tokens=limit) if isinstance(limit, int) else config


def _record(args: argparse.Namespace, problem: Problem, config: RunConfig, backend: Any, lead: Any) -> dict[str, Any]:
    """What config.json holds: the problem (its name, definition and options), the settings, the journaled
    method and the backend."""
    return {
        "problem": problem.name,
        "problem_config": problem.config(),
        "problem_options": problem_options(args),
        "direction": problem.goal,
        **_objectives(problem),
        RECORD_KEY: config.to_dict(),
        "journaled": lead and lead.name,
        "backend": backend.describe() if backend else None,
    }


def exit_code(payload: dict[str, Any]) -> int:
    """3 when the run is no comparison (`health.not_a_comparison`: a model-driven method crashed or its
    requests mostly failed, or no method has a result), else 0."""
    return health.EXIT_MODEL_FAILED if payload.get("model_failed") or payload.get("evaluations_failed") else 0


def _figures(args: argparse.Namespace, problem: Problem, results: list[Result], run_dir: Any) -> None:
    """The figure and the HTML report, after the results are on disk."""
    if args.plot:
        from llmopt.report.plots import plot_run

        write("plot", lambda: plot_run(problem, results, args.plot))
    if args.html:
        from llmopt.report import write_run_report

        write("report", lambda: write_run_report(run_dir, problem))
