"""`llmopt bench`: the jobs over seeds, run on worker processes or a Dask cluster, and their statistics."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any

from llmopt.backends import make_backend
from llmopt.bench import health
from llmopt.cli.options import backend_settings, make_problem, opro_config, print_json, problem_options, write
from llmopt.contract.problem import Problem
from llmopt.contract.registry import registry
from llmopt.core.errors import UsageError
from llmopt.report.tables import strict_json


def _executor(args: argparse.Namespace) -> Any:
    if args.dask:
        try:
            from distributed import Client
        except ImportError:
            raise UsageError("--dask needs the distributed package: pip install 'dask[distributed]'") from None
        try:
            client = Client(args.dask, timeout="3s")  # as the evaluator's: an unreachable scheduler is news soon
        except OSError:
            raise UsageError(f"cannot reach the Dask scheduler at {args.dask}; start it or fix --dask") from None
        return client.get_executor()
    from llmopt.bench import worker_pool

    return worker_pool(args.workers)


def cmd_bench(args: argparse.Namespace) -> int:
    """OPRO and the compared methods over K seeds and the sweeps; statistics per method and variant."""
    from llmopt.bench import execute, worker_pool

    problem = make_problem(args)
    jobs = _bench_jobs(args, problem)
    sampling = [job for job in jobs if job.samples_model]
    print(
        f"bench: {len(jobs)} jobs, {len(sampling)} of them sampling the model: at most "
        f"{sum(job.most_answers() for job in sampling)} model answers (steps x proposals each; repairs, a "
        "reasoning model's first re-ask and a scorer's calls come on top)",
        file=sys.stderr,
    )
    executor = _executor(args)
    local_model = None if args.dask else worker_pool(1)  # the embedded model's jobs: one process, every core
    update, close = _bench_progress(len(jobs), args.json)
    try:  # with Dask, every job goes to the cluster; else jobs that wait on a server are threads here
        rows = execute(
            jobs,
            executor,
            server_threads=0 if args.dask else args.max_concurrency,
            local_model=local_model,
            progress=update,
        )
    finally:
        close()
        executor.shutdown()  # after a failure, `execute` has cancelled the jobs not yet started
        if local_model is not None:
            local_model.shutdown()
    return _bench_output(args, problem, rows)


def _bench_jobs(args: argparse.Namespace, problem: Problem) -> list[Any]:
    """The bench's jobs, every option checked (and every model reached) before one runs."""
    from llmopt.bench import make_jobs
    from llmopt.bench.sweep import model_settings, parse_models, parse_vary

    cls = type(problem)
    if args.paper_grid and not cls.paper_grid:
        with_grid = [name for name, c in registry().items() if c.paper_grid]
        raise UsageError(f"--paper-grid: {problem.name} has no paper grid; {', '.join(with_grid)} have one")
    axes = [parse_vary(text, cls.options) for text in args.vary]
    models = parse_models(args.models) if args.models is not None else None
    if len({axis.key for axis in axes}) != len(axes):
        raise UsageError("--vary: each setting may be swept once")
    base = backend_settings(args)
    if models and (args.model != "local" or args.base_url or args.model_path):
        raise UsageError("--models replaces --model, --base-url and --model-path; give the models in --models")
    for spec in models.values if models else [None]:  # fail fast on a bad model before the workers start
        make_backend(**(base | model_settings(spec) if spec else base))
    settings = {k: v for k, v in opro_config(args).to_dict().items() if k != "seed"}
    return make_jobs(
        problem.name,
        problem_options(args),
        args.methods,
        args.seeds,
        settings,
        {**base, "check": False},
        args.target,
        grid=cls.paper_grid if args.paper_grid else None,
        axes=[*axes, *([models] if models else [])],
        max_concurrency=args.max_concurrency,
    )


def _bench_output(args: argparse.Namespace, problem: Problem, rows: list[dict[str, Any]]) -> int:
    """The bench's table (or JSON), notes, figure and report; the exit status says whether the model failed."""
    from llmopt.bench import model_notes, paper_table, summarize, summary_table

    notes = model_notes(rows)
    table = summary_table(rows)
    one_task = len({row["label"] for row in rows}) == 1
    optimum = problem.optimum() if one_task else None  # with several tasks, each row carries its own
    if args.json:
        print_json(
            strict_json(
                {
                    "problem": problem.name,
                    "optimum": optimum,
                    "budget": rows[0]["budget"],
                    "summary": summarize(rows),
                    "runs": rows,
                    **notes,
                }
            )
        )
    else:
        for line in [
            *notes.get("model_failed", []),
            *([notes["evaluations_failed"]] if "evaluations_failed" in notes else []),
        ]:
            print(f"NOT A COMPARISON: {line}")
        print(table)
        if args.paper_grid:
            print(f"\nIn the shape of the paper's table:\n{paper_table(rows)}")
        for note in notes.get("adaptations", []):
            print(f"note: {note}")
    if "warning" in notes:
        print(notes["warning"], file=sys.stderr)
    if args.plot:
        from llmopt.report.plots import bench_figure

        write("plot", lambda: bench_figure(rows, args.plot))
    if args.html:
        from llmopt.report import write_bench_report

        write("report", lambda: write_bench_report(args.html, problem.name, table, rows, optimum))
    return health.EXIT_MODEL_FAILED if notes.get("model_failed") or notes.get("evaluations_failed") else 0


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
