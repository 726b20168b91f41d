"""`llmopt` command line: list problems, run OPRO against the compared methods, run those alone, bench, report."""

from __future__ import annotations

import argparse
import json
import re
import sys
from contextlib import contextmanager
from typing import Any, Callable, Iterator, NoReturn, Sequence

from llmopt import health
from llmopt.backends import make_backend
from llmopt.backends.limit import DEFAULT_MAX_CONCURRENCY
from llmopt.backends.local import THREADS_ENV
from llmopt.backends.openai_compat import GRAMMAR_FIELDS, REASONING_EFFORTS
from llmopt.backends.reasoning import DEFAULT_REASONING_TOKENS
from llmopt.comparators import compared_methods, resolve
from llmopt.method import CRASHED
from llmopt.comparison import compare, journaled_method
from llmopt.driver import Driver
from llmopt.errors import ENDS_THE_RUN, UsageError, did_you_mean
from llmopt.evaluation import dask_client
from llmopt.opro import NAME, RECORD_KEY as SETTINGS
from llmopt.settings import OPROConfig, Setting, with_defaults
from llmopt.problem import Problem
from llmopt.registry import build_problem, get_problem, registry
from llmopt.records import RunRecorder, default_run_dir, read_config
from llmopt.result import Result
from llmopt.report.tables import comparison_table, strict_json
from llmopt.values import non_negative_int, positive_int, seed

EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


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
            raise UsageError(f"unrecognized arguments: {' '.join(extra)}{hint} (see `{' '.join([self.prog, *path])} "
                             "--help`)")
        return parsed


def _flags(parser: argparse.ArgumentParser, path: list[str]) -> list[str]:
    """The long flags of the sub-command that `path` (command, problem) names."""
    for name in path:
        found = next((action.choices[name] for action in parser._actions
                      if isinstance(action, argparse._SubParsersAction) and name in action.choices), None)
        if found is None:
            break
        parser = found
    return [flag for action in parser._actions for flag in action.option_strings if flag.startswith("--")]


def _checked(read: Callable[[str], Any]) -> Callable[[str], Any]:
    """An argparse type from one of the shared readers, keeping the reader's message."""
    def parse(text: str) -> Any:
        try:
            return read(text)
        except ValueError as error:
            raise argparse.ArgumentTypeError(str(error)) from None

    return parse


_positive = _checked(positive_int)
FIGURE_FORMATS = ("png", "pdf", "svg", "jpg", "jpeg", "webp", "tif", "tiff", "eps", "ps")


def _new_file(text: str, formats: tuple[str, ...] = ()) -> str:
    """A file to write at the end: its folder must exist now (and its format be one we write), so that a
    bad path fails before the work and not after it."""
    from pathlib import Path

    path = Path(text)
    if formats and path.suffix.lower().lstrip(".") not in formats:
        raise argparse.ArgumentTypeError(f"{text}: write a figure as {', '.join('.' + f for f in formats[:4])}, …")
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise argparse.ArgumentTypeError(f"{text}: the folder {folder} does not exist; create it first")
    if path.is_dir():
        raise argparse.ArgumentTypeError(f"{text} is a folder; name a file")
    return text


def _figure_file(text: str) -> str:
    return _new_file(text, FIGURE_FORMATS)


