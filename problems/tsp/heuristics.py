"""Classical TSP heuristics on a distance matrix; every tour starts at city 0."""

from __future__ import annotations

from collections import deque
from typing import Any

import numpy as np

from llmopt.problems.tsp.instance import tour_length  # noqa: F401  (callers measure tours beside the heuristics)

EPS = 1e-9
MOVES_CHUNK = 256  # rows of the edge-pair table computed at once, so memory grows with n, not n²


def nearest_neighbour(dist: np.ndarray, start: int = 0) -> list[int]:
    """Always go to the closest unvisited city."""
    n = dist.shape[0]
    visited = np.zeros(n, dtype=bool)
    tour = [start]
    visited[start] = True
    for _ in range(n - 1):
        row = np.where(visited, np.inf, dist[tour[-1]])
        nxt = int(np.argmin(row))
        tour.append(nxt)
        visited[nxt] = True
    return tour


def farthest_insertion(dist: np.ndarray, start: int = 0) -> list[int]:
    """Insert the city farthest from the tour where it adds the least length."""
    n = dist.shape[0]
    first = int(np.argmax(dist[start]))
    tour = [start, first]
    in_tour = np.zeros(n, dtype=bool)
    in_tour[[start, first]] = True
    gap = np.minimum(dist[start], dist[first])
    for _ in range(n - 2):
        city = int(np.argmax(np.where(in_tour, -np.inf, gap)))
        order = np.array(tour)
        nxt = np.roll(order, -1)
        cost = dist[order, city] + dist[city, nxt] - dist[order, nxt]
        tour.insert(int(np.argmin(cost)) + 1, city)
        in_tour[city] = True
        gap = np.minimum(gap, dist[city])
    return rotate_to_start(tour, start)


def _graph(dist: np.ndarray) -> Any:
    import networkx as nx

    graph = nx.Graph()
    n = dist.shape[0]
    rows, cols = np.triu_indices(n, 1)
    graph.add_weighted_edges_from(zip(rows.tolist(), cols.tolist(), dist[rows, cols].tolist()))
    return graph


def greedy(dist: np.ndarray) -> list[int]:
    """The greedy edge heuristic: take the shortest edges that keep degrees ≤ 2 and close no early cycle.

    (networkx's `greedy_tsp` is nearest neighbour under another name, so this one is our own.)
    """
    n = dist.shape[0]
    rows, cols = np.triu_indices(n, 1)
    order = np.argsort(dist[rows, cols], kind="stable")
    degree = np.zeros(n, dtype=np.intp)
    root = list(range(n))

    def find(x: int) -> int:
        while root[x] != x:
            root[x] = root[root[x]]
            x = root[x]
        return x

    neighbours: list[list[int]] = [[] for _ in range(n)]
    added = 0
    for k in order:
        i, j = int(rows[k]), int(cols[k])
        if degree[i] == 2 or degree[j] == 2 or find(i) == find(j):
            continue
        root[find(i)] = find(j)
        degree[i] += 1
        degree[j] += 1
        neighbours[i].append(j)
        neighbours[j].append(i)
        added += 1
        if added == n - 1:
            break
    return _walk_path(neighbours)


def _walk_path(neighbours: list[list[int]]) -> list[int]:
    """Cities of a Hamiltonian path given as adjacency lists, closed into a tour from city 0."""
    start = next(i for i, adj in enumerate(neighbours) if len(adj) == 1)
    path, prev = [start], -1
    while len(path) < len(neighbours):
        nxt = next(c for c in neighbours[path[-1]] if c != prev)
        prev = path[-1]
        path.append(nxt)
    return rotate_to_start(path, 0)


def christofides(dist: np.ndarray) -> list[int]:
    """networkx's Christofides 1.5-approximation (needs a metric instance)."""
    from networkx.algorithms import approximation

    cycle = approximation.christofides(_graph(dist))
    return rotate_to_start(cycle[:-1], 0)


def rotate_to_start(tour: list[int] | np.ndarray, start: int = 0) -> list[int]:
    """The same cycle, written from `start`."""
    order = [int(c) for c in tour]
    k = order.index(start)
    return order[k:] + order[:k]


def two_opt_moves(
    dist: np.ndarray, tour: tuple[int, ...] | list[int], k: int
) -> tuple[int, list[tuple[float, tuple[int, int, int, int]]]]:
    """How many 2-opt moves shorten the closed tour, and the k that save most, each as (saving, (a, b, c, d)):
    edges a-b and c-d, in tour order, reconnected as a-c and b-d (ties in tour order)."""
    order = np.asarray(tour, dtype=np.intp)
    n, nxt = len(order), np.roll(order, -1)
    edge, later = dist[order, nxt], np.arange(n)
    count, best = 0, np.empty((0, 3))  # rows of (-saving, i, j), the k best so far
    for low in range(0, n, MOVES_CHUNK):
        rows = np.arange(low, min(low + MOVES_CHUNK, n))
        saving = edge[rows, None] + edge[None, :] - dist[np.ix_(order[rows], order)] - dist[np.ix_(nxt[rows], nxt)]
        apart = (later[None, :] >= rows[:, None] + 2) & ~((rows[:, None] == 0) & (later[None, :] == n - 1))
        i, j = np.nonzero(apart & (saving > EPS))
        count += len(i)
        if len(i) > k:  # only the k largest savings (and any tied with the k-th) can be among the best
            cut = np.partition(saving[i, j], len(i) - k)[len(i) - k]
            i, j = i[saving[i, j] >= cut], j[saving[i, j] >= cut]
        found = np.vstack([best, np.column_stack([-saving[i, j], rows[i], j])])
        best = found[np.lexsort((found[:, 2], found[:, 1], found[:, 0]))][:k]
    pairs = [(-cost, int(i), int(j)) for cost, i, j in best.tolist()]
    return count, [(saving, (int(order[i]), int(nxt[i]), int(order[j]), int(nxt[j]))) for saving, i, j in pairs]


