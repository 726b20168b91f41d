"""TSP baselines on random instances: optimality gap (mean ± sd) and seconds per method.

    python benchmarks/tsp_baselines.py                 # paper sizes, then n = 200 and 1,000
    python benchmarks/tsp_baselines.py --sizes 10 20   # chosen sizes only
    python benchmarks/tsp_baselines.py --strong        # also LKH (elkai) against OR-Tools GLS

Gaps for n ≤ 13 are against Held–Karp's proven optimum; above that against LKH with 10 runs,
the best known tour (labelled so). OR-Tools is optional: `pip install ortools` to compare.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import numpy as np

from llmopt.problems.tsp import TSP, heuristics, solvers
from llmopt.problems.tsp.instance import random_instance

PAPER = {"nearest-neighbour": (13.0, 9.4, 16.0, 19.7), "farthest-insertion": (3.2, 1.2, 0.2, 9.8)}
PAPER_SIZES = (10, 15, 20, 50)


def methods(instance) -> dict[str, Callable[[np.ndarray], list[int]]]:
    """The TSP plugin's own references on this instance (Held–Karp left out: it is the yardstick)."""
    found = TSP(instance).references()
    return {name: (lambda d, solve=solve: list(solve())) for name, solve in found.items() if name != "held-karp"}


def reference(dist: np.ndarray) -> tuple[float, str]:
    """Proven optimum where Held–Karp can run, else the best of 10 LKH runs."""
    if dist.shape[0] <= solvers.HELD_KARP_MAX:
        return heuristics.tour_length(dist, solvers.held_karp(dist)), "optimum (Held-Karp)"
    return heuristics.tour_length(dist, solvers.lkh(dist, runs=10)), "best known (LKH, 10 runs)"


def ortools_gls(dist: np.ndarray, seconds: float) -> list[int]:
    """OR-Tools routing with guided local search, for the strong-solver comparison."""
    from ortools.constraint_solver import pywrapcp, routing_enums_pb2

    n = dist.shape[0]
    manager = pywrapcp.RoutingIndexManager(n, 1, 0)
    routing = pywrapcp.RoutingModel(manager)
    callback = routing.RegisterTransitMatrix(np.rint(dist * 1000).astype(np.int64).tolist())
    routing.SetArcCostEvaluatorOfAllVehicles(callback)
    params = pywrapcp.DefaultRoutingSearchParameters()
    params.first_solution_strategy = routing_enums_pb2.FirstSolutionStrategy.PATH_CHEAPEST_ARC
    params.local_search_metaheuristic = routing_enums_pb2.LocalSearchMetaheuristic.GUIDED_LOCAL_SEARCH
    params.time_limit.FromMilliseconds(int(seconds * 1000))
    solution = routing.SolveWithParameters(params)
    index, tour = routing.Start(0), []
    while not routing.IsEnd(index):
        tour.append(manager.IndexToNode(index))
        index = solution.Value(routing.NextVar(index))
    return tour


def measure(n: int, instances: int, strong: bool) -> tuple[dict, str]:
    """Gap % and seconds of every method over `instances` random instances of n cities."""
    gaps: dict[str, list[float]] = {}
    seconds: dict[str, list[float]] = {}
    label = ""
    for seed in range(instances):
        instance = random_instance(n, seed)
        dist = instance.dist
        best, label = reference(dist)
        table = {"lkh": solvers.lkh, "ortools-gls-30s": lambda d: ortools_gls(d, 30.0)} if strong else methods(instance)
        for name, solve in table.items():
            began = time.perf_counter()
            tour = solve(dist)
            seconds.setdefault(name, []).append(time.perf_counter() - began)
            gaps.setdefault(name, []).append((heuristics.tour_length(dist, tour) / best - 1) * 100)
    return {name: (gaps[name], seconds[name]) for name in gaps}, label


def print_table(n: int, stats: dict, label: str) -> None:
    """One block per size: method, gap mean ± sd, paper's value where there is one, seconds."""
    print(f"\nn = {n}  (gap against {label})")
    print(f"{'method':20} {'gap % mean ± sd':>18} {'paper (± se)':>13} {'seconds':>9}")
    for name, (gaps, secs) in stats.items():
        sd = statistics.stdev(gaps) if len(gaps) > 1 else 0.0
        paper = ""
        if name in PAPER and n in PAPER_SIZES:
            paper = f"{PAPER[name][PAPER_SIZES.index(n)]:.1f}"
        print(f"{name:20} {statistics.mean(gaps):9.2f} ± {sd:6.2f} {paper:>13} {statistics.mean(secs):9.3f}")


def main() -> None:
    """Run the sizes asked for and print one table each."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 15, 20, 50, 200, 1000])
    parser.add_argument("--instances", type=int, default=5)
    parser.add_argument("--strong", action="store_true", help="compare LKH with OR-Tools GLS (30 s limit)")
    args = parser.parse_args()
    for n in args.sizes:
        stats, label = measure(n, args.instances, args.strong)
        print_table(n, stats, label)


if __name__ == "__main__":
    main()
