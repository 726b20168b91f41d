"""What the model-driven methods read of a history with several objectives, written once: the feasible Pareto
front sorted along the first objective, the least dominated of the rest, a front cut to a budget by crowding
distance, its widest gap, and a solution's values as the prompts show them (pure functions).

"Least dominated" is Deb's rules for fronts: feasible solutions first, by their non-dominated sorting level
(moocore's `pareto_rank`; the front is level 0), the most recent first within a level; then the infeasible
ones by their total violation.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import moocore
import numpy as np

from llmopt.core.feasibility import feasible, violation
from llmopt.core.pareto import crowding_distance, losses, sorted_front
from llmopt.engine.proposer import Seen


def directions_of(problem: Any) -> tuple[str, ...] | None:
    """The problem's directions when it has several objectives, else None (one objective)."""
    directions = getattr(problem, "directions", None)
    return tuple(directions) if directions is not None and len(directions) > 1 else None


def points_of(items: Sequence[Seen]) -> list[tuple[float, ...]]:
    """The values of scored solutions, as points."""
    return [item.values for item in items if item.values is not None]


def split_front(seen: Sequence[Seen], directions: Sequence[str]) -> tuple[list[Seen], list[Seen]]:
    """(the feasible front sorted along the first objective, best first; the rest, least dominated first).
    Solutions without values (none scored) take part in neither."""
    scored = [item for item in seen if item.values is not None]
    good = [item for item in scored if feasible(item.constraints)]
    bad = sorted(
        (i for i, item in enumerate(scored) if not feasible(item.constraints)),
        key=lambda i: (violation(scored[i].constraints), -i),
    )
    if not good:
        return [], [scored[i] for i in bad]
    points = points_of(good)
    order = [int(i) for i in sorted_front(points, directions)]
    level = moocore.pareto_rank(losses(points, directions))
    rest = sorted((i for i in range(len(good)) if i not in set(order)), key=lambda i: (int(level[i]), -i))
    return [good[i] for i in order], [good[i] for i in rest] + [scored[i] for i in bad]


def thinned(front: Sequence[Seen], budget: int) -> list[Seen]:
    """At most `budget` members of a front (sorted along the first objective), in its order: all of them, or
    those of the largest crowding distance (its ends first; of equal distances, the earlier)."""
    if len(front) <= budget:
        return list(front)
    distance = crowding_distance(points_of(front))
    kept = sorted(np.argsort(-distance, kind="stable")[: max(budget, 0)])
    return [front[i] for i in kept]


def widest_gap(points: Sequence[Sequence[float]] | np.ndarray) -> tuple[int, int] | None:
    """The neighbours (i, i + 1) of a front sorted along the first objective that lie farthest apart, each
    objective scaled by the front's range in it (the first such pair of equal gaps); None for fewer than two."""
    array = np.asarray(points, dtype=float)
    if len(array) < 2:
        return None
    span = array.max(axis=0) - array.min(axis=0)
    scaled = array / np.where(span > 0, span, 1.0)
    gaps = np.linalg.norm(np.diff(scaled, axis=0), axis=1)
    first = int(np.argmax(gaps))
    return first, first + 1


def values_text(labels: Sequence[str], values: Sequence[float], show: Any) -> str:
    """A solution's values as one phrase, "f1 = 0.2, f2 = 0.55" (each number written by `show`)."""
    return ", ".join(f"{label} = {show(value)}" for label, value in zip(labels, values))


def goals_text(labels: Sequence[str], directions: Sequence[str]) -> str:
    """What is better in each objective, as one phrase: "a lower f1 and a lower f2 are better"."""
    each = [f"a {'lower' if d == 'min' else 'higher'} {label}" for label, d in zip(labels, directions)]
    return f"{', '.join(each[:-1])} and {each[-1]} are better"