def _add_seed(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--seed", type=_checked(seed), default=0, help="seed of the run (default: 0)")


def _add_json(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")


def _add_model_options(parser: argparse.ArgumentParser) -> Any:
    group = parser.add_argument_group("optimizer model")
    group.add_argument("--model", default="local",
                       help="'local' for the embedded model, else a model name on an OpenAI-compatible server")
    group.add_argument("--base-url", help="OpenAI-compatible server URL, e.g. http://127.0.0.1:8000/v1")
    group.add_argument("--model-path", help="a GGUF file for the local backend")
    group.add_argument("--server-grammar", default="auto", choices=["auto", *GRAMMAR_FIELDS],
                       help="how to pass the problem's grammar to a server: auto asks the server (llama.cpp: "
                            "grammar; vLLM >= 0.12: structured_outputs; vllm-legacy: guided_grammar) and sends "
                            "none where it cannot tell (default: auto)")
    group.add_argument("--reasoning-effort", choices=REASONING_EFFORTS,
                       help="how hard a reasoning model thinks, sent where the server takes it (OpenAI, Ollama, "
                            "vLLM for gpt-oss)")
    group.add_argument("--reasoning-tokens", type=_positive, default=DEFAULT_REASONING_TOKENS,
                       help="tokens a model that reasons may spend on it, on top of --answer-tokens "
                            f"(default: {DEFAULT_REASONING_TOKENS})")
    group.add_argument("--max-retries", type=_checked(non_negative_int), default=4,
                       help="attempts after the first for a request that failed in a way that may pass (429, 5xx, "
                            "time-outs, dropped connections), with backoff from 0.5 s (default: 4)")
    group.add_argument("--max-concurrency", type=_positive, default=DEFAULT_MAX_CONCURRENCY,
                       help="requests in flight to model servers per process, optimizer, repairs and scorer "
                            "together (default: 64, for a GPU server; lower it for a small one)")
    group.add_argument("--threads", type=_positive, metavar="N",
                       help=f"CPU threads of the embedded model (default: ${THREADS_ENV}, else every core); fewer "
                            "when other work shares the machine, which otherwise slows it many times over")
    group.add_argument("--cache", metavar="PATH", help="response cache file (default: per-user cache directory)")
    group.add_argument("--no-cache", action="store_true", help="do not read or write the response cache")
    return group


def _add_opro_options(parser: argparse.ArgumentParser) -> None:
    """The model's options, then every declared setting (the run's own and each method family's), as flags."""
    from llmopt.comparators import declared_settings

    groups = {"optimizer model": _add_model_options(parser)}
    for setting in declared_settings():
        if setting.group not in groups:
            groups[setting.group] = parser.add_argument_group(setting.group)
        _add_setting(groups[setting.group], setting)


def _add_setting(group: Any, setting: Setting) -> None:
    """One declared setting as a flag: a switch for a yes/no setting (one that is on by default is switched
    off by its flag), else a value read by the setting's own reader."""
    flag = setting.flag or f"--{setting.name}"
    if setting.read is bool:
        group.add_argument(flag, dest=setting.key, action="store_false" if setting.default else "store_true",
                           help=setting.help)
        return
    reader = None if setting.read is str else _checked(setting.read)
    group.add_argument(flag, dest=setting.key, type=reader, default=setting.default, metavar=setting.metavar,
                       choices=list(setting.choices) if setting.choices else None, help=setting.help)


def _add_eval_dask(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dask", dest="eval_dask", metavar="ADDRESS",
                        help="run the evaluations on this Dask scheduler's workers (tcp://HOST:PORT)")


def _add_run_outputs(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", help="run directory (default: runs/<timestamp>-<problem>)")
    parser.add_argument("--resume", metavar="RUN_DIR", help="continue the interrupted run in RUN_DIR")
    parser.add_argument("--plot", metavar="FILE.png", type=_figure_file,
                        help="write a figure: convergence, and tours for TSP")
    parser.add_argument("--html", action="store_true",
                        help="also write RUN_DIR/report.html, a self-contained transcript of the run")


def _add_bench_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("experiment")
    group.add_argument("--seeds", type=_positive, default=3, help="number of seeds (default: 3)")
    group.add_argument("--methods", nargs="+", help="methods to run (default: opro and every default method)")
    group.add_argument("--paper-grid", action="store_true",
                       help="the task variants of the paper's table (linear regression: its seven (w, b) pairs; "
                            "tsp: 10, 15, 20 and 50 cities) and a table in the paper's shape")
    group.add_argument("--vary", action="append", default=[], metavar="KEY=V1,V2",
                       help="sweep an OPRO setting (temperature, proposals at the same evaluation budget, order, "
                            "top-k) or a problem option (e.g. exemplars, cities); several are crossed")
    group.add_argument("--models", metavar="M1,M2",
                       help="optimizer models to compare, each a row: local, local@FILE.gguf or NAME@URL "
                            "(an OpenAI-compatible server); replaces --model")
    group.add_argument("--workers", type=_positive, default=2, help="local worker processes (default: 2)")
    group.add_argument("--dask", metavar="ADDRESS", help="run the jobs on this Dask scheduler instead")
    group.add_argument("--html", metavar="FILE.html", type=_new_file,
                       help="also write the statistics and figures as one HTML page")
    group.add_argument("--plot", metavar="FILE.png", type=_figure_file,
                       help="write the median/IQR best-so-far bands and the fixed-target ECDF per method")


def _add_methods(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--methods", nargs="+", metavar="METHOD",
                        help="compared methods to run (default: every default method of the problem's space "
                             "and its references)")


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser, with one sub-command per registered problem."""
    parser = _Parser(prog="llmopt", description="Large language models as optimizers (OPRO).")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    commands.add_parser("problems", help="list registered problems")
    report = commands.add_parser("report", help="print a finished run's table and write a PNG summary, or HTML")
    report.add_argument("run_dir", metavar="RUN_DIR", nargs="?", help="a run directory written by `llmopt run`, or "
                                                                      "with --html a folder of them")
    report.add_argument("--optuna-storage", metavar="URL",
                        help="instead, an Optuna storage (e.g. sqlite:///study.db) whose study llmopt's samplers "
                             "took part in: writes STUDY.html, its transcript")
    report.add_argument("--study", metavar="NAME", help="the study's name in --optuna-storage")
    report.add_argument("--out", type=_figure_file, help="PNG file (default: RUN_DIR/report.png)")
    report.add_argument("--html", action="store_true",
                        help="write RUN_DIR/report.html (a run, finished or not) or FOLDER/index.html (every run)")
    for command, help_text, adders in (
            ("run", "run OPRO on a problem and compare it with every method at the same budget",
             (_add_seed, _add_json, _add_opro_options, _add_eval_dask, _add_run_outputs, _add_methods)),
            ("baselines", "run the compared methods alone, at the budget an OPRO run would have",
             (_add_seed, _add_json, _add_opro_options, _add_eval_dask, _add_methods)),
            ("bench", "OPRO and the compared methods over several seeds at the same evaluation budget",
             (_add_json, _add_opro_options, _add_bench_options))):
        sub = commands.add_parser(command, help=help_text)
        per_problem = sub.add_subparsers(dest="problem", required=True, metavar="PROBLEM",
                                         parser_class=_Parser)
        for name, cls in registry().items():
            problem_parser = per_problem.add_parser(name, help=cls.summary)
            for option in cls.options:
                option.add_to(problem_parser)
            for add in adders:
                add(problem_parser)
    return parser


def _make_problem(args: argparse.Namespace) -> Problem:
    return build_problem(args.problem, _problem_options(args))


def _problem_options(args: argparse.Namespace) -> dict[str, Any]:
    return {option.dest: getattr(args, option.dest) for option in get_problem(args.problem).options}


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


def _output(problem: Problem, results: list[Result], as_json: bool, extra: dict[str, Any],
            notes: list[str] = ()) -> dict[str, Any]:
    """Print the comparison (table or JSON) with what it says about the model; returns the JSON payload."""
    columns = [problem.extra_columns(r) for r in results]
    failed = health.failed_models((r.method, r.counts, r.extra.get("last_request_error")) for r in results)
    warnings_, broken = health.failed_evaluations(results)
    cut = health.cut_off_warning(r.counts for r in results if r.kind != "reference")
    payload = {"problem": problem.name, "optimum": problem.optimum(),
               "results": [{**r.summary(), **more} for r, more in zip(results, columns)], **extra,
               **({"adaptations": list(notes)} if notes else {}), **({"model_failed": failed} if failed else {}),
               **({"evaluations_failed": broken} if broken else {}),
               **({"warning": cut} if cut else {})}
    if as_json:
        print(strict_json(payload))
    else:
        for line in [*failed, *([broken] if broken else [])]:
            print(f"NOT A COMPARISON: {line}")
        print(comparison_table(results, problem.optimum(), columns))
        for key, value in extra.items():
            print(f"{key}: {value}")
        for note in notes:
            print(f"note: {note}")
    for result in results:
        if result.stop_reason.startswith(CRASHED):
            print(f"warning: {result.method} {result.stop_reason}; recorded as it stood, the others went on",
                  file=sys.stderr)
    for line in warnings_:
        print(line, file=sys.stderr)
    beaten = _beaten(problem, results)
    if beaten:
        print(beaten, file=sys.stderr)
    if cut:
        print(cut, file=sys.stderr)
    return payload


def _beaten(problem: Problem, results: list[Result]) -> str | None:
    """A warning when a method beat the optimum the problem was given: the given value is wrong."""
    from llmopt.direction import better

    optimum = problem.optimum()
    found = [r for r in results if optimum is not None and r.best_value is not None
             and better(problem.direction, r.best_value, optimum) and abs(r.best_value - optimum) > 1e-9 * max(1, abs(optimum))]
    if not found:
        return None
    best = found[0]
    return (f"warning: {best.method} found {best.best_value:g}, better than the optimum {optimum:g}; the gaps "
            "are measured against a wrong value: check --optimum")


def cmd_problems(args: argparse.Namespace) -> int:
    """Print the registered problems with one-line summaries."""
    problems = registry()
    width = max(len(name) for name in problems)
    for name, cls in problems.items():
        print(f"{name.ljust(width)}  {cls.summary}")
    return 0


def _opro_config(args: argparse.Namespace) -> OPROConfig:
    """The run's settings from the flags of every declared setting, the seed and the Dask scheduler."""
    from llmopt.comparators import declared_settings

    if args.max_cost is not None and args.price is None:
        raise UsageError("--max-cost needs --price IN,OUT (dollars per million prompt and completion tokens)")
    data: dict[str, Any] = {"seed": getattr(args, "seed", 0), "dask": getattr(args, "eval_dask", None)}
    for setting in declared_settings():
        data = setting.put(data, getattr(args, setting.key))
    return OPROConfig.from_dict(data)


def _check_evaluations(config: OPROConfig) -> None:
    """A Dask scheduler that cannot be reached is the user's to mend, before any work starts."""
    if config.dask is not None:
        dask_client(config.dask)


def _recorder(args: argparse.Namespace, config: dict[str, Any], settings: OPROConfig,
              journaled: str | None) -> RunRecorder:
    from pathlib import Path

    if not args.resume:
        directory = Path(default_run_dir(config["problem"]) if args.out is None else args.out)
        if (directory / "config.json").exists() or (directory / "steps.jsonl").exists():
            raise UsageError(f"--out {directory} already holds a run; name a new folder, or continue that run "
                             f"with --resume {directory}")
        try:
            return RunRecorder(directory, config)
        except OSError as error:
            raise UsageError(f"--out {directory}: cannot write there ({error.strerror or error})") from None
    if not (Path(args.resume) / "config.json").is_file():
        raise UsageError(f"{args.resume} is not a run directory (no config.json); check --resume")
    saved, current = read_config(args.resume), json.loads(json.dumps(config))  # compare as stored
    if isinstance(saved.get("backend"), dict) and isinstance(current["backend"], dict):
        added = {"reasoning_effort": None, "reasoning_tokens": DEFAULT_REASONING_TOKENS}
        saved["backend"] = {**{k: v for k, v in added.items() if k in current["backend"]}, **saved["backend"]}
    for key in ("problem", "problem_config", "backend"):
        if saved.get(key) != current[key]:
            raise UsageError(f"--resume {args.resume}: the run was made with a different {key.replace('_', ' ')}; "
                             "repeat its original options")
    from llmopt.comparators import declared_settings

    changed = settings.changes_on_resume(OPROConfig.from_dict(with_defaults(saved.get(SETTINGS, {}),
                                                                             declared_settings())))
    if changed:
        raise UsageError(f"--resume {args.resume}: the run was made with different settings ({', '.join(changed)}); "
                         "repeat its original options (only steps and budgets may change)")
    if saved.get("journaled", NAME) != journaled:  # a record without the key journaled OPRO, the only one then
        raise UsageError(f"--resume {args.resume}: the run journaled {saved.get('journaled', NAME)}; give --methods "
                         "with that method first among those that sample the model")
    return RunRecorder(args.resume, config, resume=True)


def cmd_run(args: argparse.Namespace) -> int:
    """The problem's methods (OPRO and the defaults unless --methods names them) at one evaluation budget,
    the first model-driven one journaled in the run directory."""
    problem = _make_problem(args)
    methods = resolve(problem, args.methods)
    backend = make_backend(**_model_settings(args)) if any(m.samples_model for m in methods) else None
    config = _opro_config(args)
    _check_evaluations(config)
    journaled = journaled_method(methods)
    options = {option.dest: getattr(args, option.dest) for option in type(problem).options}
    recorder = _recorder(args, {"problem": problem.name, "problem_config": problem.config(),
                                "problem_options": options, "direction": problem.direction,
                                SETTINGS: config.to_dict(), "journaled": journaled and journaled.name,
                                "backend": backend.describe() if backend else None}, config,
                         journaled and journaled.name)
    update, close = _progress(journaled.name if journaled else "run", config.steps, args.json)
    saved = f"the run is saved: once that is mended, continue with --resume {recorder.directory}"
    store = _result_store(args)
    try:
        results = compare(problem, config, [m.name for m in methods], backend, store=store, recorder=recorder,
                          resume=bool(args.resume), on_step=update)
    except ENDS_THE_RUN as error:  # the compared methods are not started against a server that is gone
        raise UsageError(f"{error}; {saved}") from None
    except KeyboardInterrupt:  # no comparison is printed or saved: the journal holds what was done
        print(f"llmopt: interrupted; continue with --resume {recorder.directory}", file=sys.stderr)
        return EXIT_INTERRUPTED
    finally:
        close()
    notes = health.adaptations(backend)
    if notes:
        recorder.amend_config({"adaptations": notes})
    extra: dict[str, Any] = {"budget": config.evaluation_budget(), "run_dir": str(recorder.directory)}
    payload = _output(problem, results, args.json, extra, notes)
    recorder.write_results({**payload, "full_results": [r.to_dict() for r in results]})
    lead = journaled.name if journaled else None  # the figure draws the journaled method against the rest
    _figures(args, problem, sorted(results, key=lambda r: r.method != lead), recorder.directory)
    _report_cache(backend, store, args.json)
    return _exit_code(payload)


def _exit_code(payload: dict[str, Any]) -> int:
    """3 when the run is no comparison (its model mostly failed, or every evaluation did), else 0."""
    return health.EXIT_MODEL_FAILED if payload.get("model_failed") or payload.get("evaluations_failed") else 0


def _figures(args: argparse.Namespace, problem: Problem, results: list[Result], run_dir: Any) -> None:
    """The figure and the HTML report, after the results are on disk."""
    if args.plot:
        from llmopt.plots import plot_run

        _write("plot", lambda: plot_run(problem, results, args.plot))
    if args.html:
        from llmopt.report import write_run_report

        _write("report", lambda: write_run_report(run_dir, problem))


def _write(what: str, write: Callable[[], Any]) -> None:
    """Write a figure or report; one that fails is a warning, never the loss of what was computed."""
    try:
        print(f"{what}: {write()}", file=sys.stderr)
    except Exception as error:
        print(f"warning: the {what} was not written ({type(error).__name__}: {error}); the results are saved",
              file=sys.stderr)


def _cache_setting(args: argparse.Namespace) -> str | None:
    return None if args.no_cache else (args.cache or "default")


def _result_store(args: argparse.Namespace) -> Any:
    from llmopt.comparators import ResultStore

    return None if args.no_cache else ResultStore(args.cache)


def _report_cache(backend: Any, store: Any, quiet: bool) -> None:
    if quiet or store is None:
        return
    hits, misses = getattr(backend, "hits", 0), getattr(backend, "misses", 0)
    print(f"cache: {hits} replayed, {misses} sent to the model ({store.path}); compared methods: "
          f"{store.hits} replayed, {store.misses} computed", file=sys.stderr)


def cmd_baselines(args: argparse.Namespace) -> int:
    """The compared methods alone, at the evaluation budget an OPRO run with these options would have."""
    problem = _make_problem(args)
    names = args.methods if args.methods is not None else compared_methods(problem)
    methods = resolve(problem, names)
    backend = make_backend(**_model_settings(args)) if any(m.samples_model for m in methods) else None
    config = _opro_config(args)
    _check_evaluations(config)
    store = _result_store(args)
    payload = _output(problem, compare(problem, config, names, backend, store=store), args.json,
                      {"budget": config.evaluation_budget()}, health.adaptations(backend))
    _report_cache(backend, store, args.json)
    return _exit_code(payload)


def _model_settings(args: argparse.Namespace) -> dict[str, Any]:
    return {"model": args.model, "base_url": args.base_url, "model_path": args.model_path,
            "server_grammar": args.server_grammar, "reasoning_effort": args.reasoning_effort,
            "reasoning_tokens": args.reasoning_tokens, "max_retries": args.max_retries,
            "cache": _cache_setting(args)}


def _executor(args: argparse.Namespace) -> Any:
    if args.dask:
        try:
            from distributed import Client
        except ImportError:
            raise UsageError("--dask needs the distributed package: pip install 'dask[distributed]'") from None
        try:
            client = Client(args.dask, timeout=10)
        except OSError:
            raise UsageError(f"cannot reach the Dask scheduler at {args.dask}; start it or fix --dask") from None
        return client.get_executor()
    from llmopt.bench import worker_pool

    return worker_pool(args.workers)


def cmd_bench(args: argparse.Namespace) -> int:
    """OPRO and the compared methods over K seeds and the sweeps; statistics per method and variant."""
    from llmopt.bench import execute, worker_pool

    problem = _make_problem(args)
    jobs = _bench_jobs(args, problem)
    sampling = [job for job in jobs if job.samples_model]
    print(f"bench: {len(jobs)} jobs, {len(sampling)} of them sampling the model: at most "
          f"{sum(job.most_answers() for job in sampling)} model answers (steps x proposals each; repairs, a "
          "reasoning model's first re-ask and a scorer's calls come on top)", file=sys.stderr)
    executor = _executor(args)
    local_model = None if args.dask else worker_pool(1)  # the embedded model's jobs: one process, every core
    update, close = _bench_progress(len(jobs), args.json)
    try:  # with Dask, every job goes to the cluster; else jobs that wait on a server are threads here
        rows = execute(jobs, executor, server_threads=0 if args.dask else args.max_concurrency,
                       local_model=local_model, progress=update)
    finally:
        close()
        executor.shutdown()  # after a failure, `execute` has cancelled the jobs not yet started
        if local_model is not None:
            local_model.shutdown()
    return _bench_output(args, problem, rows)


def _bench_jobs(args: argparse.Namespace, problem: Problem) -> list[Any]:
    """The bench's jobs, every option checked (and every model reached) before one runs."""
    from llmopt.bench import make_jobs
    from llmopt.sweep import model_settings, parse_models, parse_vary

    cls = type(problem)
    if args.paper_grid and not cls.paper_grid:
        with_grid = [name for name, c in registry().items() if c.paper_grid]
        raise UsageError(f"--paper-grid: {problem.name} has no paper grid; {', '.join(with_grid)} have one")
    axes = [parse_vary(text, cls.options) for text in args.vary]
    models = parse_models(args.models) if args.models is not None else None
    if len({axis.key for axis in axes}) != len(axes):
        raise UsageError("--vary: each setting may be swept once")
    base = _model_settings(args)
    if models and (args.model != "local" or args.base_url or args.model_path):
        raise UsageError("--models replaces --model, --base-url and --model-path; give the models in --models")
    for spec in models.values if models else [None]:  # fail fast on a bad model before the workers start
        make_backend(**(base | model_settings(spec) if spec else base))
    settings = {k: v for k, v in _opro_config(args).to_dict().items() if k != "seed"}
    return make_jobs(problem.name, _problem_options(args), args.methods, args.seeds, settings,
                     {**base, "check": False}, args.target, grid=cls.paper_grid if args.paper_grid else None,
                     axes=[*axes, *([models] if models else [])], max_concurrency=args.max_concurrency)


def _bench_output(args: argparse.Namespace, problem: Problem, rows: list[dict[str, Any]]) -> int:
    """The bench's table (or JSON), notes, figure and report; the exit status says whether the model failed."""
    from llmopt.bench import model_notes, paper_table, summarize, summary_table

    notes = model_notes(rows)
    table = summary_table(rows)
    one_task = len({row["label"] for row in rows}) == 1
    optimum = problem.optimum() if one_task else None  # with several tasks, each row carries its own
    if args.json:
        print(strict_json({"problem": problem.name, "optimum": optimum, "budget": rows[0]["budget"],
                           "summary": summarize(rows), "runs": rows, **notes}))
    else:
        for line in notes.get("model_failed", []):
            print(f"NOT A COMPARISON: {line}")
        print(table)
        if args.paper_grid:
            print(f"\nIn the shape of the paper's table:\n{paper_table(rows)}")
        for note in notes.get("adaptations", []):
            print(f"note: {note}")
    if "warning" in notes:
        print(notes["warning"], file=sys.stderr)
    if args.plot:
        from llmopt.plots import bench_figure

        _write("plot", lambda: bench_figure(rows, args.plot))
    if args.html:
        from llmopt.report import write_bench_report

        _write("report", lambda: write_bench_report(args.html, problem.name, table, rows, optimum))
    return health.EXIT_MODEL_FAILED if notes.get("model_failed") else 0


def _bench_progress(total: int, quiet: bool) -> tuple[Callable[[list[dict[str, Any]]], None], Callable[[], None]]:
    """One bar over the bench's jobs, with the requests in flight and the model calls and tokens so far."""
    from tqdm import tqdm

    from llmopt.backends.limit import REQUESTS

    bar = tqdm(total=total, desc="bench", unit="job", file=sys.stderr, disable=quiet, leave=False)

    def update(rows: list[dict[str, Any]]) -> None:
        calls = sum(row["counts"]["llm_calls"] for row in rows)
        tokens = sum(row["counts"]["prompt_tokens"] + row["counts"]["completion_tokens"] for row in rows)
        bar.set_postfix(in_flight=REQUESTS.in_flight, calls=calls, tokens=tokens, refresh=False)
        bar.update(len(rows) - bar.n)

    return update, bar.close


def cmd_report(args: argparse.Namespace) -> int:
    """Print a finished run's comparison table and write its PNG summary."""
    from pathlib import Path

    from llmopt.plots import report_figure
    from llmopt.records import read_results

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
    except (ValueError, KeyError, TypeError) as error:
        raise UsageError(f"{run_dir}/results.json is not a run record: {error}") from None
    summary_keys = set(results[0].summary())  # what is left in a row are the problem's own columns
    columns = [{k: v for k, v in row.items() if k not in summary_keys} for row in payload["results"]]
    table = comparison_table(results, payload.get("optimum"), columns)
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
    """The run's problem from its recorded options, for drawings; None when it cannot be rebuilt here."""
    try:
        cls = get_problem(config["problem"])
        return cls.from_options(**config["problem_options"]) if cls.drawable else None
    except Exception:  # an old record, a missing file or plugin: the report goes on without drawings
        return None


@contextmanager
def _process_settings(args: argparse.Namespace) -> Iterator[None]:
    """The command's request limit and response cache (for backends a problem makes, such as a scorer),
    the previous ones put back after."""
    from llmopt.backends import response_cache
    from llmopt.backends.limit import request_limit

    cache = _cache_setting(args) if hasattr(args, "no_cache") else None
    with request_limit(getattr(args, "max_concurrency", None)), response_cache(cache), \
            _environment(THREADS_ENV, getattr(args, "threads", None)):
        yield


@contextmanager
def _environment(name: str, value: Any) -> Iterator[None]:
    """`name` set to `value` inside the block (and in the processes it starts), as it was after; None
    leaves it alone."""
    import os

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
    "problems": cmd_problems, "run": cmd_run, "baselines": cmd_baselines, "bench": cmd_bench, "report": cmd_report}


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `llmopt` console script; returns the exit code."""
    try:
        args = build_parser().parse_args(argv)
        with _process_settings(args):
            return COMMANDS[args.command](args)
    except UsageError as error:
        print(f"llmopt: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("llmopt: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # the reader went away (`| head`): what it wanted was written
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # so the exit's flush stays quiet
        return 0


if __name__ == "__main__":
    sys.exit(main())
