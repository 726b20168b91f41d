"""Test problems with several objectives and known Pareto fronts: Zitzler, Deb and Thiele's ZDT1-3 and Deb,
Thiele, Laumanns and Zitzler's DTLZ2, each measured against a stated reference point."""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from llmopt.contract.problem import Option, Problem, digest
from llmopt.contract.spaces import DECIMALS
from llmopt.core.pareto import hypervolume, nondominated
from llmopt.problems.numeric import NumericProblem

# BoTorch's reference point for the ZDT problems: far enough that every point with x1 in [0, 1] and g <= 10
# (the whole box) falls inside it, so every evaluated point counts.
ZDT_REFERENCE = (11.0, 11.0)
# ZDT3's front is measured on this many samples of f1 (its disconnected front has no closed-form hypervolume);
# the sampled front's staircase lies below the true one by less than 1e-5 (measured against 10 times as many).
ZDT3_SAMPLES = 200_001
# A true front returned for plots holds about this many points.
FRONT_POINTS = 1001


SHIFT_HELP = (
    "a seed: move the Pareto set's distance variables from the box's edge (or centre) to a random inner point, "
    "so that a proposer that writes round numbers or zeros gains nothing by it; unmoved by default"
)


class MovedSet:
    """f with its Pareto set moved: each distance variable x_i (from `first` on) enters f as the value where
    f's own set lies (`at`: 0 for ZDT, 0.5 for DTLZ2) plus its distance |x_i - s_i| to the moved place s_i,
    scaled to reach the box's far side; the front, its hypervolume and the range of f stay the same."""

    def __init__(self, fun: Callable[[np.ndarray], tuple[float, ...]], places: np.ndarray, first: int, at: float):
        self.fun, self.places, self.first, self.at = fun, places, first, at

    def __call__(self, x: np.ndarray) -> tuple[float, ...]:
        moved = np.array(x, dtype=float)
        distance = np.abs(moved[self.first :] - self.places) / np.maximum(self.places, 1.0 - self.places)
        moved[self.first :] = self.at + (1.0 - self.at) * distance
        return self.fun(moved)

    def __repr__(self) -> str:
        return f"{self.fun!r} moved to {self.places.tolist()}"


def moved_set(fun: Callable[[np.ndarray], Any], dim: int, first: int, at: float, seed: int) -> MovedSet:
    """`fun` with its distance variables' best place drawn at random in [0.1, 0.9], on the box's 4-decimal grid."""
    places = np.round(np.random.default_rng(seed).uniform(0.1, 0.9, dim - first), DECIMALS)
    return MovedSet(fun, places, first, at)


def _g(x: np.ndarray) -> float:
    """ZDT's distance function: 1 on the front (x2..xn = 0), up to 10 at the far corner of the box."""
    return 1.0 + 9.0 * float(np.mean(x[1:])) if x.size > 1 else 1.0


def zdt1(x: np.ndarray) -> tuple[float, float]:
    """ZDT1: f1 = x1, f2 = g (1 - sqrt(f1 / g)) with g = 1 + 9 mean(x2..xn); front f2 = 1 - sqrt(f1)."""
    g = _g(x)
    return float(x[0]), float(g * (1.0 - np.sqrt(x[0] / g)))


def zdt2(x: np.ndarray) -> tuple[float, float]:
    """ZDT2: f1 = x1, f2 = g (1 - (f1 / g)^2); a concave front f2 = 1 - f1^2."""
    g = _g(x)
    return float(x[0]), float(g * (1.0 - (x[0] / g) ** 2))


def zdt3(x: np.ndarray) -> tuple[float, float]:
    """ZDT3: f1 = x1, f2 = g (1 - sqrt(f1 / g) - (f1 / g) sin(10 pi f1)); a front of five disconnected pieces."""
    g = _g(x)
    return float(x[0]), float(g * (1.0 - np.sqrt(x[0] / g) - x[0] / g * np.sin(10.0 * np.pi * x[0])))


def zdt3_curve(f1: np.ndarray) -> np.ndarray:
    """f2 of ZDT3 at g = 1, where the front lies (only its non-dominated stretches are on it)."""
    return 1.0 - np.sqrt(f1) - f1 * np.sin(10.0 * np.pi * f1)


@cache
def zdt3_front(samples: int) -> np.ndarray:
    """The standard construction of ZDT3's front: `samples` values of f1 on [0, 1], f2 on the curve, and of
    these the non-dominated ones."""
    f1 = np.linspace(0.0, 1.0, samples)
    points = np.column_stack([f1, zdt3_curve(f1)])
    return points[nondominated(points, ("min", "min"))]


@cache
def zdt3_hypervolume(reference: tuple[float, float]) -> float:
    """The hypervolume of ZDT3's sampled front against `reference` (computed once: it takes a tenth of a second)."""
    return hypervolume(zdt3_front(ZDT3_SAMPLES), reference, ("min", "min"))


