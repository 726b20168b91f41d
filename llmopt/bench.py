"""Multi-seed experiments: OPRO and every compared method over K seeds at the same evaluation budget.

Each (problem variant, seed, method variant) is one independent job, so any `concurrent.futures`-style
executor runs them: local processes by default, or a Dask cluster's executor.
"""

from __future__ import annotations

import dataclasses
import math
import statistics
from concurrent.futures import FIRST_COMPLETED, Executor, Future, wait
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Sequence

from llmopt import health
from llmopt.backends.limit import DEFAULT_MAX_CONCURRENCY, request_limit
from llmopt.errors import UsageError
from llmopt.registry import build_problem
from llmopt.direction import gap_pct, reached, to_loss, worst
from llmopt.report.tables import text_table
from llmopt.stats import bootstrap_ci, ert, holm, median, quantiles, rank_sum_p
from llmopt.sweep import Axis, apply_options, apply_opro, crossings, model_labels, model_settings, suffix


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
    from llmopt.comparators import resolve, setup_for
    from llmopt.errors import raise_if_unreachable
    from llmopt.opro import OPROConfig

    problem = build_problem(job.problem, job.options)
    target = job.target if job.target is not None else problem.optimum()
    config = dataclasses.replace(OPROConfig.from_dict(job.settings), seed=job.seed, target=target)
    method = resolve(problem, [job.method])[0]
    setup = setup_for(problem, config, make_backend(**job.model) if method.samples_model else None)
    result = raise_if_unreachable(method.run(problem, setup))  # a server gone stops the bench, as a run
    return _row(job, problem, setup, result, target, method.under_study)


def _row(job: Job, problem: Any, setup: Any, result: Any, target: float | None, under_study: bool) -> dict[str, Any]:
    hit = result.first_reaching(target) if target is not None else None
    return {"problem": job.problem, "label": job.label, "method": job.name or job.method, "base_method": job.method,
            "under_study": under_study,
            "variant": job.variant, "kind": result.kind, "direction": problem.direction, "optimum": problem.optimum(),
            "seed": job.seed, "stop_reason": result.stop_reason, "best_value": result.best_value, "n_evals": result.counts.evals,
            "budget": setup.max_evals, "n_llm_calls": result.counts.llm_calls, "seconds": round(result.seconds, 4),
            "target": target, "reached": target is not None and reached(result.best_value, target, problem.direction),
            "evals_to_target": hit.eval_index if hit else None,
            "steps_to_target": hit.step if hit else None, "best_so_far": result.best_so_far().tolist(),
            "rounds": result.counts.rounds, "best_by_round": best_by_round(result),
            "counts": dataclasses.asdict(result.counts), "last_request_error": result.extra.get("last_request_error"),
            "adaptations": health.adaptations(setup.backend), "cost_usd": result.summary()["cost_usd"]}


def best_by_round(result: Any) -> list[float | None]:
    """The best value after each round of evaluations (index r - 1 for round r), carried over a round that
    evaluated nothing (None before the first evaluation)."""
    by_round = {trial.round: float(best) for trial, best in zip(result.evaluated(), result.best_so_far())
                if trial.round is not None}
    curve: list[float | None] = []
    for number in range(1, max(by_round, default=0) + 1):
        curve.append(by_round.get(number, curve[-1] if curve else None))
    return curve


def make_jobs(problem: str, options: dict[str, Any], methods: Iterable[str] | None, seeds: int,
              settings: dict[str, Any], model: dict[str, Any], target: float | None = None, *,
              grid: dict[str, dict[str, Any]] | None = None, axes: Sequence[Axis] = (), first_seed: int = 0,
              max_concurrency: int = DEFAULT_MAX_CONCURRENCY) -> list[Job]:
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
                jobs += [Job(problem, task_options, name, seed, label + suffix(task), apply_opro(settings, variant),
                             {**model, **_model(variant)}, target, max_concurrency, name + suffix(variant, labels),
                             variant, samples_model=reads is not None)
                         for seed in range(first_seed, first_seed + seeds) for variant in variants]
    if grid and len(fingerprints) < len(labels_in_order):
        raise UsageError("--paper-grid: its tasks came out the same; an option given (such as --instance) "
                         "overrides what the grid varies")
    return sorted(jobs, key=lambda j: (labels_in_order.index(j.label), j.seed))