def _two_opt_at(dist: np.ndarray, order: np.ndarray, i: int) -> tuple[int, ...] | None:
    """Best 2-opt move that removes edge i (order[i] → order[i+1]); applies it, returns touched cities."""
    n = len(order)
    a, b = order[i], order[(i + 1) % n]
    nxt = np.roll(order, -1)
    delta = dist[a, order] + dist[b, nxt] - dist[a, b] - dist[order, nxt]
    delta[i] = np.inf
    j = int(np.argmin(delta))
    if delta[j] >= -EPS:
        return None
    lo, hi = min(i, j), max(i, j)
    touched = (a, b, order[j], nxt[j])
    order[lo + 1 : hi + 1] = order[lo + 1 : hi + 1][::-1].copy()  # position 0 never moves
    return touched


def _or_opt_at(dist: np.ndarray, order: np.ndarray, start: int, length: int) -> np.ndarray | None:
    """Best move of the segment order[start:start+length] elsewhere, either way round, or None."""
    n = len(order)
    if start < 1 or start + length > n or n - length < 3:
        return None
    seg = order[start : start + length]
    prev, nxt = order[start - 1], order[(start + length) % n]
    gain = dist[prev, seg[0]] + dist[seg[-1], nxt] - dist[prev, nxt]
    rest = np.concatenate([order[:start], order[start + length :]])
    p, q = rest, np.roll(rest, -1)
    forward = dist[p, seg[0]] + dist[seg[-1], q] - dist[p, q]
    backward = dist[p, seg[-1]] + dist[seg[0], q] - dist[p, q]
    best_f, best_b = int(np.argmin(forward)), int(np.argmin(backward))
    flip = backward[best_b] < forward[best_f]
    k, cost = (best_b, backward[best_b]) if flip else (best_f, forward[best_f])
    if cost - gain >= -EPS:
        return None
    moved = np.concatenate([rest[: k + 1], seg[::-1] if flip else seg, rest[k + 1 :]])
    return np.roll(moved, -int(np.flatnonzero(moved == order[0])[0]))


def local_search(dist: np.ndarray, tour: list[int], active: list[int] | None = None) -> list[int]:
    """2-opt and Or-opt (segments of 1–3) around 'active' cities until none improves (don't-look bits)."""
    order = np.array(tour, dtype=np.intp)
    queue = deque(order.tolist() if active is None else active)
    queued = set(queue)
    while queue:
        city = queue.popleft()
        queued.discard(city)
        touched = _improve_around(dist, order, city)
        if touched is None:
            continue
        order, cities = touched
        for c in cities:
            if c not in queued:
                queue.append(c)
                queued.add(c)
    return [int(c) for c in order]


def _improve_around(dist: np.ndarray, order: np.ndarray, city: int) -> tuple[np.ndarray, list[int]] | None:
    n = len(order)
    i = int(np.flatnonzero(order == city)[0])
    for edge in (i, (i - 1) % n):
        touched = _two_opt_at(dist, order, edge)
        if touched is not None:
            return order, [int(c) for c in touched]
    for length in (1, 2, 3):
        moved = _or_opt_at(dist, order, i, length)
        if moved is not None:
            ends = [order[i - 1], order[(i + length) % n], *order[i : i + length]]
            return moved, [int(c) for c in ends]
    return None


def double_bridge(tour: list[int], rng: np.random.Generator, window: int = 100) -> list[int]:
    """The classic 4-opt kick, its three cuts within `window` positions; city 0 stays first."""
    n = len(tour)
    span = min(window, n - 1)
    low = int(rng.integers(1, n - span + 1))
    a, b, c = sorted(rng.choice(np.arange(low, low + span), size=3, replace=False).tolist())
    return tour[:a] + tour[b:c] + tour[a:b] + tour[c:]


def _kick_ends(tour: list[int], kicked: list[int]) -> list[int]:
    n = len(tour)
    changed = {i for i in range(n) if kicked[i] != tour[i]}
    return sorted({kicked[j] for i in changed for j in (i - 1, i, (i + 1) % n)})


def iterated_local_search(dist: np.ndarray, tour: list[int], *, kicks: int, seed: int = 0) -> list[int]:
    """2-opt + Or-opt, then double-bridge kicks kept when they lead to a shorter tour.

    It stops after `kicks` kicks or 2n + 100 kicks without improvement, never on a clock, so the
    same seed gives the same tour on any machine.
    """
    rng = np.random.default_rng(seed)
    best = local_search(dist, tour)
    best_length = tour_length(dist, best)
    patience, since_best = 2 * len(tour) + 100, 0
    for _ in range(kicks if len(tour) >= 8 else 0):
        if since_best > patience:
            break
        since_best += 1
        kicked = double_bridge(best, rng)
        candidate = local_search(dist, kicked, active=_kick_ends(best, kicked))
        length = tour_length(dist, candidate)
        if length < best_length - EPS:
            best, best_length, since_best = candidate, length, 0
    return best