class _Zdt(NumericProblem):
    """A ZDT problem on [0, 1]^n (n = 30 by default, as the suite defines it), both objectives minimised,
    measured against the reference point (11, 11) (BoTorch's for the ZDT problems)."""

    name: ClassVar[str]
    summary: ClassVar[str]
    options = (Option("--dim", int, 30, "number of variables (2 or more)"), Option("--shift", int, None, SHIFT_HELP))
    REFERENCE: ClassVar[tuple[float, float]] = ZDT_REFERENCE
    function: ClassVar[Callable[[np.ndarray], tuple[float, float]]]

    def __init__(self, dim: int = 30, shift: int | None = None) -> None:
        if dim < 2:
            raise ValueError(f"--dim must be 2 or more, got {dim}")
        fun: Callable[[np.ndarray], Any] = type(self).function
        fun = fun if shift is None else moved_set(fun, dim, 1, 0.0, shift)
        super().__init__(fun, [(0.0, 1.0)] * dim, label=self.name, directions=("min", "min"), reference=self.REFERENCE)
        self.objective_labels, self.shift = ("f1", "f2"), shift

    def config(self) -> dict[str, Any]:
        """The box and objectives, and the shift's seed when there is one."""
        return {**super().config(), **({"shift": self.shift} if self.shift is not None else {})}

    @classmethod
    def from_options(cls, **kwargs: Any) -> _Zdt:
        """Build from --dim."""
        return cls(**kwargs)

    def fingerprint(self) -> str:
        """The config and this module's code."""
        return Problem.fingerprint(self) + digest(Path(__file__).read_bytes())


class _ConnectedZdt(_Zdt):
    """A ZDT problem whose front is the whole curve f2 = `curve(f1)` for f1 in [0, 1], of known area."""

    curve: ClassVar[Callable[[np.ndarray], np.ndarray]]
    area: ClassVar[float]  # the integral of the curve over [0, 1]

    def true_front(self) -> np.ndarray:
        """1,001 points of the true front."""
        f1 = np.linspace(0.0, 1.0, FRONT_POINTS)
        return np.column_stack([f1, type(self).curve(f1)])

    def optimum(self) -> float:
        """The true front's hypervolume against (11, 11), exactly: 10 x 11 beyond f1 = 1, plus the integral of
        11 - curve(f1) over [0, 1], which is 11 less the curve's area."""
        return 110.0 + 11.0 - self.area


class Zdt1(_ConnectedZdt):
    """ZDT1: a convex front f2 = 1 - sqrt(f1), f1 in [0, 1]."""

    name = "zdt1"
    summary = "two objectives: ZDT1 on [0, 1]^n, a convex Pareto front f2 = 1 - sqrt(f1)"
    function = staticmethod(zdt1)
    curve = staticmethod(lambda f1: 1.0 - np.sqrt(f1))
    area = 1.0 / 3.0


class Zdt2(_ConnectedZdt):
    """ZDT2: a concave front f2 = 1 - f1^2, f1 in [0, 1]."""

    name = "zdt2"
    summary = "two objectives: ZDT2 on [0, 1]^n, a concave Pareto front f2 = 1 - f1^2"
    function = staticmethod(zdt2)
    curve = staticmethod(lambda f1: 1.0 - f1**2)
    area = 2.0 / 3.0


class Zdt3(_Zdt):
    """ZDT3: a front of five disconnected pieces of f2 = 1 - sqrt(f1) - f1 sin(10 pi f1), f1 in [0, 0.852]."""

    name = "zdt3"
    summary = "two objectives: ZDT3 on [0, 1]^n, a Pareto front in five disconnected pieces"
    function = staticmethod(zdt3)

    def true_front(self) -> np.ndarray:
        """1,001 points of the true front (the standard construction, thinned evenly, both ends kept)."""
        front = zdt3_front(ZDT3_SAMPLES)
        return front[np.unique(np.linspace(0, len(front) - 1, FRONT_POINTS).round().astype(int))]

    def optimum(self) -> float:
        """The true front's hypervolume against (11, 11), by moocore on 200,001 samples of f1 (no closed form):
        below the exact value by less than 1e-5, so no front of evaluated points exceeds it by more."""
        return zdt3_hypervolume(self.REFERENCE)


def dtlz2(x: np.ndarray, objectives: int) -> tuple[float, ...]:
    """DTLZ2 with M = `objectives`: the first M - 1 variables are angles, the rest (k of them) set the radius
    1 + g, g = sum((x_i - 0.5)^2); the front is the unit sphere's positive orthant (g = 0)."""
    angles, radius = x[: objectives - 1] * (np.pi / 2), 1.0 + float(np.sum((x[objectives - 1 :] - 0.5) ** 2))
    cosines = np.concatenate([[1.0], np.cumprod(np.cos(angles))])  # the product of the first j cosines
    sines = np.append(np.sin(angles), 1.0)  # f_m = (1 + g) cosines[M - m] sines[M - m]
    return tuple(float(radius * f) for f in (cosines * sines)[::-1])


