"""llmopt's library rows against the libraries called as their documentation shows, on BBOB functions.

For Nevergrad's NGOpt it also runs the two ways of building a box (`Array(shape, lower, upper)`, the
documented one, against `Array(init=centre).set_bounds`, which keeps a step size of 1) with and without
the shared start points suggested first, so each choice's cost is measured. Prints the median gap
f - f* over seeds per function and variant. Needs the benchmark-only package `ioh` (`pip install ioh`).

    python benchmarks/library_strength.py                   # 5-D, 100 evaluations, 25 seeds
    python benchmarks/library_strength.py --dim 2 --seeds 10
"""

from __future__ import annotations

import argparse
import warnings

import numpy as np

from llmopt import OPROConfig, compare
from llmopt.methods import setup_for
from llmopt.problems.numeric import NumericProblem
from llmopt.report.tables import text_table

FUNCTIONS = {1: "sphere", 8: "rosenbrock", 10: "rotated ellipsoid", 15: "rotated rastrigin", 20: "schwefel"}


def ngopt(problem, dim: int, budget: int, seed: int, documented: bool, starts: tuple) -> float:
    """NGOpt called directly, the box built one way or the other, the start points suggested or not."""
    import nevergrad as ng

    box = (
        ng.p.Array(shape=(dim,), lower=-5, upper=5) if documented else ng.p.Array(init=np.zeros(dim)).set_bounds(-5, 5)
    )
    box.random_state = np.random.RandomState(seed)
    optimizer = ng.optimizers.NGOpt(parametrization=box, budget=budget)
    for start in reversed(starts):
        optimizer.suggest(np.asarray(start, dtype=float))
    values = []
    for _ in range(budget):
        candidate = optimizer.ask()
        values.append(float(problem(np.asarray(candidate.value))))
        optimizer.tell(candidate, values[-1])
    return min(values)


def tpe(problem, dim: int, budget: int, seed: int) -> float:
    """Optuna's multivariate TPE called as its documentation shows."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(sampler=optuna.samplers.TPESampler(seed=seed, multivariate=True))
    study.optimize(
        lambda t: float(problem(np.array([t.suggest_float(f"x{i}", -5, 5) for i in range(dim)]))), n_trials=budget
    )
    return study.best_value


def main() -> None:
    """Run every variant on every function and seed; print the medians."""
    import ioh

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dim", type=int, default=5)
    parser.add_argument("--budget", type=int, default=100)
    parser.add_argument("--seeds", type=int, default=25)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    rows = [["function", "method", "median gap"]]
    for fid, name in FUNCTIONS.items():
        f = ioh.get_problem(fid, instance=1, dimension=args.dim, problem_class=ioh.ProblemClass.BBOB)
        gaps: dict[str, list[float]] = {}
        for seed in range(args.seeds):
            problem = NumericProblem(lambda x, f=f: float(f(np.asarray(x, dtype=float))), [(-5, 5)] * args.dim)
            config = OPROConfig(max_evals=args.budget, seed=seed)
            starts = setup_for(problem, config).starts
            for documented in (True, False):
                for with_starts in (True, False):
                    label = (
                        f"NGOpt direct, {'lower/upper' if documented else 'init+set_bounds'}, "
                        f"{'start points' if with_starts else 'no start points'}"
                    )
                    value = ngopt(f, args.dim, args.budget, seed, documented, starts if with_starts else ())
                    gaps.setdefault(label, []).append(value - f.optimum.y)
            gaps.setdefault("TPE direct", []).append(tpe(f, args.dim, args.budget, seed) - f.optimum.y)
            for result in compare(problem, config, ["nevergrad-ngopt", "optuna-tpe"]):
                gaps.setdefault(f"llmopt {result.method}", []).append(result.best_value - f.optimum.y)
        for label, values in gaps.items():
            rows.append([name, label, f"{np.median(values):.4g}"])
            print(" | ".join(rows[-1]), flush=True)
    print(f"\n{args.dim}-D, {args.budget} evaluations, {args.seeds} seeds, BBOB instance 1")
    print(text_table(rows))


if __name__ == "__main__":
    main()
