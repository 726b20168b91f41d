"""OPRO and LMX as Optuna samplers against Optuna's TPE and random sampling, inside Optuna, at the same
number of trials, on the registered test functions (each seed moved and rotated, `--shift SEED`), over
several seeds.

Each run is `optuna.create_study(sampler=...).optimize(objective, n_trials)` with the user's kind of
objective (`trial.suggest_float` per variable). Per function and sampler it prints the median final
best with its IQR, how many runs came within `--tolerance` of the known minimum, and the two-sided
rank-sum p-value of each sampler against OPROSampler, Holm-corrected over the samplers of a function.
The embedded model proves the machinery, not the method: bring your own model (`--model`, `--base-url`).

    python benchmarks/optuna_samplers.py                       # embedded model, 4 functions, 3 seeds
    python benchmarks/optuna_samplers.py --functions sphere --seeds 5 --trials 40
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import optuna

from llmopt.contract.registry import build_problem
from llmopt.core.stats import holm, quantiles, rank_sum_p
from llmopt.integrations.optuna import LMXSampler, OPROSampler
from llmopt.report.tables import text_table

SAMPLERS: dict[str, Callable[..., optuna.samplers.BaseSampler]] = {
    "OPROSampler": lambda seed, model: OPROSampler(seed=seed, proposals=4, **model),
    "LMXSampler": lambda seed, model: LMXSampler(seed=seed, proposals=4, **model),
    "TPESampler": lambda seed, model: optuna.samplers.TPESampler(seed=seed, multivariate=True),
    "RandomSampler": lambda seed, model: optuna.samplers.RandomSampler(seed=seed),
}


def objective_of(problem: Any) -> Callable[[optuna.Trial], float]:
    """The problem's function as a user writes an Optuna objective."""

    def objective(trial: optuna.Trial) -> float:
        x = np.array([trial.suggest_float(f"x{i + 1}", lo, hi) for i, (lo, hi) in enumerate(problem.bounds)])
        return problem.evaluate(x)

    return objective


def main() -> None:
    """Run every sampler on every function and seed; print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--functions", nargs="+", default=["sphere", "rosenbrock", "rastrigin", "ackley"])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--tolerance", type=float, default=0.1, help="reached: within this of the minimum")
    parser.add_argument("--model", default="local")
    parser.add_argument("--base-url")
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    model = {"model": args.model, "base_url": args.base_url}
    rows = [["function", "sampler", "median [IQR]", "reached", "p vs OPROSampler (Holm)", "seconds/run"]]
    for name in args.functions:
        best: dict[str, list[float]] = {}
        seconds: dict[str, float] = {}
        for sampler_name, make in SAMPLERS.items():
            began = time.perf_counter()
            for seed in range(args.seeds):  # each seed its own instance: moved and rotated (--shift SEED)
                problem = build_problem(name, {"shift": seed})
                study = optuna.create_study(sampler=make(seed, model))
                study.optimize(objective_of(problem), n_trials=args.trials)
                best.setdefault(sampler_name, []).append(study.best_value)
            seconds[sampler_name] = (time.perf_counter() - began) / args.seeds
        p = holm({s: rank_sum_p(v, best["OPROSampler"]) for s, v in best.items() if s != "OPROSampler"})
        for sampler_name, values in best.items():
            q1, mid, q3 = quantiles(values, [0.25, 0.5, 0.75])
            reached = sum(v <= problem.optimum() + args.tolerance for v in values)
            rows.append(
                [
                    name,
                    sampler_name,
                    f"{mid:.4g} [{q1:.4g}, {q3:.4g}]",
                    f"{reached}/{len(values)}",
                    "-" if sampler_name == "OPROSampler" else f"{p[sampler_name]:.3g}",
                    f"{seconds[sampler_name]:.1f}",
                ]
            )
            print(" | ".join(rows[-1]), flush=True)
    print(f"\n{args.trials} trials a run, {args.seeds} seeds, model {args.model}")
    print(text_table(rows))


if __name__ == "__main__":
    main()
