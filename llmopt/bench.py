"""Multi-seed experiments: OPRO and every compared method over K seeds at the same evaluation budget.

Each (problem, seed, method) is one independent job, so any `concurrent.futures`-style executor
runs them: local processes by default, or a Dask cluster's executor.
"""

from __future__ import annotations

import dataclasses
import math
import statistics
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import Any, Iterable


from llmopt.backends.limit import DEFAULT_MAX_CONCURRENCY, set_max_concurrency
from llmopt.result import reached, text_table
from llmopt.stats import bootstrap_ci, ert, holm, quantiles, rank_sum_p

# The (w, b) pairs of the paper's linear-regression table.
PAPER_GRID = ((15, 14), (17, 17), (16, 10), (3, 5), (25, 23), (2, 30), (36, -1))


@dataclass(frozen=True)
class Job:
    """One run: a problem with its options, a method ('opro' or a compared method) and a seed."""

    problem: str
    options: dict[str, Any]
    method: str
    seed: int
    label: str
    opro: dict[str, Any] = field(default_factory=dict)
    model: dict[str, Any] = field(default_factory=dict)
    target: float | None = None
    max_concurrency: int = DEFAULT_MAX_CONCURRENCY


def opro_config(settings: dict[str, Any]) -> Any:
    """An OPROConfig from plain data (as `OPROConfig.to_dict` writes it)."""
    from llmopt.metaprompt import MetaPromptConfig
    from llmopt.opro import OPROConfig

    return OPROConfig(**{**settings, "metaprompt": MetaPromptConfig(**settings.get("metaprompt", {}))})


def run_job(job: Job) -> dict[str, Any]:
    """Run one job and return its raw numbers (plain data, so it travels between processes)."""
    from llmopt.backends import make_backend
    from llmopt.comparators import methods_for, setup_for
    from llmopt.opro import OPRO
    from llmopt.registry import get_problem

    set_max_concurrency(job.max_concurrency)  # each worker process keeps its own limit
    problem = get_problem(job.problem).from_options(**job.options)
    target = job.target if job.target is not None else problem.optimum()
    config = dataclasses.replace(opro_config(job.opro), seed=job.seed, target=target)
    model_driven = job.method == "opro" or methods_for(problem)[job.method].model_driven
    setup = setup_for(problem, config, make_backend(**job.model) if model_driven else None)
    if job.method == "opro":
        result = OPRO(problem, setup.backend, dataclasses.replace(config, max_evals=setup.max_evals)).run()
    else:
        result = methods_for(problem)[job.method].run(problem, setup)
    hit = result.first_reaching(target) if target is not None else None
    return {"problem": job.problem, "label": job.label, "method": job.method, "kind": result.kind,
            "direction": problem.direction,
            "seed": job.seed, "best_value": result.best_value, "n_evals": result.counts.evals,
            "budget": setup.max_evals, "n_llm_calls": result.counts.llm_calls, "seconds": round(result.seconds, 4),
            "target": target, "reached": target is not None and reached(result.best_value, target, problem.direction),
            "evals_to_target": hit.eval_index if hit else None,
            "steps_to_target": hit.step if hit else None, "best_so_far": result.best_so_far().tolist()}


def make_jobs(problem: str, options: dict[str, Any], methods: Iterable[str], seeds: int, opro: dict[str, Any],
              model: dict[str, Any], target: float | None = None, paper_grid: bool = False,
              max_concurrency: int = DEFAULT_MAX_CONCURRENCY) -> list[Job]:
    """Every (problem variant, seed, method) job; `paper_grid` sweeps the paper's (w, b) pairs."""
    variants = [(f"w={w},b={b}", {**options, "w_true": float(w), "b_true": float(b)}) for w, b in PAPER_GRID] \
        if paper_grid else [(problem, options)]
    return [Job(problem, opts, method, seed, label, opro, model, target, max_concurrency)
            for label, opts in variants for seed in range(seeds) for method in methods]


def execute(jobs: list[Job], executor: Executor) -> list[dict[str, Any]]:
    """Submit every job, then collect the rows in job order."""
    futures = [executor.submit(run_job, job) for job in jobs]
    return [future.result() for future in futures]


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
    of the median), success rate, ERT, evaluations and steps to the target, and the two-sided rank-sum
    p-value of its final best against OPRO's, Holm-corrected over the methods of the label."""
    groups, out = _groups(rows), []
    for (label, method), group in groups.items():
        worst = math.inf if group[0].get("direction", "min") == "min" else -math.inf
        # a run that found no valid solution ranks last, it is not left out
        best = [r["best_value"] if r["best_value"] is not None and math.isfinite(r["best_value"]) else worst
                for r in group]
        hits = [r for r in group if r["reached"]]
        targeted = group[0]["target"] is not None
        q1, mid, q3 = quantiles(best, [0.25, 0.5, 0.75])
        reference = group[0]["kind"] == "reference"
        out.append({
            "label": label, "method": method, "kind": group[0]["kind"], "runs": len(group), "best": best,
            "median": mid, "q1": q1, "q3": q3, "median_ci95": list(bootstrap_ci(best)),
            "success_rate": len(hits) / len(group) if targeted else None,
            "ert": None if reference or not targeted else ert([r["n_evals"] for r in group],
                                                             [r["evals_to_target"] for r in group]),
            "evals_to_target": [r["evals_to_target"] for r in hits if r["evals_to_target"] is not None],
            "steps_to_target": [r["steps_to_target"] for r in hits if r["steps_to_target"] is not None],
            "evals_used": [r["n_evals"] for r in group], "budget": group[0]["budget"]})
    for label in dict.fromkeys(s["label"] for s in out):
        mine = [s for s in out if s["label"] == label]
        opro = next((s["best"] for s in mine if s["method"] == "opro"), None)
        raw = {s["method"]: rank_sum_p(s["best"], opro) if opro is not None and s["method"] != "opro" else math.nan
               for s in mine}
        adjusted = holm(raw)
        for s in mine:
            s["p_vs_opro"] = adjusted[s["method"]]
    return out


def _g(value: float | None) -> str:
    return "-" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.4g}"


def summary_table(rows: list[dict[str, Any]]) -> str:
    """The statistics of `summarize` as a text table, one line per label and method."""
    header = ["problem", "method", "kind", "median [IQR]", "mean ± sd", "median 95% CI", "reached", "ERT",
              "p vs opro (Holm)", "steps to target", "evals used", "budget"]
    lines = [header]
    for s in summarize(rows):
        low, high = s["median_ci95"]
        lines.append([s["label"], s["method"], s["kind"], f"{_g(s['median'])} [{_g(s['q1'])}, {_g(s['q3'])}]",
                      _mean_sd([b for b in s["best"] if math.isfinite(b)]), f"[{_g(low)}, {_g(high)}]",
                      "-" if s["success_rate"] is None else f"{round(s['success_rate'] * s['runs'])}/{s['runs']}",
                      _g(s["ert"]), _g(s["p_vs_opro"]),
                      _mean_sd(s["steps_to_target"]),
                      "-" if s["kind"] == "reference" else _mean_sd(s["evals_used"]), str(s["budget"])])
    return text_table(lines)
