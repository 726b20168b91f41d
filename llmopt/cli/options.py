"""The command line's options: the flags every command shares, and the run's settings read from them."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from llmopt.backends import BACKEND_SETTINGS
from llmopt.backends.limit import DEFAULT_MAX_CONCURRENCY
from llmopt.backends.local import THREADS_ENV
from llmopt.contract.plugins import load_callable
from llmopt.contract.problem import Problem
from llmopt.contract.registry import build_problem, get_problem
from llmopt.core.errors import UsageError, keyword
from llmopt.core.settings import Setting
from llmopt.core.values import positive_int, seed
from llmopt.engine.config import RunConfig
from llmopt.engine.evaluation import dask_client

EXIT_USAGE = 2


EXIT_INTERRUPTED = 130


def checked(read: Callable[[str], Any]) -> Callable[[str], Any]:
    """An argparse type from one of the shared readers, keeping the reader's message."""

    def parse(text: str) -> Any:
        try:
            return read(text)
        except ValueError as error:
            raise argparse.ArgumentTypeError(str(error)) from None

    return parse


positive = checked(positive_int)


FIGURE_FORMATS = ("png", "pdf", "svg", "jpg", "jpeg", "webp", "tif", "tiff", "eps", "ps")


def new_file(text: str, formats: tuple[str, ...] = ()) -> str:
    """A file to write at the end: its folder must exist now (and its format be one we write), so that a
    bad path fails before the work and not after it."""
    path = Path(text)
    if formats and path.suffix.lower().lstrip(".") not in formats:
        raise argparse.ArgumentTypeError(f"{text}: write a figure as {', '.join('.' + f for f in formats[:4])}, …")
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise argparse.ArgumentTypeError(f"{text}: the folder {folder} does not exist; create it first")
    if path.is_dir():
        raise argparse.ArgumentTypeError(f"{text} is a folder; name a file")
    return text


def figure_file(text: str) -> str:
    return new_file(text, FIGURE_FORMATS)


