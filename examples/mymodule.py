"""Example objectives for `llmopt run function` (run the commands from this folder)."""

import numpy as np

WEIGHTS = np.array([4, 7, 1, 9, 3, 8, 2, 6, 5, 7, 3, 4, 8, 2, 6, 1])
VALUES = np.array([5, 9, 2, 10, 4, 9, 1, 7, 6, 8, 3, 5, 9, 2, 7, 1])


def pick(bits: np.ndarray) -> float:
    """A 16-item knapsack to maximise (--maximize): the value of the items picked; over capacity 30 it is
    infeasible."""
    if WEIGHTS @ bits > 30:
        from llmopt import InvalidSolution

        raise InvalidSolution("over capacity")
    return float(VALUES @ bits)


def schedule(order: np.ndarray) -> float:
    """Total completion time of 8 jobs run in this order (shortest first is optimal)."""
    durations = np.array([3, 1, 4, 1, 5, 9, 2, 6])
    return float(np.cumsum(durations[order]).sum())


def loss(x: np.ndarray) -> float:
    """A bowl with its minimum 0 at (1, 3)."""
    return float((x[0] - 1) ** 2 + (x[1] - 3) ** 2)


def slow(x: np.ndarray) -> float:
    """The bowl of `loss` as an expensive objective: half a second per evaluation, as a simulation takes."""
    import time

    time.sleep(0.5)
    return loss(x)
