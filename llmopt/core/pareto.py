"""Several objectives, written once: which points dominate which, the non-dominated front, crowding distance,
the hypervolume a front dominates (computed by moocore) and the rule that derives a reference point.

A point is a sequence of objective values, one per direction ("min" or "max"). A front of no point has a
hypervolume of 0; a point that does not strictly dominate the reference point adds nothing to it.
"""

from __future__ import annotations

from collections.abc import Sequence

import moocore
import numpy as np

# A derived reference point lies this share of the observed range beyond the worst value of each objective
# (the "nadir plus 10 %" rule of the multi-objective benchmarking literature).
REFERENCE_MARGIN = 0.1


def losses(points: Sequence[Sequence[float]] | np.ndarray, directions: Sequence[str]) -> np.ndarray:
    """The points as an (n, m) array of values to minimise (a maximised objective negated)."""
    array = np.asarray(points, dtype=float).reshape(-1, len(directions))
    return array * np.array([1.0 if d == "min" else -1.0 for d in directions])


def dominates(a: Sequence[float], b: Sequence[float], directions: Sequence[str]) -> bool:
    """Whether a is at least as good as b in every objective and better in one."""
    la, lb = losses([a], directions)[0], losses([b], directions)[0]
    return bool(np.all(la <= lb) and np.any(la < lb))


def nondominated(points: Sequence[Sequence[float]] | np.ndarray, directions: Sequence[str]) -> np.ndarray:
    """A boolean mask of the points no other point dominates; of equal points, the first is kept."""
    array = losses(points, directions)
    if not len(array):
        return np.zeros(0, dtype=bool)
    mask = np.asarray(moocore.is_nondominated(array, keep_weakly=True), dtype=bool)
    _, first = np.unique(array, axis=0, return_index=True)
    kept = np.zeros(len(array), dtype=bool)
    kept[first] = True
    return mask & kept


def hypervolume(
    points: Sequence[Sequence[float]] | np.ndarray, reference: Sequence[float], directions: Sequence[str]
) -> float:
    """The volume the points dominate and the reference point bounds (moocore's exact algorithms)."""
    array = losses(points, directions)
    if not len(array):
        return 0.0
    return float(moocore.hypervolume(array, ref=losses([reference], directions)[0]))


def crowding_distance(points: Sequence[Sequence[float]] | np.ndarray) -> np.ndarray:
    """NSGA-II's crowding distance of each point of a front: the sum over objectives of the normalised gap
    between its two neighbours, infinite at the ends (a front of one or two points is all ends)."""
    array = np.asarray(points, dtype=float)
    n = len(array)
    distance = np.zeros(n)
    if n <= 2:
        return np.full(n, np.inf)
    for column in array.T:
        order = np.argsort(column, kind="stable")
        span = column[order[-1]] - column[order[0]]
        distance[order[0]] = distance[order[-1]] = np.inf
        if span > 0:
            distance[order[1:-1]] += (column[order[2:]] - column[order[:-2]]) / span
    return distance


def derived_reference(points: Sequence[Sequence[float]] | np.ndarray, directions: Sequence[str]) -> tuple[float, ...]:
    """The reference point derived from evaluated points: in each objective, the worst value plus 10 % of the
    range the points span (10 % of the worst value's size, or 1, where they span none)."""
    array = losses(points, directions)
    worst, best = array.max(axis=0), array.min(axis=0)
    span = worst - best
    span = np.where(span > 0, span, np.maximum(np.abs(worst), 1.0))
    loss = worst + REFERENCE_MARGIN * span
    return tuple(float(v) for v in losses([loss], directions)[0])


def sorted_front(points: Sequence[Sequence[float]] | np.ndarray, directions: Sequence[str]) -> np.ndarray:
    """The indices of the non-dominated points, sorted along the first objective (best first)."""
    mask = nondominated(points, directions)
    indices = np.flatnonzero(mask)
    first = losses(points, directions)[indices, 0] if len(indices) else np.zeros(0)
    return indices[np.argsort(first, kind="stable")]