def _refuse_conflicts(target: float | None, grid: dict[str, dict[str, Any]] | None, axes: Sequence[Axis]) -> None:
    varied = [axis for axis in axes if axis.changes == "problem"]
    if target is not None and (grid or varied):
        raise UsageError("--target is one value for every task; with --paper-grid or a sweep of the problem's "
                         "options, each task's target is its own optimum")
    overlap = {axis.key for axis in varied if any(axis.dest in opts for opts in (grid or {}).values())}
    if overlap:
        raise UsageError(f"--vary {', '.join(sorted(overlap))}: --paper-grid already sets it")


def _methods(problem: Any, names: Iterable[str] | None, label: str) -> dict[str, frozenset[str] | None]:
    """Each method to run on `problem`, with the settings it reads (None: it samples no model)."""
    from llmopt.comparators import resolve

    chosen = resolve(problem, list(names) if names is not None else None, label)
    return {method.name: method.reads if method.samples_model else None for method in chosen}


def _model(variant: dict[str, Any]) -> dict[str, Any]:
    return model_settings(variant["model"]) if "model" in variant else {}


def worker_setup(threads: int) -> None:
    """Start a bench worker process with its share of the cores for llama.cpp."""
    import os

    from llmopt.backends.local import THREADS_ENV

    os.environ[THREADS_ENV] = str(threads)


def worker_pool(workers: int) -> Executor:
    """Worker processes for the jobs that need the CPU, which together run no more llama.cpp threads than
    there are cores."""
    import os
    from concurrent.futures import ProcessPoolExecutor

    import multiprocessing

    threads = max(1, (os.cpu_count() or 1) // workers)
    # forkserver: a worker started while this process's threads are busy inherits none of their locks
    return ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("forkserver"),
                               initializer=worker_setup, initargs=(threads,))


def run_job_in_worker(job: Job) -> dict[str, Any]:
    """`run_job` in a worker process (or on a Dask worker), under the job's request limit for that process."""
    with request_limit(job.max_concurrency):
        return run_job(job)


Progress = Callable[[list[dict[str, Any]]], None]


def execute(jobs: list[Job], executor: Executor | None = None, *, server_threads: int = 0,
            local_model: Executor | None = None, progress: Progress | None = None) -> list[dict[str, Any]]:
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
        if first:
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


def _collect(futures: list[Future], progress: Progress | None,
             before: dict[Future, dict[str, Any]] | None = None) -> dict[Future, dict[str, Any]]:
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


def _in_order(jobs: list[Job], futures: dict[int, Future], done: dict[Future, dict[str, Any]],
              in_turn: list[dict[str, Any]]) -> list[dict[str, Any]]:
    local = iter(in_turn)
    return [done[futures[id(job)]] if id(job) in futures else next(local) for job in jobs]


def ablation_study(problem: str, options: dict[str, Any], seeds: int, settings: dict[str, Any], model: dict[str, Any],
                   target: float | None = None, executor: Executor | None = None,
                   also: Sequence[str] = ()) -> list[dict[str, Any]]:
    """Rows of OPRO, each ablation, the methods in `also` that the problem has (e.g. lmx, lmx-no-model) and
    the best black-box baseline over `seeds` seeds at the same budget (`options`: the problem's options,
    its defaults where not given).

    The best baseline (by median, among the default black-box methods that sample no model) is chosen
    on `seeds` other seeds, so that the choice does not favour it on the seeds it is tested on.
    """
    from llmopt.comparators import default_methods, methods_for
    from llmopt.comparators.ablations import VARIANTS
    from llmopt.opro import NAME
    from llmopt.registry import get_problem

    options = {o.dest: o.default for o in get_problem(problem).options} | options
    built = build_problem(problem, options)
    found = methods_for(built)
    black_box = [m for m in default_methods(built) if found[m].kind == "black-box"]
    trial = execute(make_jobs(problem, options, black_box, seeds, settings, model, target, first_seed=seeds), executor)
    best = best_by_median(summarize(trial))
    extra = [name for name in also if name in found and name != best]
    return execute(make_jobs(problem, options, [NAME, *VARIANTS, *extra, best], seeds, settings, model, target),
                   executor)