# DTLZ2's reference point, in each objective: with the k = 10 distance variables of the default, 1 + g stays
# below 2.3 for 99 % of uniform random points (their largest objective's median is 1.6), so nearly every random
# point falls inside and counts from the first evaluation on. BoTorch's 1.1 would leave about 96 % of them
# outside: at the budgets of a model-driven run, every method would score 0 until it neared the front.
DTLZ2_REFERENCE = 2.5
DTLZ2_DISTANCE_VARIABLES = 10  # k, as Deb et al. recommend for DTLZ2


class Dtlz2(NumericProblem):
    """DTLZ2 on [0, 1]^n with M objectives (3 by default) and n = M + k - 1 variables (k = 10 by default),
    every objective minimised; its front is the unit sphere's positive orthant, measured against the
    reference point (2.5, ..., 2.5)."""

    name = "dtlz2"
    summary = "several objectives: DTLZ2 on [0, 1]^n, a Pareto front on the unit sphere (--objectives M)"
    options = (
        Option("--objectives", int, 3, "number of objectives M (2 or more)"),
        Option("--dim", int, None, "number of variables, M or more (default: M + 9, k = 10 distance variables)"),
        Option("--shift", int, None, SHIFT_HELP),
    )

    def __init__(self, objectives: int = 3, dim: int | None = None, shift: int | None = None) -> None:
        if objectives < 2:
            raise ValueError(f"--objectives must be 2 or more, got {objectives}")
        dim = objectives + DTLZ2_DISTANCE_VARIABLES - 1 if dim is None else dim
        if dim < objectives:
            raise ValueError(f"--dim must be at least --objectives ({objectives}), got {dim}")
        self.m, self.shift = objectives, shift
        directions, reference = ("min",) * objectives, (DTLZ2_REFERENCE,) * objectives
        fun: Callable[[np.ndarray], Any] = _Dtlz2Function(objectives)
        fun = fun if shift is None else moved_set(fun, dim, objectives - 1, 0.5, shift)
        super().__init__(fun, [(0.0, 1.0)] * dim, label=self.name, directions=directions, reference=reference)

    @classmethod
    def from_options(cls, objectives: int = 3, dim: int | None = None, shift: int | None = None) -> Dtlz2:
        """Build from --objectives, --dim and --shift."""
        return cls(objectives, dim, shift)

    def config(self) -> dict[str, Any]:
        """The variables, bounds and objectives, and the shift's seed when there is one."""
        return {**super().config(), "objectives": self.m, **({"shift": self.shift} if self.shift is not None else {})}

    def fingerprint(self) -> str:
        """The config and this module's code."""
        return Problem.fingerprint(self) + digest(Path(__file__).read_bytes())

    def true_front(self) -> np.ndarray:
        """Points of the unit sphere's positive orthant: a simplex lattice of directions (Das and Dennis's),
        about a thousand of them, scaled to length 1."""
        lattice = simplex_lattice(self.m, FRONT_POINTS)
        return lattice / np.linalg.norm(lattice, axis=1, keepdims=True)

    def optimum(self) -> float:
        """The true front's hypervolume against (r, ..., r), exactly: the front dominates every point of the box
        [0, r]^M outside the unit ball, so it is r^M less the ball's share of the orthant, pi^(M/2) /
        Gamma(M/2 + 1) / 2^M."""
        return DTLZ2_REFERENCE**self.m - math.pi ** (self.m / 2) / math.gamma(self.m / 2 + 1) / 2**self.m


class _Dtlz2Function:
    """DTLZ2 with its number of objectives bound: a plain object, so that a copy of the problem compares and
    fingerprints by what it computes, not by a closure's identity."""

    def __init__(self, objectives: int) -> None:
        self.objectives = objectives

    def __call__(self, x: np.ndarray) -> tuple[float, ...]:
        return dtlz2(x, self.objectives)

    def __repr__(self) -> str:
        return f"dtlz2(M={self.objectives})"


def simplex_lattice(m: int, most: int) -> np.ndarray:
    """Das and Dennis's points of the unit simplex in m dimensions: every vector of multiples of 1/h summing to
    1, with the largest h that gives at most `most` points (stars and bars: C(h + m - 1, m - 1) of them)."""
    h = 1
    while math.comb(h + m, m - 1) <= most:
        h += 1
    bars = np.array(list(itertools.combinations(range(h + m - 1), m - 1)), dtype=float).reshape(-1, m - 1)
    edges = np.column_stack([np.full(len(bars), -1.0), bars, np.full(len(bars), h + m - 1.0)])
    return (np.diff(edges, axis=1) - 1.0) / h
