"""Multi-seed experiments: OPRO and every baseline over K seeds at the same evaluation cap.

Each (problem, seed, method) is one independent job, so any `concurrent.futures`-style executor
runs them: local processes by default, or a Dask cluster's executor.
"""

from __future__ import annotations

import math
import statistics
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import Any, Iterable

import numpy as np

from llmopt.result import text_table

# The (w, b) pairs of the paper's linear-regression table.
PAPER_GRID = ((15, 14), (17, 17), (16, 10), (3, 5), (25, 23), (2, 30), (36, -1))


@dataclass(frozen=True)
class Job:
    """One run: a problem with its options, a method ('opro' or a baseline name) and a seed."""

    problem: str
    options: dict[str, Any]
    method: str
    seed: int
    label: str
    opro: dict[str, Any] = field(default_factory=dict)
    model: dict[str, Any] = field(default_factory=dict)
    target: float | None = None


def evaluation_cap(opro: dict[str, Any]) -> int:
    """The evaluation budget every method gets: initial points plus steps × proposals, or --max-evals."""
    return opro.get("max_evals") or opro["initial"] + opro["steps"] * opro["proposals"]


def reached(value: float, target: float, direction: str) -> bool:
    """Whether `value` meets `target`, with a relative tolerance of 1e-9."""
    slack = 1e-9 * max(1.0, abs(target))
    return value <= target + slack if direction == "min" else value >= target - slack


def run_job(job: Job) -> dict[str, Any]:
    """Run one job and return its raw numbers (plain data, so it travels between processes)."""
    from llmopt.backends import make_backend
    from llmopt.metaprompt import MetaPromptConfig
    from llmopt.opro import OPRO, OPROConfig
    from llmopt.problem import Budget
    from problems import get_problem

    problem = get_problem(job.problem).from_options(**job.options)
    cap = evaluation_cap(job.opro)
    target = job.target if job.target is not None else problem.optimum()
    if job.method == "opro":
        backend = make_backend(**job.model)
        settings = {**job.opro, "max_evals": cap, "seed": job.seed, "target": target}
        settings["metaprompt"] = MetaPromptConfig(**settings.get("metaprompt", {}))
        config = OPROConfig(**settings)
        result = OPRO(problem, backend, config).run()
    else:
        starts = tuple(problem.initial(np.random.default_rng(job.seed), job.opro["initial"]))
        result = problem.baselines()[job.method](Budget(cap, job.seed, starts))
    row = {"problem": job.problem, "label": job.label, "method": job.method, "seed": job.seed,
           "best_value": result.best_value, "n_evals": result.counts.evals, "n_llm_calls": result.counts.llm_calls,
           "seconds": round(result.seconds, 4), "target": target, "evals_to_target": None, "steps_to_target": None}
    if target is not None:
        evals = 0
        for trial in result.trials:
            if trial.value is None:
                continue
            evals += 1
            if reached(trial.value, target, problem.direction):
                row["evals_to_target"] = evals
                row["steps_to_target"] = trial.step if job.method == "opro" else None
                break
    return row


def make_jobs(problem: str, options: dict[str, Any], methods: Iterable[str], seeds: int, opro: dict[str, Any],
              model: dict[str, Any], target: float | None = None, paper_grid: bool = False) -> list[Job]:
    """Every (problem variant, seed, method) job; `paper_grid` sweeps the paper's (w, b) pairs."""
    variants = [(f"w={w},b={b}", {**options, "w_true": float(w), "b_true": float(b)}) for w, b in PAPER_GRID] \
        if paper_grid else [(problem, options)]
    return [Job(problem, opts, method, seed, label, opro, model, target)
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


def summary_table(rows: list[dict[str, Any]]) -> str:
    """Per label and method: mean ± sd of best value, seeds reaching the target, evals (and steps) to it."""
    header = ["problem", "method", "best value", "reached", "evals to target", "steps to target", "evals used"]
    lines = [header]
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault((row["label"], row["method"]), []).append(row)
    for (label, method), group in groups.items():
        best = [r["best_value"] for r in group if r["best_value"] is not None and math.isfinite(r["best_value"])]
        hits = [r for r in group if r["evals_to_target"] is not None]
        steps = [r["steps_to_target"] for r in hits if r["steps_to_target"] is not None]
        lines.append([label, method, _mean_sd(best), f"{len(hits)}/{len(group)}",
                      _mean_sd([r["evals_to_target"] for r in hits]), _mean_sd(steps) if method == "opro" else "-",
                      _mean_sd([r["n_evals"] for r in group])])
    return text_table(lines)