def model_notes(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """What the rows say about the model: runs whose requests mostly failed, answers cut off, adaptations."""
    from llmopt.result import Counts

    counts = [(f"{row['method']} (seed {row['seed']})", Counts.from_dict(row["counts"]), row.get("last_request_error"))
              for row in rows if "counts" in row]
    failed = health.failed_models(counts)
    cut = health.cut_off_warning(c for _, c, _ in counts)
    notes = list(dict.fromkeys(note for row in rows for note in row.get("adaptations", [])))
    return {**({"model_failed": failed} if failed else {}), **({"warning": cut} if cut else {}),
            **({"adaptations": notes} if notes else {})}


def _mean_sd(values: list[float]) -> str:
    if not values:
        return "-"
    sd = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{statistics.mean(values):.4g} ± {sd:.2g}"


def _groups(rows: list[dict[str, Any]]) -> dict[tuple[str, str], list[dict[str, Any]]]:
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault((row["label"], row["method"]), []).append(row)
    return groups


def summarize(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per label and method, over seeds: final best (mean, sd, median, quartiles, bootstrap 95 % interval
    of the median), gap to the optimum, success rate, ERT, evaluations and steps to the target, and the
    two-sided rank-sum p-value of its final best against OPRO's (the first OPRO row of the label when a
    sweep made several), Holm-corrected over the methods of the label."""
    out = [_statistics(label, method, group) for (label, method), group in _groups(rows).items()]
    for label in dict.fromkeys(s["label"] for s in out):
        mine = [s for s in out if s["label"] == label]
        _at_equal_rounds(mine, [row for row in rows if row["label"] == label])
        studied = next((s for s in mine if s["under_study"]), None)
        raw = {s["method"]: rank_sum_p(s["best"], studied["best"]) if studied is not None and s is not studied
               else math.nan
               for s in mine}
        adjusted = holm(raw)
        for s in mine:
            s["p_vs_opro"], s["p_against"] = adjusted[s["method"]], studied["method"] if studied else None
    return out


def _statistics(label: str, method: str, group: list[dict[str, Any]]) -> dict[str, Any]:
    first = group[0]
    direction = first.get("direction", "min")
    # a run that found no valid solution ranks last, it is not left out
    best = [r["best_value"] if r["best_value"] is not None and math.isfinite(r["best_value"]) else worst(direction)
            for r in group]
    hits = [r for r in group if r["reached"]]
    targeted = first["target"] is not None
    q1, mid, q3 = quantiles(best, [0.25, 0.5, 0.75])
    reference = first["kind"] == "reference"
    gaps = [gap_pct(b, first.get("optimum"), direction) for b in best if math.isfinite(b)]
    return {
        "label": label, "method": method, "base_method": first.get("base_method", method), "direction": direction,
        "variant": first.get("variant", {}), "kind": first["kind"], "runs": len(group), "best": best,
        "under_study": first.get("under_study", False),
        "median": mid, "q1": q1, "q3": q3, "median_ci95": list(bootstrap_ci(best)),
        "gap_pct": [g for g in gaps if g is not None],
        "success_rate": len(hits) / len(group) if targeted else None,
        "ert": None if reference or not targeted else ert([r["n_evals"] for r in group],
                                                         [r["evals_to_target"] for r in group]),
        "evals_to_target": [r["evals_to_target"] for r in hits if r["evals_to_target"] is not None],
        "steps_to_target": [r["steps_to_target"] for r in hits if r["steps_to_target"] is not None],
        "evals_used": [r["n_evals"] for r in group], "budget": first["budget"],
        "cost_usd": [r["cost_usd"] for r in group if r.get("cost_usd") is not None]}


def _at_equal_rounds(summary: list[dict[str, Any]], rows: list[dict[str, Any]]) -> None:
    """Each method's median best after R rounds, R the fewest rounds any evaluating run of the label used:
    the comparison at equal wall-clock time when evaluations ran side by side (None when none did)."""
    curves = [row.get("best_by_round") or [] for row in rows if row["kind"] != "reference"]
    parallel = any(row.get("rounds", 0) and row["rounds"] < row["n_evals"] for row in rows)
    at = min((len(curve) for curve in curves if curve), default=0) if parallel else 0
    for s in summary:
        group = [row for row in rows if row["method"] == s["method"]]
        values = [row["best_by_round"][at - 1] for row in group if at and len(row.get("best_by_round") or []) >= at]
        values = [value for value in values if value is not None]
        s["at_rounds"] = at or None
        s["median_at_rounds"] = median(values) if values and s["kind"] != "reference" else None


def best_by_median(summary: list[dict[str, Any]]) -> str:
    """The method of `summarize`'s rows with the best median final value (a run with none ranks last)."""
    def key(s: dict[str, Any]) -> float:
        return to_loss(s["median"], s.get("direction", "min")) if math.isfinite(s["median"]) else math.inf

    return min(summary, key=key)["method"]


def _g(value: float | None) -> str:
    return "-" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.4g}"


