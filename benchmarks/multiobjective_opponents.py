"""Which black-box opponent of several objectives is strongest at OPRO's budgets? Optuna's NSGA-II (the
method's population of 20, and Optuna's default 50), Optuna's multi-objective TPE (independent, Optuna's
default with several objectives, and multivariate), random search (all of these through llmopt's wrapper, a
repeated point free), and the candidates for one more default: Nevergrad's multi-objective mode
(`tell(candidate, [f1, f2])`, NGOpt and DE, the reference point told as its upper bound) and pymoo's NSGA-II
(its default population of 100, and 20) driven by ask/tell.

ZDT1 in 30 and 5 dimensions, budgets of 100 and 200 evaluations, 5 seeds; the measure is the hypervolume of
the evaluated points' front against (11, 11), the problem's reference (a Result's `best_value`). Prints the
median hypervolume [IQR] of each method and its ratio to random search's median.

    python benchmarks/multiobjective_opponents.py --seeds 5
"""

from __future__ import annotations

import argparse
import warnings
from collections.abc import Callable

import numpy as np

from llmopt.contract.registry import build_problem
from llmopt.core.pareto import hypervolume
from llmopt.engine.config import OPROConfig
from llmopt.methods import run_methods, setup_for

REFERENCE = (11.0, 11.0)
Direct = Callable[[object, int, int], float]  # (problem, budget, seed) -> hypervolume


def _hv(points: list[tuple[float, ...]]) -> float:
    return hypervolume(points, REFERENCE, ("min", "min"))


def llmopt_method(name: str) -> Direct:
    """A registered method, its hypervolume as its Result reports it."""

    def run(problem, budget: int, seed: int) -> float:
        return run_methods(problem, setup_for(problem, OPROConfig(max_evals=budget, seed=seed)), [name])[0].best_value

    return run


def patched(name: str, **constants: object) -> Direct:
    """A registered method with module constants of llmopt.methods.classical.library set otherwise (NSGA-II's
    population, MOTPE's `multivariate`): run through the same wrapper, so that a duplicate costs no evaluation
    in every variant alike."""
    from llmopt.methods.classical import library

    def run(problem, budget: int, seed: int) -> float:
        saved = {key: getattr(library, key) for key in constants}
        try:
            for key, value in constants.items():
                setattr(library, key, value)
            return llmopt_method(name)(problem, budget, seed)
        finally:
            for key, value in saved.items():
                setattr(library, key, value)

    return run


def nevergrad_mo(optimizer: str) -> Direct:
    """A Nevergrad optimizer in its multi-objective mode, the reference point told as the upper bound."""

    def run(problem, budget: int, seed: int) -> float:
        import nevergrad as ng

        box = ng.p.Array(shape=(problem.space.dim,), lower=problem.space.lows, upper=problem.space.highs)
        box.random_state = np.random.RandomState(seed)
        chosen = ng.optimizers.registry[optimizer](parametrization=box, budget=budget)
        chosen.tell(ng.p.MultiobjectiveReference(), list(REFERENCE))
        points = []
        for _ in range(budget):
            candidate = chosen.ask()
            values = problem.fun(np.asarray(problem.space.snap(candidate.value)))
            chosen.tell(candidate, list(values))
            points.append(values)
        return _hv(points)

    return run


def pymoo_nsga2(population: int) -> Direct:
    """pymoo's NSGA-II through its ask/tell interface, its termination the budget."""

    def run(problem, budget: int, seed: int) -> float:
        from pymoo.algorithms.moo.nsga2 import NSGA2
        from pymoo.core.evaluator import Evaluator
        from pymoo.core.problem import Problem as PymooProblem
        from pymoo.core.termination import NoTermination

        space = problem.space
        box = PymooProblem(n_var=space.dim, n_obj=2, xl=space.lows, xu=space.highs)
        algorithm = NSGA2(pop_size=population)
        algorithm.setup(box, termination=NoTermination(), seed=seed, verbose=False)
        points: list[tuple[float, ...]] = []
        while len(points) < budget:
            offspring = algorithm.ask()
            xs = offspring.get("X")[: budget - len(points)]
            offspring = offspring[: len(xs)]
            values = [problem.fun(np.asarray(space.snap(x))) for x in xs]
            offspring.set("F", np.array(values))
            Evaluator().eval(box, offspring, skip_already_evaluated=True)
            algorithm.tell(infills=offspring)
            points.extend(values)
        return _hv(points)

    return run


METHODS: dict[str, Direct] = {
    "random-search": llmopt_method("random-search"),
    "optuna-nsga2": llmopt_method("optuna-nsga2"),
    "optuna-nsga2 (pop 50)": patched("optuna-nsga2", NSGA2_POPULATION=50),
    "optuna-motpe": llmopt_method("optuna-motpe"),
    "optuna-motpe (multivariate)": patched("optuna-motpe", MOTPE_MULTIVARIATE=True),
    "nevergrad NGOpt (MO)": nevergrad_mo("NGOpt"),
    "nevergrad DE (MO)": nevergrad_mo("DE"),
    "pymoo NSGA-II": pymoo_nsga2(100),
    "pymoo NSGA-II (pop 20)": pymoo_nsga2(20),
}


def main() -> None:
    """Run every method on every (dimension, budget, seed) and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--dims", type=int, nargs="+", default=[30, 5])
    parser.add_argument("--budgets", type=int, nargs="+", default=[100, 200])
    args = parser.parse_args()
    for dim in args.dims:
        problem = build_problem("zdt1", {"dim": dim})
        for budget in args.budgets:
            print(
                f"\nZDT1 {dim}-D, {budget} evaluations, {args.seeds} seeds: hypervolume vs (11, 11) (optimum 120.667)"
            )
            rows = {}
            for name, run in METHODS.items():
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    rows[name] = [run(problem, budget, seed) for seed in range(args.seeds)]
            floor = float(np.median(rows["random-search"]))
            for name, values in rows.items():
                q1, median, q3 = np.percentile(values, [25, 50, 75])
                print(f"  {name:28s} {median:8.3f} [{q1:7.3f}, {q3:7.3f}]  x{median / floor:.3f}")


if __name__ == "__main__":
    main()
