"""`llmopt report`: a finished run's table and figure, a run's or a folder's HTML transcript, an Optuna study's."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from llmopt.contract.problem import Problem
from llmopt.contract.registry import get_problem
from llmopt.core.errors import UsageError
from llmopt.report.tables import comparison_table


def cmd_report(args: argparse.Namespace) -> int:
    """Print a finished run's comparison table and write its PNG summary."""
    from llmopt.engine.records import read_results
    from llmopt.report.plots import report_figure

    if args.optuna_storage or args.study:
        return _study_report(args)
    if args.run_dir is None:
        raise UsageError("name a RUN_DIR, or give --optuna-storage URL --study NAME")
    run_dir = Path(args.run_dir)
    if args.html:
        return _html_report(run_dir)
    if not (run_dir / "results.json").is_file():
        hint = " (interrupted? finish it with --resume)" if (run_dir / "steps.jsonl").is_file() else ""
        raise UsageError(f"{run_dir} has no results.json{hint}; pass a finished run directory")
    try:
        results = read_results(run_dir)
        payload = json.loads((run_dir / "results.json").read_text())
        summary_keys = set(results[0].summary())  # what is left in a row are the problem's own columns
        columns = [{k: v for k, v in row.items() if k not in summary_keys} for row in payload["results"]]
        table = comparison_table(results, payload.get("optimum"), columns)  # one reference point, or a ValueError
    except (ValueError, KeyError, TypeError) as error:
        raise UsageError(f"{run_dir}/results.json is not a run record: {error}") from None
    print(table)
    path = report_figure(results, table, args.out or run_dir / "report.png")
    print(f"report: {path}")
    return 0


def _study_report(args: argparse.Namespace) -> int:
    """The HTML transcript of an Optuna study, written to NAME.html here."""
    from llmopt.report.study import write_study_report

    if not (args.optuna_storage and args.study):
        raise UsageError("--optuna-storage URL and --study NAME go together")
    from sqlalchemy.exc import SQLAlchemyError

    try:
        written = write_study_report(args.optuna_storage, args.study, f"{args.study}.html")
    except KeyError:
        raise UsageError(f"no study {args.study!r} in {args.optuna_storage}; check --study") from None
    except (SQLAlchemyError, ValueError, OSError) as error:  # a storage the database layer cannot open
        raise UsageError(f"cannot read {args.optuna_storage}: {type(error).__name__}: {error}") from None
    print(f"report: {written}")
    return 0


def _html_report(path: Any) -> int:
    from llmopt.report import read_run, write_index, write_run_report

    try:
        if (path / "config.json").is_file():
            written = write_run_report(path, _rebuilt_problem(read_run(path).config))
        else:
            written = write_index(path, lambda record: _rebuilt_problem(record.config))
    except (ValueError, KeyError, TypeError, OSError) as error:
        raise UsageError(f"cannot report on {path}: {error}; pass a run directory or a folder of them") from None
    print(f"report: {written}")
    return 0


def _rebuilt_problem(config: dict[str, Any]) -> Problem | None:
    """The run's problem from its recorded options, for drawings and a true front (several objectives); None
    when it cannot be rebuilt here."""
    try:
        cls = get_problem(config["problem"])
        wanted = cls.drawable or config.get("directions") is not None
        return cls.from_options(**config["problem_options"]) if wanted else None
    except Exception:  # an old record, a missing file or plugin: the report goes on without drawings
        return None
