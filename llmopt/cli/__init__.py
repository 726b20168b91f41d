"""`llmopt` command line: list problems, run OPRO against the compared methods, run those alone, bench, report.

One module per command; this one parses and dispatches."""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, NoReturn

from llmopt.backends.local import THREADS_ENV
from llmopt.cli.bench import cmd_bench
from llmopt.cli.compare import cmd_baselines, cmd_run
from llmopt.cli.options import (
    EXIT_INTERRUPTED,
    EXIT_USAGE,
    add_bench_options,
    add_constraints,
    add_eval_dask,
    add_json,
    add_methods,
    add_opro_options,
    add_run_outputs,
    add_seed,
    cache_setting,
    figure_file,
    flag_of,
    stdout_for_json_only,
)
from llmopt.cli.report import cmd_report
from llmopt.contract.registry import registry
from llmopt.core.errors import UsageError, did_you_mean


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors instead of the usage block."""

    def error(self, message: str) -> NoReturn:
        """Turn argparse's complaint into a one-line usage error (exit code 2)."""
        if "expected one argument" in message:  # argparse reads a value such as -5:5 as a flag
            message += "; a value that starts with '-' goes after '=', e.g. --bounds=-5:5,0:10"
        wrong = re.search(r"invalid choice: '([^']*)' \(choose from (.*)\)", message)
        if wrong:  # a mistyped problem or command
            message += did_you_mean(wrong.group(1), re.findall(r"'([^']*)'", wrong.group(2)))
        raise UsageError(f"{message} (see `{self.prog} --help`)")

    def parse_args(self, args: Sequence[str] | None = None, namespace: Any = None) -> argparse.Namespace:  # type: ignore[override]
        """As argparse does, but an unknown flag points to the help of the sub-command it was given to."""
        parsed, extra = self.parse_known_args(args, namespace)
        if extra:
            path = [part for part in (getattr(parsed, "command", None), getattr(parsed, "problem", None)) if part]
            flag = next((word.partition("=")[0] for word in extra if word.startswith("--")), "")
            hint = did_you_mean(flag, _flags(self, path)) if flag else ""
            raise UsageError(
                f"unrecognized arguments: {' '.join(extra)}{hint} (see `{' '.join([self.prog, *path])} --help`)"
            )
        return parsed


def _flags(parser: argparse.ArgumentParser, path: list[str]) -> list[str]:
    """The long flags of the sub-command that `path` (command, problem) names."""
    for name in path:
        found = next(
            (
                action.choices[name]
                for action in parser._actions
                if isinstance(action, argparse._SubParsersAction) and name in action.choices
            ),
            None,
        )
        if found is None:
            break
        parser = found
    return [flag for action in parser._actions for flag in action.option_strings if flag.startswith("--")]


def _add_report(commands: Any) -> None:
    """The `report` command's parser."""
    report = commands.add_parser("report", help="print a finished run's table and write a PNG summary, or HTML")
    report.add_argument(
        "run_dir",
        metavar="RUN_DIR",
        nargs="?",
        help="a run directory written by `llmopt run`, or with --html a folder of them",
    )
    report.add_argument(
        "--optuna-storage",
        metavar="URL",
        help="instead, an Optuna storage (e.g. sqlite:///study.db) whose study llmopt's samplers "
        "took part in: writes STUDY.html, its transcript",
    )
    report.add_argument("--study", metavar="NAME", help="the study's name in --optuna-storage")
    report.add_argument("--out", type=figure_file, help="PNG file (default: RUN_DIR/report.png)")
    report.add_argument(
        "--html",
        action="store_true",
        help="write RUN_DIR/report.html (a run, finished or not) or FOLDER/index.html (every run)",
    )


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser, with one sub-command per registered problem."""
    parser = _Parser(prog="llmopt", description="Large language models as optimizers (OPRO).")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    commands.add_parser("problems", help="list registered problems")
    _add_report(commands)
    for command, help_text, adders in (
        (
            "run",
            "run OPRO on a problem and compare it with every method at the same budget",
            (add_seed, add_json, add_opro_options, add_eval_dask, add_run_outputs, add_methods, add_constraints),
        ),
        (
            "baselines",
            "run the compared methods alone, at the budget an OPRO run would have",
            (add_seed, add_json, add_opro_options, add_eval_dask, add_methods, add_constraints),
        ),
        (
            "bench",
            "OPRO and the compared methods over several seeds at the same evaluation budget",
            (add_json, add_opro_options, add_bench_options),
        ),
    ):
        sub = commands.add_parser(command, help=help_text)
        per_problem = sub.add_subparsers(dest="problem", required=True, metavar="PROBLEM", parser_class=_Parser)
        for name, cls in registry().items():
            problem_parser = per_problem.add_parser(name, help=cls.summary)
            for option in cls.options:
                option.add_to(problem_parser)
            for add in adders:
                add(problem_parser)
    return parser


def cmd_problems(args: argparse.Namespace) -> int:
    """Print the registered problems with one-line summaries."""
    problems = registry()
    width = max(len(name) for name in problems)
    for name, cls in problems.items():
        print(f"{name.ljust(width)}  {cls.summary}")
    return 0


@contextmanager
def _process_settings(args: argparse.Namespace) -> Iterator[None]:
    """The command's request limit and response cache (for backends a problem makes, such as a scorer),
    the previous ones put back after."""
    from llmopt.backends import response_cache
    from llmopt.backends.limit import request_limit

    cache = cache_setting(args) if hasattr(args, "no_cache") else None
    with (
        request_limit(getattr(args, "max_concurrency", None)),
        response_cache(cache),
        _environment(THREADS_ENV, getattr(args, "threads", None)),
        stdout_for_json_only(bool(getattr(args, "json", False))),
    ):
        yield


@contextmanager
def _environment(name: str, value: Any) -> Iterator[None]:
    """`name` set to `value` inside the block (and in the processes it starts), as it was after; None
    leaves it alone."""
    if value is None:
        yield
        return
    before = os.environ.get(name)
    os.environ[name] = str(value)
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = before


COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "problems": cmd_problems,
    "run": cmd_run,
    "baselines": cmd_baselines,
    "bench": cmd_bench,
    "report": cmd_report,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `llmopt` console script; returns the exit code."""
    try:
        args = build_parser().parse_args(argv)
        with _process_settings(args):
            return COMMANDS[args.command](args)
    except UsageError as error:
        print(f"llmopt: error: {error.naming(flag_of)}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("llmopt: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # the reader went away (`| head`): what it wanted was written
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # so the exit's flush stays quiet
        return 0
