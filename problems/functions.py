"""Classic test functions as registered problems, each with its known global minimum."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from llmopt.contract.evaluation import Evaluation
from llmopt.contract.problem import Option, Problem, digest
from llmopt.contract.spaces import DECIMALS
from llmopt.problems.numeric import NumericProblem


def sphere(x: np.ndarray) -> float:
    """Σ x², minimum 0 at the origin."""
    return float(np.sum(x**2))


def rosenbrock(x: np.ndarray) -> float:
    """Σ 100 (x[i+1] − x[i]²)² + (1 − x[i])², minimum 0 at (1, …, 1)."""
    return float(np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2))


def rastrigin(x: np.ndarray) -> float:
    """10 d + Σ x² − 10 cos(2π x), minimum 0 at the origin."""
    return float(10.0 * x.size + np.sum(x**2 - 10.0 * np.cos(2.0 * np.pi * x)))


def ackley(x: np.ndarray) -> float:
    """Ackley's function, minimum 0 at the origin."""
    d = x.size
    return float(
        -20.0 * np.exp(-0.2 * np.sqrt(np.sum(x**2) / d)) - np.exp(np.sum(np.cos(2 * np.pi * x)) / d) + 20.0 + math.e
    )


def branin(x: np.ndarray) -> float:
    """Branin–Hoo on [-5, 10] × [0, 15], minimum 0.397887 at three points."""
    a, b, c, r, s, t = 1.0, 5.1 / (4 * math.pi**2), 5 / math.pi, 6.0, 10.0, 1 / (8 * math.pi)
    return float(a * (x[1] - b * x[0] ** 2 + c * x[0] - r) ** 2 + s * (1 - t) * np.cos(x[0]) + s)


def himmelblau(x: np.ndarray) -> float:
    """(x² + y − 11)² + (x + y² − 7)², minimum 0 at four points."""
    return float((x[0] ** 2 + x[1] - 11) ** 2 + (x[0] + x[1] ** 2 - 7) ** 2)


class Moved:
    """f(R (x - s) + x*): the function's minimiser x* moved to s and its axes rotated by R, so that a search
    along the coordinates, or one that tries the centre or a corner first, gains nothing by construction
    (BBOB's way). The minimum value stays the same."""

    def __init__(
        self, fun: Callable[[np.ndarray], float], shift: np.ndarray, rotation: np.ndarray, centre: float
    ) -> None:
        self.fun, self.shift, self.rotation, self.centre = fun, shift, rotation, centre

    def __call__(self, x: np.ndarray) -> float:
        """The moved function at x."""
        return self.fun(self.rotation @ (np.asarray(x, dtype=float) - self.shift) + self.centre)


def moved(
    fun: Callable[[np.ndarray], float], box: tuple[tuple[float, float], ...], seed: int, centre: float, integer: bool
) -> Moved:
    """`fun` with its minimiser at a random point of the inner 80 % of the box and its axes randomly rotated."""
    rng = np.random.default_rng(seed)
    lows, highs = np.array([lo for lo, _ in box]), np.array([hi for _, hi in box])
    middle, half = (lows + highs) / 2, 0.4 * (highs - lows)
    shift = rng.uniform(middle - half, middle + half)
    q, r = np.linalg.qr(rng.standard_normal((len(box), len(box))))
    rotation = q * np.sign(np.diag(r))  # a uniformly random rotation
    # on the grid of solutions the box writes (integers, or DECIMALS places), so the minimum can be reached
    shift = np.round(shift) if integer else np.round(shift, DECIMALS)
    return Moved(fun, shift, rotation if not integer else np.eye(len(box)), centre)


