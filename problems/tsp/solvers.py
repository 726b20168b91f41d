"""Exact and near-exact TSP solvers: Held–Karp dynamic programming and LKH/OR-Tools."""

from __future__ import annotations

import numpy as np

from llmopt.problems.tsp.instance import is_integral

HELD_KARP_MAX = 13


def held_karp(dist: np.ndarray) -> list[int]:
    """The optimal tour by dynamic programming over subsets (n ≤ 13), vectorised per subset."""
    n = dist.shape[0]
    if n > HELD_KARP_MAX:
        raise ValueError(f"Held-Karp is limited to {HELD_KARP_MAX} cities, got {n}")
    m = n - 1  # cities 1..n-1, bit j stands for city j + 1
    full = 1 << m
    cost = np.full((full, m), np.inf)
    parent = np.full((full, m), -1, dtype=np.intp)
    for j in range(m):
        cost[1 << j, j] = dist[0, j + 1]
    inner = dist[1:, 1:]
    for mask in range(1, full):
        members = [j for j in range(m) if mask >> j & 1]
        if len(members) < 2:
            continue
        for j in members:
            prev = mask ^ (1 << j)
            candidates = cost[prev] + inner[:, j]
            k = int(np.argmin(candidates))
            cost[mask, j], parent[mask, j] = candidates[k], k
    last = int(np.argmin(cost[full - 1] + dist[1:, 0]))
    tour, mask = [], full - 1
    while last >= 0:
        tour.append(last + 1)
        mask, last = mask ^ (1 << last), parent[mask, last]
    return [0] + tour[::-1]


def lkh(dist: np.ndarray, runs: int = 3, scale: float = 1000.0) -> list[int]:
    """Helsgaun's LKH-3 through `elkai`; real distances are scaled to integers for it."""
    import elkai

    weights = dist if is_integral(dist) else np.rint(dist * scale)
    cycle = elkai.DistanceMatrix(weights.astype(np.int64).tolist()).solve_tsp(runs=runs)
    tour = [int(c) for c in cycle[:-1]]
    k = tour.index(0)
    return tour[k:] + tour[:k]
