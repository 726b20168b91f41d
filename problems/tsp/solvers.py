"""Exact and near-exact TSP solvers: Held–Karp dynamic programming, an integer programme with subtour
constraints (scipy's HiGHS), and LKH."""

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


EXACT_MAX = 60


def subtour_milp(dist: np.ndarray) -> list[int]:
    """The optimal tour of a symmetric instance (n ≤ EXACT_MAX) as an integer programme solved by
    scipy's HiGHS: one 0/1 variable per edge, degree 2 at every city, and the subtour constraints
    of Dantzig, Fulkerson and Johnson added for each subtour the solution still has, until it has none."""
    import networkx as nx
    from scipy.optimize import Bounds, LinearConstraint, milp
    from scipy.sparse import lil_matrix

    n = dist.shape[0]
    if n > EXACT_MAX:
        raise ValueError(f"the exact integer programme is limited to {EXACT_MAX} cities, got {n}")
    if not np.array_equal(dist, dist.T):
        raise ValueError("the integer programme is for symmetric distances (one variable per city pair)")
    edges = [(i, j) for i in range(n) for j in range(i + 1, n)]
    cost = np.array([dist[i, j] for i, j in edges])
    degree = lil_matrix((n, len(edges)))
    for k, (i, j) in enumerate(edges):
        degree[i, k] = degree[j, k] = 1
    constraints = [LinearConstraint(degree.tocsr(), 2, 2)]
    while True:
        found = milp(
            cost,
            constraints=constraints,
            integrality=np.ones(len(edges)),
            bounds=Bounds(0, 1),
            options={"mip_rel_gap": 0.0},
        )
        if not found.success:
            raise RuntimeError(f"the integer programme failed: {found.message}")
        chosen = nx.Graph([edges[k] for k in np.flatnonzero(found.x > 0.5)])
        parts = [sorted(part) for part in nx.connected_components(chosen)]
        if len(parts) == 1:
            return [u for u, _ in nx.find_cycle(chosen, source=0)]
        for part in parts:  # at most |S| - 1 edges inside each subtour's cities
            inside = set(part)
            row = np.array([[1.0 if i in inside and j in inside else 0.0 for i, j in edges]])
            constraints.append(LinearConstraint(row, -np.inf, len(part) - 1))
