"""Every black-box method of each space over seeds at OPRO-sized budgets; prints a table per space.

Boxes: BBOB functions (COCO's noiseless suite, through the benchmark-only package `ioh`: `pip install
ioh`), each instance moved and rotated so that no method wins by a lucky centre, in 2, 5 and 10
dimensions: sphere (f1), Rosenbrock (f8), the rotated ellipsoid (f10), rotated Rastrigin (f15),
Schwefel x·sin(√x) (f20) and Gallagher's 101 peaks (f21). Bit vectors: PBO's OneMax and LeadingOnes
(`ioh` again), a deceptive trap, a random MaxSAT and a random knapsack instance. Orderings: random 10-
and 20-city TSPs and the 12-city TSPLIB file of examples/. For each (problem, budget) every method gets
the same seeds and start points (as OPRO's would be); the table shows the median final gap to the
optimum, the success rate (within 1e-2 of it for functions, the optimum itself elsewhere), ERT and
each method's rank by median gap, then the mean rank per space.

    python benchmarks/baselines.py                  # every space, 3 seeds, budgets 50 and 100
    python benchmarks/baselines.py --spaces bits --seeds 3
"""

from __future__ import annotations

import argparse
import statistics
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from llmopt.contract.problem import Problem
from llmopt.contract.registry import build_problem
from llmopt.contract.spaces import Bits
from llmopt.core.direction import reached
from llmopt.core.stats import ert
from llmopt.methods import Setup, methods_for
from llmopt.problems.numeric import NumericProblem

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


class PseudoBoolean(Problem):
    """A standard pseudo-Boolean test function over n bits, maximised (optimum n)."""

    summary, direction, value_label = "pseudo-Boolean test function", "max", "fitness"

    def __init__(self, n: int = 32) -> None:
        self.space, self.n = Bits(n), n

    def describe(self) -> str:
        return self.name

    def format_hint(self) -> str:
        return "<bits>...</bits>"

    def optimum(self) -> float:
        return float(self.n)


class OneMax(PseudoBoolean):
    name = "onemax"

    def evaluate(self, bits) -> float:
        return float(sum(bits))


class LeadingOnes(PseudoBoolean):
    name = "leadingones"

    def evaluate(self, bits) -> float:
        return float(next((i for i, b in enumerate(bits) if not b), len(bits)))


class Trap(PseudoBoolean):
    """Concatenated deceptive traps of 4 bits: all ones scores 4, else 3 minus the ones in the block."""

    name = "trap"

    def evaluate(self, bits) -> float:
        blocks = [bits[i : i + 4] for i in range(0, len(bits), 4)]
        return float(sum(4 if sum(b) == len(b) else len(b) - 1 - sum(b) for b in blocks))


BBOB = {1: "sphere", 8: "rosenbrock", 10: "ellipsoid", 15: "rastrigin", 20: "schwefel", 21: "gallagher"}
INSTANCES = (1, 2)


class Bbob(NumericProblem):
    """A BBOB function of `ioh` on [-5, 5]^d, its minimum the instance's optimum."""

    def __init__(self, fid: int, instance: int, dim: int) -> None:
        import ioh

        self.f = ioh.get_problem(fid, instance=instance, dimension=dim, problem_class=ioh.ProblemClass.BBOB)
        super().__init__(self, [(-5.0, 5.0)] * dim, optimum=float(self.f.optimum.y), label=f"bbob-f{fid}")

    def __call__(self, x: np.ndarray) -> float:
        return float(self.f(np.asarray(x, dtype=float)))


class Pbo(PseudoBoolean):
    """A PBO problem of `ioh` (maximised)."""

    def __init__(self, fid: int, n: int) -> None:
        import ioh

        super().__init__(n)
        self.f = ioh.get_problem(fid, instance=1, dimension=n, problem_class=ioh.ProblemClass.PBO)
        self.name = self.f.meta_data.name.lower()

    def evaluate(self, bits) -> float:
        return float(self.f(list(int(b) for b in bits)))

    def optimum(self) -> float:
        return float(self.f.optimum.y)


DIMS = (2, 5, 10)


def problems(
    space: str, dims: tuple[int, ...] = DIMS, instances: tuple[int, ...] = INSTANCES
) -> list[tuple[str, Problem]]:
    """The (label, problem) pairs of one space (boxes in `dims` dimensions, BBOB's `instances`)."""
    if space == "box":
        return [
            (f"f{fid} {name} i{instance} {dim}-D", Bbob(fid, instance, dim))
            for dim in dims
            for fid, name in BBOB.items()
            for instance in instances
        ]
    if space == "bits":
        return [
            ("onemax 32", Pbo(1, 32)),
            ("leadingones 32", Pbo(2, 32)),
            ("trap 32", Trap(32)),
            ("maxsat 20 vars", build_problem("maxsat", {})),
            ("knapsack 20 items", build_problem("knapsack", {})),
        ]
    return [
        *((f"tsp {n}", build_problem("tsp", {"cities": n})) for n in (10, 20)),
        ("tsplib cities12", build_problem("tsp", {"instance": str(EXAMPLES / "cities12.tsp")})),
    ]


