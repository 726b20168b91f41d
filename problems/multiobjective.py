"""Test problems with several objectives and known Pareto fronts (Zitzler, Deb and Thiele's ZDT suite)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from llmopt.contract.problem import Option, Problem, digest
from llmopt.problems.numeric import NumericProblem


def zdt1(x: np.ndarray) -> tuple[float, float]:
    """ZDT1: f1 = x1, f2 = g (1 - sqrt(f1 / g)) with g = 1 + 9 mean(x2..xn); front f2 = 1 - sqrt(f1)."""
    g = 1.0 + 9.0 * float(np.mean(x[1:])) if x.size > 1 else 1.0
    return float(x[0]), float(g * (1.0 - np.sqrt(x[0] / g)))


class Zdt1(NumericProblem):
    """ZDT1 on [0, 1]^n (n = 30 by default, as the suite defines it), both objectives minimised, measured
    against the reference point (11, 11) (BoTorch's for the ZDT problems)."""

    name = "zdt1"
    summary = "two objectives: ZDT1 on [0, 1]^n, a convex Pareto front f2 = 1 - sqrt(f1)"
    options = (Option("--dim", int, 30, "number of variables (2 or more)"),)
    REFERENCE: ClassVar[tuple[float, float]] = (11.0, 11.0)

    def __init__(self, dim: int = 30) -> None:
        if dim < 2:
            raise ValueError(f"--dim must be 2 or more, got {dim}")
        super().__init__(zdt1, [(0.0, 1.0)] * dim, label=self.name, directions=("min", "min"), reference=self.REFERENCE)
        self.objective_labels = ("f1", "f2")

    @classmethod
    def from_options(cls, **kwargs: Any) -> Zdt1:
        """Build from --dim."""
        return cls(**kwargs)

    def true_front(self) -> np.ndarray:
        """1,001 points of the true front."""
        f1 = np.linspace(0.0, 1.0, 1001)
        return np.column_stack([f1, 1.0 - np.sqrt(f1)])

    def optimum(self) -> float:
        """The true front's hypervolume against (11, 11), exactly: 10 x 11 beyond f1 = 1, plus the integral
        of 11 - (1 - sqrt(f1)) over [0, 1], which is 10 + 2/3."""
        return 110.0 + 10.0 + 2.0 / 3.0

    def fingerprint(self) -> str:
        """The config and this module's code."""
        return Problem.fingerprint(self) + digest(Path(__file__).read_bytes())
