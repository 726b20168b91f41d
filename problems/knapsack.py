"""The 0/1 knapsack: choose items of the largest total value within a weight limit.

Random instances follow Pisinger's generators (uncorrelated, weakly and strongly correlated);
files use the common format of the standard benchmark sets: `n capacity`, then one `value weight`
line per item, and optionally a last line with the optimal 0/1 vector.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from llmopt.contract.evaluation import Evaluation
from llmopt.contract.problem import Option, Problem, digest
from llmopt.contract.spaces import Bits, Bitvector
from llmopt.core.direction import gap_pct
from llmopt.core.result import Result

KINDS = ("uncorrelated", "weakly", "strongly")
DP_CELLS = 200_000_000  # the exact dynamic programme keeps one byte per (item, capacity) cell
NAMED_ITEMS = 3  # items the feedback names: enough to act on, few enough to read


class KnapsackFileError(ValueError):
    """A knapsack file that does not follow the format; the message names file and line."""


@dataclass(frozen=True)
class Instance:
    """Values, weights, capacity, and the optimal selection when the file gives one."""

    values: tuple[float, ...]
    weights: tuple[float, ...]
    capacity: float
    name: str
    optimal: Bitvector | None = None


def random_instance(n: int, kind: str, seed: int, spread: int = 1000) -> Instance:
    """Pisinger's generators: weights uniform in [1, R]; values uncorrelated, weakly or strongly correlated."""
    if kind not in KINDS:
        raise ValueError(f"--kind must be one of {', '.join(KINDS)}")
    if n < 2:
        raise ValueError("--items must be at least 2")
    rng = np.random.default_rng(seed)
    weights = rng.integers(1, spread + 1, n)
    if kind == "uncorrelated":
        values = rng.integers(1, spread + 1, n)
    elif kind == "weakly":
        values = np.maximum(1, weights + rng.integers(-spread // 10, spread // 10 + 1, n))
    else:
        values = weights + spread // 10
    return Instance(
        tuple(float(v) for v in values),
        tuple(float(w) for w in weights),
        float(weights.sum() // 2),
        f"{kind}-{n}-seed{seed}",
    )


def read_instance(path: str | Path) -> Instance:
    """A knapsack file as its solvers read it: whitespace-separated numbers in order, any line breaks
    (LF or CRLF): n, the capacity, n (value, weight) pairs, then optionally n 0/1 values of an optimal
    selection. Every defect is a KnapsackFileError naming the file and line."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise KnapsackFileError(f"{path}: cannot read it ({error})") from None
    tokens = [(number, token) for number, line in enumerate(text.splitlines(), 1) for token in line.split()]
    if not tokens:
        raise KnapsackFileError(f"{path}: empty file")
    reader = _Tokens(path, tokens)
    n, capacity = reader.numbers(2, "n capacity")
    if not float(n).is_integer() or n < 1:
        raise KnapsackFileError(f"{path}:{tokens[0][0]}: the item count must be a positive integer, got {tokens[0][1]}")
    n = int(n)
    pairs = []
    for found in range(n):
        if reader.done:
            raise KnapsackFileError(f"{path}: {n} items announced, {found} found")
        pairs.append(reader.numbers(2, "value weight"))
    optimal = _optimal_values(reader, n)
    if optimal is not None and sum(w for (_, w), bit in zip(pairs, optimal) if bit) > capacity:
        raise KnapsackFileError(f"{path}:{reader.line}: the optimal selection given weighs more than the capacity")
    return Instance(tuple(p[0] for p in pairs), tuple(p[1] for p in pairs), capacity, path.stem, optimal)


class _Tokens:
    """The numbers of a file in order, each with its line, for messages that say where."""

    def __init__(self, path: Path, tokens: list[tuple[int, str]]) -> None:
        self.path, self.tokens, self.at = path, tokens, 0

    @property
    def done(self) -> bool:
        """Whether every number has been read."""
        return self.at >= len(self.tokens)

    @property
    def line(self) -> int:
        """The line of the last number read (or of the next one)."""
        return self.tokens[min(self.at, len(self.tokens)) - 1][0] if self.at else self.tokens[0][0]

    def numbers(self, count: int, what: str) -> list[float]:
        """The next `count` numbers, finite and not negative."""
        taken = self.tokens[self.at : self.at + count]
        self.at += count
        words = " ".join(token for _, token in taken)
        where = f"{self.path}:{taken[0][0] if taken else self.tokens[-1][0]}"
        if len(taken) < count:
            raise KnapsackFileError(f"{where}: expected '{what}', the file ends after {words!r}")
        try:
            numbers = [float(token) for _, token in taken]
        except ValueError:
            raise KnapsackFileError(f"{where}: expected numbers for '{what}', got {words!r}") from None
        if any(not np.isfinite(x) or x < 0 for x in numbers):
            raise KnapsackFileError(f"{where}: '{what}' must be finite and not negative")
        return numbers


def _optimal_values(reader: _Tokens, n: int) -> Bitvector | None:
    rest = reader.tokens[reader.at :]
    if not rest:
        return None
    if len(rest) != n or any(token not in ("0", "1") for _, token in rest):
        raise KnapsackFileError(
            f"{reader.path}:{rest[0][0]}: after the items only {n} 0/1 values (an optimal selection) may follow"
        )
    reader.at = len(reader.tokens)
    return tuple(int(token) for _, token in rest)


class Knapsack(Problem):
    """Maximise the total value of the chosen items; their total weight stays within the capacity (a
    constraint: a selection over capacity is scored, with its excess weight as the violation)."""

    gives_feedback = True  # every evaluation says why it scores as it does

    name = "knapsack"
    summary = "0/1 knapsack: choose items by bits (random Pisinger instances or standard files)"
    direction = "max"
    solution_label = "selection"
    value_label = "value"
    constrained = True  # the weight limit is a constraint, given with every evaluation
    ratio_words: ClassVar[str] = "value per weight"  # what the feedback ranks items by, in its own words
    options = (
        Option("--items", int, 20, "number of random items"),
        Option("--kind", str, "uncorrelated", "how values follow weights in a random instance", KINDS),
        Option("--instance-seed", int, 0, "seed of the random instance"),
        Option("--instance", str, None, "a knapsack file ('n capacity', then 'value weight' lines) instead"),
        Option("--optimum", float, None, "the known optimal value"),
    )

    def __init__(self, instance: Instance, *, optimum: float | None = None) -> None:
        self.instance, self.known_optimum = instance, optimum
        self.n = len(instance.values)
        self.space = Bits(self.n)
        self._values, self._weights = np.array(instance.values), np.array(instance.weights)

    @classmethod
    def from_options(
        cls,
        items: int = 20,
        kind: str = "uncorrelated",
        instance_seed: int = 0,
        instance: str | None = None,
        optimum: float | None = None,
    ) -> Knapsack:
        """A random instance, or the file given with --instance."""
        loaded = read_instance(instance) if instance else random_instance(items, kind, instance_seed)
        return cls(loaded, optimum=optimum)

    def config(self) -> dict[str, Any]:
        """What defines this instance."""
        return {
            "instance": self.instance.name,
            "items": self.n,
            "capacity": self.instance.capacity,
            "optimum": self.known_optimum,
        }

    def fingerprint(self) -> str:
        """The config plus the items themselves."""
        return super().fingerprint() + digest(repr((self.instance.values, self.instance.weights)))

    def describe(self) -> str:
        """The items as (value, weight) pairs and the capacity."""
        items = ", ".join(
            f"{i}: ({_short(v)}, {_short(w)})"
            for i, (v, w) in enumerate(zip(self.instance.values, self.instance.weights))
        )
        return (
            f"Help me fill a knapsack. There are {self.n} items, numbered 0 to {self.n - 1}, each with "
            f"(value, weight): {items}. The total weight of the chosen items must be at most "
            f"{_short(self.instance.capacity)}; the goal is the largest total value."
        )

    def format_hint(self) -> str:
        """One bit per item."""
        return (
            f"Give a new selection that differs from every selection above, fits in the knapsack and has a "
            f"higher value than all of them. Write one bit per item in item order (1 = take it, 0 = leave it), "
            f"{self.n} bits in all, between <bits> and </bits>, for example <bits>{'01' * 3}...</bits>."
        )

    def weight(self, selection: Bitvector) -> float:
        """Total weight of the selection."""
        return float(self._weights @ np.array(selection, dtype=float))

    def total_value(self, selection: Bitvector) -> float:
        """Total value of the selection, whatever it weighs."""
        return float(self._values @ np.array(selection, dtype=float))

    def evaluate(self, selection: Bitvector) -> Evaluation:
        """Total value; the weight over capacity as a constraint (> 0 is over), and feedback naming what to
        drop (over capacity) or what still fits."""
        over = self.weight(selection) - self.instance.capacity
        return Evaluation(self.total_value(selection), feedback=self.feedback(selection), constraints=(over,))

    def feedback(self, selection: Bitvector) -> str:
        """What a person would say: over capacity, by how much and the chosen items of least value per
        weight (the ones to drop); within it, the room left and the most valuable unchosen item that fits."""
        weight, capacity = self.weight(selection), self.instance.capacity
        chosen = [i for i, bit in enumerate(selection) if bit]
        if weight > capacity:
            return (
                f"Over capacity by {_short(weight - capacity)} (weight {_short(weight)} of {_short(capacity)}). "
                f"The chosen items of least {self.ratio_words}: {self._items(self._by_ratio(chosen))}."
            )
        room = capacity - weight
        fitting = [i for i, bit in enumerate(selection) if not bit and self.instance.weights[i] <= room]
        said = f"Weight {_short(weight)} of {_short(capacity)}, {_short(room)} to spare."
        if fitting:
            best = max(fitting, key=lambda i: (self.instance.values[i], -i))
            return f"{said} Item {self._items([best])} is not chosen and fits."
        if not chosen:
            return f"{said} No item fits."
        worst = self._items(self._by_ratio(chosen))
        return f"{said} No unchosen item fits; the chosen items of least {self.ratio_words}: {worst}."

    def _by_ratio(self, items: list[int]) -> list[int]:
        """The first `NAMED_ITEMS` of `items` by rising value per weight, the heavier first among equals."""
        values, weights = self.instance.values, self.instance.weights
        return sorted(items, key=lambda i: (values[i] / max(weights[i], 1e-12), -weights[i], i))[:NAMED_ITEMS]

    def _items(self, items: list[int]) -> str:
        """Items as the problem's description writes them: index: (value, weight)."""
        values, weights = self.instance.values, self.instance.weights
        return ", ".join(f"{i}: ({_short(values[i])}, {_short(weights[i])})" for i in items)

    def initial(self, rng: np.random.Generator, k: int) -> list[Bitvector]:
        """k random feasible selections: items in random order, each taken half the time when it fits."""
        return [self._random_fill(rng) for _ in range(k)]

    def _random_fill(self, rng: np.random.Generator) -> Bitvector:
        chosen, room = [0] * self.n, self.instance.capacity
        for i in rng.permutation(self.n):
            if rng.random() < 0.5 and self.instance.weights[i] <= room:
                chosen[int(i)], room = 1, room - self.instance.weights[i]
        return tuple(chosen)

    def references(self) -> dict[str, Callable[[], Bitvector]]:
        """Exact dynamic programming (integer weights, within memory) and the greedy value/weight ratio."""
        found: dict[str, Callable[[], Bitvector]] = {"greedy": self.greedy}
        if self._dp_fits:
            found["dynamic-programming"] = self.dynamic_programming  # solved again, so its time is its own
        return found

    def greedy(self) -> Bitvector:
        """Items by falling value/weight ratio, each taken when it still fits."""
        chosen, room = [0] * self.n, self.instance.capacity
        ratio = self._values / np.maximum(self._weights, 1e-12)
        for i in np.argsort(-ratio, kind="stable"):
            if self._weights[i] <= room:
                chosen[int(i)], room = 1, room - self._weights[i]
        return tuple(chosen)

    @property
    def _dp_fits(self) -> bool:
        integral = all(float(w).is_integer() for w in self.instance.weights)  # the capacity is floored
        return integral and self.n * (int(self.instance.capacity) + 1) <= DP_CELLS

    @cached_property
    def _exact(self) -> Bitvector:
        return self.dynamic_programming()

    def dynamic_programming(self) -> Bitvector:
        """The optimal selection: a dynamic programme over capacities, one bit per (item, capacity) cell."""
        capacity = int(self.instance.capacity)
        best = np.zeros(capacity + 1)
        taken = np.zeros((self.n, capacity + 1), dtype=bool)
        for i, (value, weight) in enumerate(zip(self._values, self._weights.astype(int))):
            if weight > capacity:
                continue
            candidate = best[: capacity + 1 - weight] + value
            improves = candidate > best[weight:]
            taken[i, weight:] = improves
            best[weight:] = np.where(improves, candidate, best[weight:])
        chosen, room = [0] * self.n, capacity
        for i in range(self.n - 1, -1, -1):
            if taken[i, room]:
                chosen[i], room = 1, room - int(self._weights[i])
        return tuple(chosen)

    def optimum(self) -> float | None:
        """--optimum, the file's optimal vector, or the exact dynamic programme's value."""
        if self.known_optimum is not None:
            return self.known_optimum
        if self.instance.optimal is not None:
            return self.total_value(self.instance.optimal)
        return self.total_value(self._exact) if self._dp_fits else None

    def extra_columns(self, result: Result) -> dict[str, Any]:
        """`gap_pct` against the optimum, when it is known."""
        gap = gap_pct(result.best_value, self.optimum(), "max")
        return {} if gap is None else {"gap_pct": gap}


def _short(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:g}"