def target_of(problem: Problem) -> float:
    """What counts as solved: within 1e-2 of a function's optimum, the optimum itself elsewhere."""
    optimum = problem.optimum()
    slack = 1e-2 if isinstance(problem, NumericProblem) else 0.0
    return optimum + slack if problem.direction == "min" else optimum - slack


def one_run(
    space: str,
    index: int,
    method: str,
    budget: int,
    seed: int,
    dims: tuple[int, ...] = DIMS,
    instances: tuple[int, ...] = INSTANCES,
) -> dict[str, Any]:
    """One method on one problem at one budget and seed (in a worker process)."""
    label, problem = problems(space, dims, instances)[index]
    starts = tuple(problem.initial(np.random.default_rng(seed), 5))
    target = target_of(problem)
    result = methods_for(problem)[method].run(problem, Setup(max_evals=budget, seed=seed, starts=starts, target=target))
    optimum = problem.optimum()
    gap = abs(result.best_value - optimum) if result.best_value is not None else float("inf")
    hit = result.first_reaching(target)
    return {
        "label": label,
        "method": method,
        "budget": budget,
        "seed": seed,
        "gap": gap,
        "reached": reached(result.best_value, target, problem.direction),
        "evals": result.counts.evals,
        "to_target": hit.eval_index if hit else None,
        "seconds": result.seconds,
    }


def table(space: str, rows: list[dict[str, Any]]) -> str:
    """Median gap, success, ERT and rank per (problem, budget) and method; mean rank per method."""
    lines = [f"{'problem':<20} {'budget':>6} {'method':<24} {'median gap':>11} {'success':>7} {'ERT':>8} {'rank':>5}"]
    ranks: dict[str, list[float]] = {}
    keys = list(dict.fromkeys((r["label"], r["budget"]) for r in rows))
    for label, budget in keys:
        mine = [r for r in rows if (r["label"], r["budget"]) == (label, budget)]
        methods = list(dict.fromkeys(r["method"] for r in mine))
        medians = {m: statistics.median(r["gap"] for r in mine if r["method"] == m) for m in methods}
        order = sorted(methods, key=lambda m: medians[m])
        rank = {m: 1 + sum(medians[o] < medians[m] for o in methods) for m in methods}
        for m in order:
            runs = [r for r in mine if r["method"] == m]
            hits = sum(r["reached"] for r in runs)
            expected = ert([r["evals"] for r in runs], [r["to_target"] for r in runs])
            ranks.setdefault(m, []).append(rank[m])
            lines.append(
                f"{label:<20} {budget:>6} {m:<24} {medians[m]:>11.4g} {hits:>3}/{len(runs):<3} "
                f"{expected:>8.4g} {rank[m]:>5}"
            )
    lines.append(f"\nmean rank over the {len(keys)} (problem, budget) pairs of {space}:")
    for m, got in sorted(ranks.items(), key=lambda item: statistics.mean(item[1])):
        lines.append(f"  {m:<24} {statistics.mean(got):.2f}")
    return "\n".join(lines)


def main() -> None:
    """Run the grid in worker processes and print one table per space."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--spaces", nargs="+", default=["box", "bits", "permutation"])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--budgets", type=int, nargs="+", default=[50, 100])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--dims", type=int, nargs="+", default=list(DIMS), help="dimensions of the boxes")
    parser.add_argument("--instances", type=int, nargs="+", default=list(INSTANCES), help="BBOB instances")
    parser.add_argument("--skip", nargs="*", default=[], help="methods to leave out (e.g. gp-bo, the slowest)")
    args = parser.parse_args()
    with ProcessPoolExecutor(args.workers) as pool:
        for space in args.spaces:
            dims, instances = tuple(args.dims), tuple(args.instances)
            found = problems(space, dims, instances)
            jobs = [
                (space, i, m, b, s, dims, instances)
                for i, (_, p) in enumerate(found)
                for b in args.budgets
                for m, method in methods_for(p).items()
                if method.kind == "black-box" and m not in args.skip
                for s in range(args.seeds)
            ]
            rows = list(pool.map(one_run, *zip(*jobs)))
            print(table(space, rows), flush=True)
            print()


if __name__ == "__main__":
    main()
