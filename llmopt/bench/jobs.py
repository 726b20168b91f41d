"""A bench's jobs: each (problem variant, seed, method variant) is one independent job at the same evaluation
budget, so any `concurrent.futures`-style executor runs them: local processes by default, or a Dask
cluster's executor."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import FIRST_COMPLETED, Executor, Future, wait
from dataclasses import dataclass, field
from typing import Any

from llmopt.backends.limit import DEFAULT_MAX_CONCURRENCY, request_limit
from llmopt.bench import health
from llmopt.bench.statistics import best_by_median, summarize
from llmopt.bench.sweep import Axis, apply_options, apply_settings, crossings, model_labels, model_settings, suffix
from llmopt.contract.registry import build_problem
from llmopt.core.direction import reached
from llmopt.core.errors import UsageError


@dataclass(frozen=True)
class Job:
    """One run: a problem with its options, a method (by name; `settings` are the model-driven methods') and a seed.

    `name` is the method's row: the method and, when a sweep changed its settings, the `variant`.
    """

    problem: str
    options: dict[str, Any]
    method: str
    seed: int
    label: str
    settings: dict[str, Any] = field(default_factory=dict)
    model: dict[str, Any] = field(default_factory=dict)
    target: float | None = None
    max_concurrency: int = DEFAULT_MAX_CONCURRENCY
    name: str = ""
    variant: dict[str, Any] = field(default_factory=dict)
    samples_model: bool = False

    @property
    def waits_on_a_server(self) -> bool:
        """Whether the job spends its time waiting for a model server (a thread's work, not a process's)."""
        return self.samples_model and self.model.get("model", "local") != "local"

    def most_answers(self) -> int:
        """The most answers this job may draw from the model (0 for a method that samples none)."""
        if not self.samples_model:
            return 0
        answers = self.settings.get("steps", 10) * self.settings.get("proposals", 8)
        return min(answers, self.settings.get("max_llm_calls") or answers)


def run_job(job: Job) -> dict[str, Any]:
    """Run one job and return its raw numbers (plain data, so it travels between processes)."""
    from llmopt.backends import make_backend
    from llmopt.core.stops import raise_if_unreachable
    from llmopt.engine.config import RunConfig
    from llmopt.methods import resolve, setup_for

    problem = build_problem(job.problem, job.options)
    target = job.target if job.target is not None else problem.optimum()
    config = dataclasses.replace(RunConfig.from_dict(job.settings), seed=job.seed, target=target)
    method = resolve(problem, [job.method])[0]
    setup = setup_for(problem, config, make_backend(**job.model) if method.samples_model else None)
    result = raise_if_unreachable(method.run(problem, setup))  # a server gone stops the bench, as a run
    return _row(job, problem, setup, result, target, method.under_study)


def _row(job: Job, problem: Any, setup: Any, result: Any, target: float | None, under_study: bool) -> dict[str, Any]:
    hit = result.first_reaching(target) if target is not None else None
    return {
        "problem": job.problem,
        "label": job.label,
        "method": job.name or job.method,
        "base_method": job.method,
        "under_study": under_study,
        "variant": job.variant,
        "kind": result.kind,
        "direction": problem.goal,
        # several objectives: best_value is the hypervolume against this point, the same for every method and seed
        "directions": None if result.directions is None else list(result.directions),
        "reference": None if result.reference is None else list(result.reference),
        "optimum": problem.optimum(),
        "seed": job.seed,
        "stop_reason": result.stop_reason,
        "status": int(result.status),
        "best_value": result.best_value,
        "n_evals": result.counts.evals,
        "budget": setup.max_evals,
        "n_llm_calls": result.counts.llm_calls,
        "seconds": round(result.seconds, 4),
        "target": target,
        "reached": target is not None and reached(result.best_value, target, problem.goal),
        "evals_to_target": hit.eval_index if hit else None,
        "steps_to_target": hit.step if hit else None,
        "best_so_far": [None if math.isnan(v) else v for v in result.best_so_far().tolist()],  # None: none feasible
        "rounds": result.counts.rounds,
        "best_by_round": best_by_round(result),
        "counts": dataclasses.asdict(result.counts),
        "last_request_error": result.extra.get("last_request_error"),
        "adaptations": health.adaptations(setup.backend),
        "cost_usd": result.summary()["cost_usd"],
    }


def best_by_round(result: Any) -> list[float | None]:
    """The best value after each round of evaluations (index r - 1 for round r), carried over a round that
    evaluated nothing (None before the first feasible evaluation)."""
    by_round = {
        trial.round: float(best)
        for trial, best in zip(result.evaluated(), result.best_so_far())
        if trial.round is not None and not math.isnan(best)  # NaN: no feasible solution yet
    }
    curve: list[float | None] = []
    for number in range(1, max(by_round, default=0) + 1):
        curve.append(by_round.get(number, curve[-1] if curve else None))
    return curve


def make_jobs(
    problem: str,
    options: dict[str, Any],
    methods: Iterable[str] | None,
    seeds: int,
    settings: dict[str, Any],
    model: dict[str, Any],
    target: float | None = None,
    *,
    grid: dict[str, dict[str, Any]] | None = None,
    axes: Sequence[Axis] = (),
    first_seed: int = 0,
    max_concurrency: int = DEFAULT_MAX_CONCURRENCY,
) -> list[Job]:
    """Every (task, seed, method variant) job; a usage error, before anything runs, for a task that cannot
    be built or a method it does not have.

    Tasks are the `grid` entries (label -> options) crossed with the sweeps of problem options; the
    methods (None: OPRO and each task's defaults) that sample the model run once per crossing of the
    model sweep and the OPRO sweeps of settings they read, the others once.
    """
    _refuse_conflicts(target, grid, axes)
    labels = model_labels(next((a for a in axes if a.changes == "model"), Axis("model", "model", ())))
    jobs, labels_in_order, fingerprints = [], [], set()
    for label, opts in (grid or {problem: {}}).items():
        for task in crossings(axes, {"problem"}):
            task_options = apply_options({**options, **opts}, task, axes)
            built = build_problem(problem, task_options)
            fingerprints.add(built.fingerprint())
            labels_in_order.append(label + suffix(task))
            for name, reads in _methods(built, methods, label + suffix(task)).items():
                variants = crossings(axes, {"method", "model"}, reads | {"model"}) if reads is not None else [{}]
                jobs += _variants(
                    Job(problem, task_options, name, 0, label + suffix(task), settings, model, target, max_concurrency),
                    variants,
                    labels,
                    range(first_seed, first_seed + seeds),
                    samples_model=reads is not None,
                )
    if grid and len(fingerprints) < len(labels_in_order):
        raise UsageError(
            "--paper-grid: its tasks came out the same; an option given (such as --instance) "
            "overrides what the grid varies"
        )
    return sorted(jobs, key=lambda j: (labels_in_order.index(j.label), j.seed))


def _variants(
    base: Job, variants: list[dict[str, Any]], labels: dict[str, str], seeds: range, *, samples_model: bool
) -> list[Job]:
    """`base` once per seed and variant: the variant's settings and model applied, its name suffixed."""
    return [
        dataclasses.replace(
            base,
            seed=seed,
            settings=apply_settings(base.settings, variant),
            model={**base.model, **_model(variant)},
            name=base.method + suffix(variant, labels),
            variant=variant,
            samples_model=samples_model,
        )
        for seed in seeds
        for variant in variants
    ]


def _refuse_conflicts(target: float | None, grid: dict[str, dict[str, Any]] | None, axes: Sequence[Axis]) -> None:
    varied = [axis for axis in axes if axis.changes == "problem"]
    if target is not None and (grid or varied):
        raise UsageError(
            "--target is one value for every task; with --paper-grid or a sweep of the problem's "
            "options, each task's target is its own optimum"
        )
    overlap = {axis.key for axis in varied if any(axis.dest in opts for opts in (grid or {}).values())}
    if overlap:
        raise UsageError(f"--vary {', '.join(sorted(overlap))}: --paper-grid already sets it")


def _methods(problem: Any, names: Iterable[str] | None, label: str) -> dict[str, frozenset[str] | None]:
    """Each method to run on `problem`, with the settings it reads (None: it samples no model)."""
    from llmopt.methods import resolve

    chosen = resolve(problem, list(names) if names is not None else None, label)
    return {method.name: method.reads if method.samples_model else None for method in chosen}


def _model(variant: dict[str, Any]) -> dict[str, Any]:
    return model_settings(variant["model"]) if "model" in variant else {}


def worker_setup(threads: int) -> None:
    """Start a bench worker process with its share of the cores for llama.cpp, unless the user set the
    threads (`--threads`, or `LLMOPT_THREADS` in the environment the workers inherit)."""
    import os

    from llmopt.backends.local import THREADS_ENV

    os.environ.setdefault(THREADS_ENV, str(threads))


def worker_pool(workers: int) -> Executor:
    """Worker processes for the jobs that need the CPU, which together run no more llama.cpp threads than
    the machine's load leaves cores free."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    from llmopt.backends.local import free_cores

    threads = max(1, free_cores() // workers)  # a busy machine's cores are not ours to spin on
    # forkserver: a worker started while this process's threads are busy inherits none of their locks
    return ProcessPoolExecutor(
        max_workers=workers,
        mp_context=multiprocessing.get_context("forkserver"),
        initializer=worker_setup,
        initargs=(threads,),
    )


def run_job_in_worker(job: Job) -> dict[str, Any]:
    """`run_job` in a worker process (or on a Dask worker), under the job's request limit for that process."""
    with request_limit(job.max_concurrency):
        return run_job(job)


Progress = Callable[[list[dict[str, Any]]], None]


def execute(
    jobs: list[Job],
    executor: Executor | None = None,
    *,
    server_threads: int = 0,
    local_model: Executor | None = None,
    progress: Progress | None = None,
) -> list[dict[str, Any]]:
    """Every job's row, in job order.

    With `server_threads` > 0, the jobs that wait on a model server run as that many threads of this
    process (their requests share its request limit). With `local_model`, the jobs that sample the
    embedded model run there first (one process with every core measured fastest for them), and the
    others on `executor` after them, so the two never share the cores. Without an executor, the rest
    run here in turn (the process's request limit is put back afterwards). A failed job cancels those
    not yet started. `progress` is called with the rows done so far, on each one and twice a second.
    """
    from concurrent.futures import ThreadPoolExecutor

    threaded = {id(job) for job in jobs if server_threads and job.waits_on_a_server}
    first = {id(job) for job in jobs if local_model is not None and job.samples_model and id(job) not in threaded}
    rest = [job for job in jobs if id(job) not in threaded | first]
    if executor is None and not threaded and not first:
        return _in_turn(jobs, progress)
    pool = ThreadPoolExecutor(max_workers=min(server_threads, len(threaded)) or 1, thread_name_prefix="job")
    try:
        futures = {id(job): pool.submit(run_job, job) for job in jobs if id(job) in threaded}
        done: dict[Future, dict[str, Any]] = {}
        if first and local_model is not None:  # (first is empty without a local model)
            futures |= {id(job): local_model.submit(run_job_in_worker, job) for job in jobs if id(job) in first}
            done = _collect([futures[key] for key in first], progress)
        if executor is not None:
            futures |= {id(job): executor.submit(run_job_in_worker, job) for job in rest}
        rows = [] if executor is not None else _in_turn(rest, None)  # here, while the threads wait
        done |= _collect([f for f in futures.values() if f not in done], progress, done)
        return _in_order(jobs, futures, done, rows)
    finally:
        pool.shutdown(wait=False, cancel_futures=True)


def _in_turn(jobs: list[Job], progress: Progress | None) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for job in jobs:
        rows.append(run_job(job))
        if progress is not None:
            progress(rows)
    return rows


def _collect(
    futures: list[Future], progress: Progress | None, before: dict[Future, dict[str, Any]] | None = None
) -> dict[Future, dict[str, Any]]:
    """Wait for every future (cancelling the rest at the first failure); their rows by future (and `before`'s,
    which progress counts too)."""
    done: dict[Future, dict[str, Any]] = dict(before or {})
    pending = set(futures)
    try:
        while pending:
            finished, pending = wait(pending, timeout=0.5, return_when=FIRST_COMPLETED)
            done |= {future: future.result() for future in finished}
            if progress is not None:
                progress(list(done.values()))
    except BaseException:
        for future in pending:
            future.cancel()
        raise
    return done


def _in_order(
    jobs: list[Job], futures: dict[int, Future], done: dict[Future, dict[str, Any]], in_turn: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    local = iter(in_turn)
    return [done[futures[id(job)]] if id(job) in futures else next(local) for job in jobs]


def ablation_study(
    problem: str,
    options: dict[str, Any],
    seeds: int,
    settings: dict[str, Any],
    model: dict[str, Any],
    target: float | None = None,
    executor: Executor | None = None,
    also: Sequence[str] = (),
) -> list[dict[str, Any]]:
    """Rows of OPRO, each ablation, the methods in `also` that the problem has (e.g. lmx, lmx-no-model) and
    the best black-box baseline over `seeds` seeds at the same budget (`options`: the problem's options,
    its defaults where not given).

    The best baseline (by median, among the default black-box methods that sample no model) is chosen
    on `seeds` other seeds, so that the choice does not favour it on the seeds it is tested on.
    """
    from llmopt.contract.registry import get_problem
    from llmopt.methods import default_methods, methods_for
    from llmopt.methods.model.ablations import VARIANTS
    from llmopt.methods.model.opro import NAME

    options = {o.dest: o.default for o in get_problem(problem).options} | options
    built = build_problem(problem, options)
    found = methods_for(built)
    black_box = [m for m in default_methods(built) if found[m].kind == "black-box"]
    trial = execute(make_jobs(problem, options, black_box, seeds, settings, model, target, first_seed=seeds), executor)
    best = best_by_median(summarize(trial))
    extra = [name for name in also if name in found and name != best]
    return execute(
        make_jobs(problem, options, [NAME, *VARIANTS, *extra, best], seeds, settings, model, target), executor
    )