class TestFunction(NumericProblem):
    """A named test function over its usual box; `--dim` where the function allows any dimension, and
    `--shift SEED` (sphere, Rosenbrock, Rastrigin, Ackley) to move its minimiser and rotate its axes."""

    fun_ref: ClassVar[Callable[[np.ndarray], float]]
    box: ClassVar[tuple[float, float] | tuple[tuple[float, float], ...]]
    minimum: ClassVar[float] = 0.0
    centre: ClassVar[float] = 0.0  # where the unmoved function's minimiser is, in every coordinate
    options = (
        Option("--dim", int, 2, "number of variables (1 or more)"),
        Option("--integer", bool, False, "integer variables"),
        Option(
            "--shift",
            int,
            None,
            "a seed: move the minimiser to a random point and rotate the axes "
            "(integer variables: moved, not rotated); unmoved by default",
        ),
    )

    def __init__(self, dim: int = 2, integer: bool = False, shift: int | None = None) -> None:
        if dim < 1:
            raise ValueError(f"--dim must be 1 or more, got {dim}")
        box = self.box if isinstance(self.box[0], tuple) else (self.box,) * dim
        fun = type(self).fun_ref if shift is None else moved(type(self).fun_ref, box, shift, self.centre, integer)
        super().__init__(fun, box, integer=integer, optimum=self.minimum, label=self.name)
        self.shift = shift

    @classmethod
    def from_options(cls, **kwargs) -> TestFunction:
        """Build from --dim, --integer and --shift."""
        return cls(**kwargs)

    def config(self) -> dict[str, Any]:
        """What defines this instance: the box, and the shift's seed when there is one."""
        return {**super().config(), **({"shift": self.shift} if self.shift is not None else {})}

    def fingerprint(self) -> str:
        """The config and this module's code (a moved function is a callable object, keyed the same way)."""
        return Problem.fingerprint(self) + digest(Path(__file__).read_bytes()) + self.constraints_identity()


class FixedTwoD(TestFunction):
    """A test function defined in two dimensions only, on its own box (never moved)."""

    options = (Option("--integer", bool, False, "integer variables"),)

    def __init__(self, integer: bool = False) -> None:
        super().__init__(2, integer)


def _make(
    name: str,
    fun: Callable[[np.ndarray], float],
    box,
    base: type[TestFunction] = TestFunction,
    minimum: float = 0.0,
    centre: float = 0.0,
    constrained: bool = False,
) -> type[TestFunction]:
    doc = fun.__doc__ or name
    return type(
        name.title(),
        (base,),
        {
            "name": name,
            "summary": f"test function: {doc}",
            "fun_ref": staticmethod(fun),
            "box": box,
            "minimum": minimum,
            "centre": centre,
            "constrained": constrained,
            "__doc__": doc,
        },
    )


Sphere, Rosenbrock, Rastrigin, Ackley, Branin, Himmelblau = TEST_FUNCTIONS = (
    _make("sphere", sphere, (-5.12, 5.12)),
    _make("rosenbrock", rosenbrock, (-2.048, 2.048), centre=1.0),
    _make("rastrigin", rastrigin, (-5.12, 5.12)),
    _make("ackley", ackley, (-32.768, 32.768)),
    _make("branin", branin, ((-5.0, 10.0), (0.0, 15.0)), FixedTwoD, minimum=5 / (4 * math.pi)),
    _make("himmelblau", himmelblau, (-5.0, 5.0), FixedTwoD),
)


def mishra_bird(x: np.ndarray) -> Evaluation:
    """Mishra's bird in the disc (x + 5)² + (y + 5)² ≤ 25, minimum −106.7645 at (−3.1302, −1.5821)."""
    value = (
        math.sin(x[1]) * math.exp((1 - math.cos(x[0])) ** 2)
        + math.cos(x[0]) * math.exp((1 - math.sin(x[1])) ** 2)
        + (x[0] - x[1]) ** 2
    )
    return Evaluation(value, constraints=((x[0] + 5) ** 2 + (x[1] + 5) ** 2 - 25,))


def simionescu(x: np.ndarray) -> Evaluation:
    """Simionescu's 0.1 x y in x² + y² ≤ (1 + 0.2 cos(8 atan(x / y)))², minimum −0.072 at ±(0.8485, −0.8485)."""
    # on [-1.25, 1.25]²: the unconstrained minimum, a corner of the box, is infeasible
    angle = math.atan2(x[0], x[1]) if x[1] != 0 else math.copysign(math.pi / 2, x[0])
    radius = 1 + 0.2 * math.cos(8 * angle)
    return Evaluation(0.1 * x[0] * x[1], constraints=(x[0] ** 2 + x[1] ** 2 - radius**2,))


MishraBird, Simionescu = CONSTRAINED_FUNCTIONS = (
    _make("mishra-bird", mishra_bird, ((-10.0, 0.0), (-6.5, 0.0)), FixedTwoD, minimum=-106.7645367, constrained=True),
    _make("simionescu", simionescu, (-1.25, 1.25), FixedTwoD, minimum=-0.072, constrained=True),
)