def summary_table(rows: list[dict[str, Any]]) -> str:
    """The statistics of `summarize` as a text table, one line per label and method."""
    summary = summarize(rows)
    against = {s["p_against"] for s in summary} - {None}
    studied = sorted({s["base_method"] for s in summary if s["under_study"]})
    p_column = ("p (Holm)" if not studied else f"p vs {studied[0]} (Holm)" if len(against) <= 1
                else f"p vs 1st {studied[0]} row (Holm)")
    header = ["problem", "method", "kind", "median [IQR]", "mean ± sd", "median 95% CI", "reached", "ERT",
              p_column, "steps to target",
              "evals used", "budget"]
    priced = any(s["cost_usd"] for s in summary)
    if priced:
        header.append("cost $ (mean ± sd)")
    rounds = next((s["at_rounds"] for s in summary if s.get("at_rounds")), None)
    if rounds:  # evaluations ran side by side: the comparison at equal wall-clock time too
        header.insert(4, f"median @ {rounds} rounds")
    lines = [header]
    for s in summary:
        low, high = s["median_ci95"]
        lines.append([s["label"], s["method"], s["kind"], f"{_g(s['median'])} [{_g(s['q1'])}, {_g(s['q3'])}]",
                      *([_g(s["median_at_rounds"])] if rounds else []), _mean_sd([b for b in s["best"] if math.isfinite(b)]), f"[{_g(low)}, {_g(high)}]",
                      "-" if s["success_rate"] is None else f"{round(s['success_rate'] * s['runs'])}/{s['runs']}",
                      _g(s["ert"]), _g(s["p_vs_opro"]),
                      _mean_sd(s["steps_to_target"]),
                      "-" if s["kind"] == "reference" else _mean_sd(s["evals_used"]), str(s["budget"]),
                      *([_mean_sd(s["cost_usd"])] if priced else [])])
    return text_table(lines)


def paper_table(rows: list[dict[str, Any]]) -> str:
    """The shape of the paper's Tables 2 and 3, one line per label and method: gap to the optimum (over
    the runs that found a valid solution, counted when some did not), steps and distinct solutions
    evaluated up to the target (mean ± sd over the runs that reached it), and how many runs reached it."""
    lines = [["problem", "method", "kind", "gap % (mean ± sd)", "steps to target", "solutions evaluated to target",
              "reached"]]
    for s in summarize(rows):
        no_count = s["kind"] == "reference"
        valid = f" (n={len(s['gap_pct'])}/{s['runs']})" if s["gap_pct"] and len(s["gap_pct"]) < s["runs"] else ""
        lines.append([s["label"], s["method"], s["kind"], _mean_sd(s["gap_pct"]) + valid,
                      "-" if no_count else _mean_sd(s["steps_to_target"]),
                      "-" if no_count else _mean_sd(s["evals_to_target"]),
                      "-" if s["success_rate"] is None else f"{round(s['success_rate'] * s['runs'])}/{s['runs']}"])
    return text_table(lines)
