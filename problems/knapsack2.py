"""The bi-objective 0/1 knapsack (MOKP): one weight per item, two profits per item, one capacity; maximise
both total profits. Random instances follow Zitzler and Thiele (1999): weights and profits uniform integers
in [10, 100], the capacity half the total weight."""

from __future__ import annotations

from collections.abc import Callable
from functools import cached_property
from typing import Any

import numpy as np

from llmopt.contract.evaluation import Evaluation
from llmopt.contract.problem import Option, digest
from llmopt.contract.spaces import Bitvector
from llmopt.core.pareto import hypervolume, nondominated
from llmopt.core.result import Result
from llmopt.problems.knapsack import Instance, Knapsack, _short

# The exact front is found by a dynamic programme over the items that keeps every (weight, profit 1, profit 2)
# no other selection beats; on Zitzler and Thiele's instances it takes 0.2 s at 50 items and 6 s at 100.
EXACT_MAX_ITEMS = 50
LOW, HIGH = 10, 100  # Zitzler and Thiele's range of weights and profits


def random_instance(n: int, seed: int) -> tuple[Instance, tuple[float, ...]]:
    """Zitzler and Thiele's instance of n items: the knapsack of weights and first profits, and the second
    profits."""
    if n < 2:
        raise ValueError("--items must be at least 2")
    weights, first, second = np.random.default_rng(seed).integers(LOW, HIGH + 1, (3, n)).astype(float)
    instance = Instance(
        tuple(first.tolist()), tuple(weights.tolist()), float(weights.sum() // 2), f"mokp-{n}-seed{seed}"
    )
    return instance, tuple(second.tolist())


class BiKnapsack(Knapsack):
    """Choose items to maximise both total profits; their total weight stays within the capacity (a
    constraint, as in the one-objective knapsack: a selection over capacity is scored with its excess weight as
    the violation). Measured against the reference point (0, 0), the empty knapsack's profits: every selection
    with a profit in both objectives counts.

    The knapsack's own machinery (random fills, weights, the feedback) works on the sum of the two profits:
    the feedback names the chosen items of least total profit per weight, and the unchosen one of most profit
    that fits."""

    name = "knapsack2"
    summary = "two objectives: the bi-objective 0/1 knapsack (two profits per item, Zitzler and Thiele's instances)"
    solution_label = "selection"
    value_label = "profits"
    ratio_words = "profit (both together) per weight"
    options = (
        Option("--items", int, 20, "number of random items"),
        Option("--instance-seed", int, 0, "seed of the random instance"),
    )

    def __init__(self, instance: Instance, second: tuple[float, ...]) -> None:
        if len(second) != len(instance.values):
            raise ValueError(f"{len(instance.values)} items but {len(second)} second profits")
        self.profits = np.array([instance.values, second])  # (2, n)
        summed = Instance(tuple(self.profits.sum(axis=0).tolist()), instance.weights, instance.capacity, instance.name)
        super().__init__(summed)
        self.directions, self.objective_labels, self.reference = ("max", "max"), ("profit1", "profit2"), (0.0, 0.0)

    @classmethod
    def from_options(cls, items: int = 20, instance_seed: int = 0) -> BiKnapsack:  # type: ignore[override]
        """A random instance of Zitzler and Thiele's kind."""
        return cls(*random_instance(items, instance_seed))

    def config(self) -> dict[str, Any]:
        """What defines this instance."""
        return {"instance": self.instance.name, "items": self.n, "capacity": self.instance.capacity}

    def fingerprint(self) -> str:
        """The config plus the items themselves."""
        return super().fingerprint() + digest(self.profits.tobytes())

    def describe(self) -> str:
        """The items as (profit 1, profit 2, weight) triples and the capacity."""
        return (
            f"Help me fill a knapsack. There are {self.n} items, numbered 0 to {self.n - 1}, each with "
            f"(profit1, profit2, weight): {self._items(list(range(self.n)))}. The total weight of the chosen items "
            f"must be at most {_short(self.instance.capacity)}. The objectives conflict: maximize the total "
            "profit1 and maximize the total profit2."
        )

    def format_hint(self) -> str:
        """One bit per item."""
        return (
            "Give a new selection that differs from every selection above, fits in the knapsack and is dominated "
            f"by none of them. Write one bit per item in item order (1 = take it, 0 = leave it), {self.n} bits in "
            f"all, between <bits> and </bits>, for example <bits>{'01' * 3}...</bits>."
        )

    def evaluate(self, selection: Bitvector) -> Evaluation:
        """Both total profits; the weight over capacity as a constraint (> 0 is over), and the knapsack's feedback."""
        profits = self.profits @ np.array(selection, dtype=float)
        over = self.weight(selection) - self.instance.capacity
        values = (float(profits[0]), float(profits[1]))
        return Evaluation(values=values, feedback=self.feedback(selection), constraints=(over,))

    def _items(self, items: list[int]) -> str:
        """Items as the description writes them: index: (profit 1, profit 2, weight)."""
        first, second, weights = self.profits[0], self.profits[1], self.instance.weights
        return ", ".join(f"{i}: ({_short(first[i])}, {_short(second[i])}, {_short(weights[i])})" for i in items)

    def references(self) -> dict[str, Callable[[], Bitvector]]:
        """None: the one-objective solvers find one selection, not a front."""
        return {}

    @cached_property
    def _front(self) -> np.ndarray | None:
        return exact_front(self.profits, np.array(self.instance.weights), self.instance.capacity)

    def true_front(self) -> np.ndarray | None:
        """The exact front's profits, (n, 2) sorted by the first, up to `EXACT_MAX_ITEMS` items."""
        return None if self.n > EXACT_MAX_ITEMS else self._front

    def optimum(self) -> float | None:
        """The exact front's hypervolume against (0, 0), up to `EXACT_MAX_ITEMS` items."""
        front = self.true_front()
        return None if front is None else hypervolume(front, (0.0, 0.0), ("max", "max"))

    def extra_columns(self, result: Result) -> dict[str, Any]:
        """None: the hypervolume is the measure."""
        return {}


def exact_front(profits: np.ndarray, weights: np.ndarray, capacity: float) -> np.ndarray:
    """The Pareto front of a bi-objective knapsack, exactly: a dynamic programme over the items that keeps, after
    each, the (weight, profit 1, profit 2) of every selection within capacity that no other beats (lighter or
    equal, and as profitable in both), then the profits no kept selection dominates, sorted by profit 1."""
    states = np.zeros((1, 3))
    for item in np.column_stack([weights, profits.T]):
        grown = states + item
        states = np.vstack([states, grown[grown[:, 0] <= capacity]])
        states = states[nondominated(states, ("min", "max", "max"))]
    front = states[nondominated(states[:, 1:], ("max", "max")), 1:]
    return front[np.argsort(front[:, 0], kind="stable")]