def add_seed(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--seed", type=checked(seed), default=0, help="seed of the run (default: %(default)s)")


def add_json(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")


def add_model_options(parser: argparse.ArgumentParser) -> Any:
    group = parser.add_argument_group("optimizer model")
    for setting in BACKEND_SETTINGS:
        add_setting(group, setting)
    group.add_argument(
        "--max-concurrency",
        type=positive,
        default=DEFAULT_MAX_CONCURRENCY,
        help="requests in flight to model servers per process, optimizer, repairs and scorer "
        f"together (default: {DEFAULT_MAX_CONCURRENCY}, for a GPU server; lower it for a small one)",
    )
    group.add_argument(
        "--threads",
        type=positive,
        metavar="N",
        help=f"CPU threads of the embedded model (default: ${THREADS_ENV}, else every core); fewer "
        "when other work shares the machine, which otherwise slows it many times over",
    )
    group.add_argument("--cache", metavar="PATH", help="response cache file (default: per-user cache directory)")
    group.add_argument("--no-cache", action="store_true", help="do not read or write the response cache")
    return group


def add_opro_options(parser: argparse.ArgumentParser) -> None:
    """The model's options, then every declared setting (the run's own and each method family's), as flags."""
    from llmopt.methods import declared_settings

    groups = {"optimizer model": add_model_options(parser)}
    for setting in declared_settings():
        if setting.group not in groups:
            groups[setting.group] = parser.add_argument_group(setting.group)
        add_setting(groups[setting.group], setting)


def add_setting(group: Any, setting: Setting) -> None:
    """One declared setting as a flag: a switch for a yes/no setting (one that is on by default is switched
    off by its flag), else a value read by the setting's own reader."""
    flag = setting.flag_of()
    if setting.read is bool:
        group.add_argument(
            flag, dest=setting.key, action="store_false" if setting.default else "store_true", help=setting.described
        )
        return
    reader = None if setting.read is str else checked(setting.read)
    group.add_argument(
        flag,
        dest=setting.key,
        type=reader,
        default=setting.default,
        metavar=setting.metavar,
        choices=list(setting.choices) if setting.choices else None,
        help=setting.described,
    )


def flag_of(key: str, scope: str = "") -> str:
    """The flag of the setting `key` (of the copy under `scope`, such as prompt search's `--scorer-...`),
    through its declaration: what an error about a setting names on the command line."""
    from llmopt.methods import declared_settings

    found = {setting.key: setting for setting in (*BACKEND_SETTINGS, *declared_settings())}
    if key in found:
        return found[key].flag_of(scope)
    return "--" + keyword(key, scope).replace("_", "-")  # a flag of the command's own (`--dask`)


def add_eval_dask(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--dask",
        dest="eval_dask",
        metavar="ADDRESS",
        help="run the evaluations on this Dask scheduler's workers (tcp://HOST:PORT)",
    )


def add_run_outputs(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", help="run directory (default: runs/<timestamp>-<problem>)")
    parser.add_argument("--resume", metavar="RUN_DIR", help="continue the interrupted run in RUN_DIR")
    parser.add_argument(
        "--plot", metavar="FILE.png", type=figure_file, help="write a figure: convergence, and tours for TSP"
    )
    parser.add_argument(
        "--html", action="store_true", help="also write RUN_DIR/report.html, a self-contained transcript of the run"
    )


def add_bench_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("experiment")
    group.add_argument("--seeds", type=positive, default=3, help="number of seeds (default: %(default)s)")
    group.add_argument("--methods", nargs="+", help="methods to run (default: opro and every default method)")
    group.add_argument(
        "--paper-grid",
        action="store_true",
        help="the task variants of the paper's table (linear regression: its seven (w, b) pairs; "
        "tsp: 10, 15, 20 and 50 cities) and a table in the paper's shape",
    )
    group.add_argument(
        "--vary",
        action="append",
        default=[],
        metavar="KEY=V1,V2",
        help="sweep an OPRO setting (temperature, proposals at the same evaluation budget, order, "
        "top-k) or a problem option (e.g. exemplars, cities); several are crossed",
    )
    group.add_argument(
        "--models",
        metavar="M1,M2",
        help="optimizer models to compare, each a row: local, local@FILE.gguf or NAME@URL "
        "(an OpenAI-compatible server); replaces --model",
    )
    group.add_argument("--workers", type=positive, default=2, help="local worker processes (default: %(default)s)")
    group.add_argument("--dask", metavar="ADDRESS", help="run the jobs on this Dask scheduler instead")
    group.add_argument(
        "--html", metavar="FILE.html", type=new_file, help="also write the statistics and figures as one HTML page"
    )
    group.add_argument(
        "--plot",
        metavar="FILE.png",
        type=figure_file,
        help="write the median/IQR best-so-far bands and the fixed-target ECDF per method",
    )


def add_methods(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--methods",
        nargs="+",
        metavar="METHOD",
        help="compared methods to run (default: every default method of the problem's space and its references)",
    )


def add_constraints(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--constraints",
        metavar="MODULE:FUNCTION",
        help="constraints on the solutions: a function of a solution (the numpy array --function receives, "
        "for a function) returning one value or a sequence, each <= 0 when met and > 0 by how much it is "
        "violated (Optuna's convention); the best solution is the best that meets them all",
    )


def make_problem(args: argparse.Namespace) -> Problem:
    """The problem the flags name, with the `--constraints` function when one is given."""
    problem = build_problem(args.problem, problem_options(args))
    spec = getattr(args, "constraints", None)
    return problem if spec is None else problem.constrained_by(load_callable(spec, "--constraints"), spec)


def problem_options(args: argparse.Namespace) -> dict[str, Any]:
    return {option.dest: getattr(args, option.dest) for option in get_problem(args.problem).options}


def opro_config(args: argparse.Namespace) -> RunConfig:
    """The run's settings from the flags of every declared setting, the seed and the Dask scheduler."""
    from llmopt.methods import declared_settings

    if args.max_cost is not None and args.price is None:
        raise UsageError(
            "--max-cost needs --price IN,OUT (dollars per million prompt and completion tokens; "
            "IN,CACHED,OUT with a cached prompt token's price)"
        )
    data: dict[str, Any] = {"seed": getattr(args, "seed", 0), "dask": getattr(args, "eval_dask", None)}
    for setting in declared_settings():
        data = setting.put(data, getattr(args, setting.key))
    return RunConfig.from_dict(data)


def check_evaluations(config: RunConfig) -> None:
    """A Dask scheduler that cannot be reached is the user's to mend, before any work starts."""
    if config.dask is not None:
        dask_client(config.dask)


def cache_setting(args: argparse.Namespace) -> str | None:
    return None if args.no_cache else (args.cache or "default")


def result_store(args: argparse.Namespace) -> Any:
    from llmopt.methods import ResultStore

    return None if args.no_cache else ResultStore(args.cache)


def report_cache(backend: Any, store: Any, quiet: bool) -> None:
    if quiet or store is None:
        return
    hits, misses, calls = (getattr(backend, name, 0) for name in ("hits", "misses", "calls"))
    print(
        f"cache: {hits} requests replayed, {misses} sent to the model ({calls} LLM calls; {store.path}); "
        f"compared methods: {store.hits} replayed, {store.misses} computed",
        file=sys.stderr,
    )


def backend_settings(args: argparse.Namespace) -> dict[str, Any]:
    """The optimizer model's `BackendSpec` fields from the flags of its settings and the cache's."""
    return {**{setting.key: getattr(args, setting.key) for setting in BACKEND_SETTINGS}, "cache": cache_setting(args)}


def write(what: str, write: Callable[[], Any]) -> None:
    """Write a figure or report; one that fails is a warning, never the loss of what was computed."""
    try:
        print(f"{what}: {write()}", file=sys.stderr)
    except Exception as error:
        print(
            f"warning: the {what} was not written ({type(error).__name__}: {error}); the results are saved",
            file=sys.stderr,
        )


_json_targets: list[Any] = []


@contextmanager
def stdout_for_json_only(enabled: bool) -> Iterator[None]:
    """With `--json`, standard output holds the one JSON object: whatever else is printed inside the block
    (an objective's own prints, a library's, a worker process's) goes to standard error."""
    if not enabled or _json_targets:  # off, or inside an outer block that already keeps stdout
        yield
        return
    original = target = sys.stdout
    saved = None
    target.flush()
    try:
        real = target.fileno() == 1
    except (AttributeError, OSError, ValueError):  # a captured stream (a test's): the Python level suffices
        real = False
    if real:  # file descriptor 1 itself, for C code and child processes
        saved = os.dup(1)
        os.dup2(2, 1)
        target = os.fdopen(saved, "w", encoding="utf-8", closefd=False)
    _json_targets.append(target)
    sys.stdout = sys.stderr
    try:
        yield
    finally:
        sys.stderr.flush()
        _json_targets.pop()
        sys.stdout = original
        if saved is not None:
            target.flush()
            os.dup2(saved, 1)
            os.close(saved)


def print_json(text: str) -> None:
    """Print the command's JSON object on standard output (the real one, inside `stdout_for_json_only`)."""
    target = _json_targets[-1] if _json_targets else sys.stdout
    print(text, file=target)
    target.flush()
