"""Linear regression as in the OPRO paper: find (w, b) minimising squared error on noisy data."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from functools import cached_property
from typing import Any

import numpy as np

from llmopt.contract.evaluation import Evaluation
from llmopt.contract.problem import Option, Problem
from llmopt.contract.spaces import Box

Pair = tuple[float, float]


class LinearRegression(Problem):
    """Minimise sum of (y - (w·x + b))² over x = 1..n, with y drawn from a noisy true line."""

    gives_feedback = True  # every evaluation says why it scores as it does

    name = "linear-regression"
    summary = "fit y = w·x + b to noisy points by proposing (w, b) pairs (the paper's task)"
    direction = "min"
    solution_label = "(w, b) pair"
    value_label = "loss"
    # the (w, b) pairs of the paper's Table 2
    paper_grid = {
        f"w={w},b={b}": {"w_true": float(w), "b_true": float(b)}
        for w, b in ((15, 14), (17, 17), (16, 10), (3, 5), (25, 23), (2, 30), (36, -1))
    }
    options = (
        Option("--w-true", float, 15.0, "true slope of the data"),
        Option("--b-true", float, 14.0, "true intercept of the data"),
        Option("--points", int, 50, "number of data points, x = 1..N"),
        Option("--noise", float, 1.0, "standard deviation of the Gaussian noise"),
        Option("--data-seed", int, 0, "seed of the data noise"),
        Option("--real-valued", bool, False, "allow real (w, b) instead of integers"),
        Option("--bound", float, 100.0, "w and b lie in [-BOUND, BOUND], the box every method searches"),
    )

    def __init__(
        self,
        w_true: float = 15.0,
        b_true: float = 14.0,
        points: int = 50,
        noise: float = 1.0,
        data_seed: int = 0,
        real_valued: bool = False,
        bound: float = 100.0,
    ) -> None:
        if points < 2:
            raise ValueError("--points must be at least 2")
        if noise < 0 or not math.isfinite(noise):
            raise ValueError("--noise must be a finite number >= 0")
        self.w_true, self.b_true, self.points, self.noise = w_true, b_true, points, noise
        for flag, value in (("--w-true", w_true), ("--b-true", b_true), ("--bound", bound)):
            if not math.isfinite(value):
                raise ValueError(f"{flag} must be a finite number, got {value}")
        if not max(abs(w_true), abs(b_true)) < bound:
            raise ValueError("--bound must exceed |w_true| and |b_true|")
        self.data_seed, self.real_valued, self.bound = data_seed, real_valued, bound
        self.space = Box(((-bound, bound), (-bound, bound)), integer=not real_valued, names=("w", "b"))
        rng = np.random.default_rng(data_seed)
        self.x = np.arange(1, points + 1, dtype=float)
        self.y = w_true * self.x + b_true + rng.normal(0.0, noise, points)

    def config(self) -> dict[str, Any]:
        """The options that define this instance."""
        return {
            "w_true": self.w_true,
            "b_true": self.b_true,
            "points": self.points,
            "noise": self.noise,
            "data_seed": self.data_seed,
            "real_valued": self.real_valued,
            "bound": self.bound,
        }

    def describe(self) -> str:
        """Problem statement for the meta-prompt."""
        kind = "real numbers" if self.real_valued else "integers"
        return (
            "Help me minimize a loss function of two inputs, w and b, which are "
            f"{kind} between {-self.bound:g} and {self.bound:g}. I will show you (w, b) pairs I have "
            "tried and the loss at each."
        )

    def format_hint(self) -> str:
        """Answer format for the meta-prompt."""
        kind = "real numbers" if self.real_valued else "integers"
        return (
            "Propose a new (w, b) pair that differs from every pair above and has a lower loss "
            f"than all of them. Do not write code. End your answer with the pair as [w, b], "
            f"where w and b are {kind}."
        )

    def loss(self, solution: Pair) -> float:
        """Sum of squared residuals."""
        w, b = solution
        residual = self.y - (w * self.x + b)
        return float(residual @ residual)

    def evaluate(self, solution: Pair) -> Evaluation:
        """Sum of squared residuals, and feedback on where the line lies against the data."""
        return Evaluation(self.loss(solution), feedback=self.feedback(solution))

    def feedback(self, solution: Pair) -> str:
        """Where the line y = w·x + b lies against the data at small x and at large x: above or below it
        by the mean residual over the lower and the upper half of the points."""
        w, b = solution
        residual = self.y - (w * self.x + b)
        half = self.points // 2
        low, high = (f"{_number(x[0])} to {_number(x[-1])}" for x in (self.x[:half], self.x[half:]))
        return f"At small x (x = {low}) {_side(residual[:half])}; at large x (x = {high}) {_side(residual[half:])}."

    def initial(self, rng: np.random.Generator, k: int) -> list[Pair]:
        """k pairs drawn uniformly from [10, 20], as in the paper."""
        if self.real_valued:
            return [tuple(round(float(v), 2) for v in rng.uniform(10, 20, 2)) for _ in range(k)]
        return [tuple(int(v) for v in rng.integers(10, 21, 2)) for _ in range(k)]

    @cached_property
    def _least_squares(self) -> Pair:
        A = np.column_stack([self.x, np.ones_like(self.x)])
        (w, b), *_ = np.linalg.lstsq(A, self.y, rcond=None)
        if self.real_valued:
            return (float(w), float(b))
        return self._integer_minimiser(float(w))

    def least_squares(self) -> Pair:
        """The exact minimiser over the solution space (integer lattice unless real-valued)."""
        return self._least_squares

    def _integer_minimiser(self, w_star: float) -> Pair:
        # min over b of the loss is L* + Sxx·(w - w*)², a lower bound for every integer b; so walk
        # integer w outward from w* and stop once that bound exceeds the best integer loss.
        sxx = float(((self.x - self.x.mean()) ** 2).sum())
        loss_star = self.loss((w_star, float(np.mean(self.y - w_star * self.x))))
        best_loss, best = math.inf, (0, 0)
        for w in _integers_by_distance(w_star):
            if loss_star + sxx * (w - w_star) ** 2 > best_loss:
                return best
            b_vertex = float(np.mean(self.y - w * self.x))
            for b in (math.floor(b_vertex), math.ceil(b_vertex)):
                loss = self.loss((w, b))
                if loss < best_loss:
                    best_loss, best = loss, (w, b)
        raise AssertionError("unreachable")

    def optimum(self) -> float:
        """Loss at the exact least-squares solution."""
        return self.loss(self.least_squares())

    def references(self) -> dict[str, Callable[[], Pair]]:
        """Exact least squares on the solution space (it reads the data, so it is no black box)."""
        return {"least-squares": self.least_squares}


def _integers_by_distance(center: float) -> Iterator[int]:
    """Integers in order of distance from `center`."""
    low, high = math.floor(center), math.floor(center) + 1
    while True:
        if center - low <= high - center:
            yield low
            low -= 1
        else:
            yield high
            high += 1


def _side(residual: np.ndarray) -> str:
    """Whether the line lies above or below these points, by their mean residual (data - line)."""
    mean = float(residual.mean())
    if abs(mean) < 0.005:  # what two decimals would show as 0
        return "the line runs through the data on average"
    return f"the line is {'below' if mean > 0 else 'above'} the data by {abs(mean):.2f} on average"


def _number(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:g}"
