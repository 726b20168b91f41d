"""Numeric black-box minimisation over a box: a user's function or a classic test function."""

from __future__ import annotations

import importlib
import math
from typing import Any, Callable, Sequence

import numpy as np

from llmopt.baselines import Tracker, run_tracked
from llmopt.parsing import format_number, last_bracketed, parse_decimal
from llmopt.problem import Budget, InvalidSolution, Option, Problem, UsageError
from llmopt.result import Result

Point = tuple[float, ...]
Bounds = Sequence[tuple[float, float]]

MAX_DIM = 10


class NumericProblem(Problem):
    """Minimise f(x) for x in a box of 1–10 dimensions, continuous or integer."""

    name = "function"
    summary = "minimise your own Python function: --function module:callable --bounds LO:HI,..."
    direction = "min"
    solution_label = "point"
    value_label = "value"
    options = (
        Option("--function", str, None, "the function to minimise, as module:callable"),
        Option("--bounds", str, "-5:5,-5:5",
               "LO:HI for each variable, comma-separated; write --bounds=-5:5,... when a bound is negative"),
        Option("--integer", bool, False, "integer variables"),
        Option("--optimum", float, None, "the known minimum value, if any"),
    )

    def __init__(self, fun: Callable[[np.ndarray], float], bounds: Bounds, *, integer: bool = False,
                 optimum: float | None = None, label: str = "f") -> None:
        self.bounds = [(float(lo), float(hi)) for lo, hi in bounds]
        if not 1 <= len(self.bounds) <= MAX_DIM:
            raise ValueError(f"need 1 to {MAX_DIM} variables, got {len(self.bounds)}")
        if any(not (math.isfinite(lo) and math.isfinite(hi) and lo < hi) for lo, hi in self.bounds):
            raise ValueError("every bound needs finite LO < HI")
        self.fun, self.integer, self.known_optimum, self.label = fun, integer, optimum, label
        self.dim = len(self.bounds)

    @classmethod
    def from_options(cls, function: str | None = None, bounds: str = "-5:5,-5:5", integer: bool = False,
                     optimum: float | None = None) -> NumericProblem:
        """`--function module:callable` with `--bounds`."""
        if not function:
            raise ValueError("--function module:callable is required")
        return cls(load_callable(function), parse_bounds(bounds), integer=integer, optimum=optimum,
                   label=function)

    def config(self) -> dict[str, Any]:
        """What defines this problem."""
        return {"function": self.label, "bounds": self.bounds, "integer": self.integer}

    def describe(self) -> str:
        """The variables and their bounds."""
        kind = "integers" if self.integer else "real numbers"
        box = ", ".join(f"x{i + 1} in [{lo:g}, {hi:g}]" for i, (lo, hi) in enumerate(self.bounds))
        return (f"Help me minimize a function f of {self.dim} variable{'s' * (self.dim > 1)}, which are "
                f"{kind}: {box}. I will show you points I have tried and the value of f at each.")

    def format_hint(self) -> str:
        """The answer format."""
        names = ", ".join(f"x{i + 1}" for i in range(self.dim))
        kind = "integers" if self.integer else "numbers"
        return (f"Propose a new point that differs from every point above and has a lower value than all of "
                f"them, within the bounds. End your answer with the point as [{names}], {self.dim} {kind}.")

    def encode(self, solution: Point) -> str:
        """`[x1, x2, …]`."""
        return "[" + ", ".join(format_number(v) for v in solution) + "]"

    def decode(self, text: str) -> Point:
        """The last bracketed vector; wrong length, non-finite, non-integer or out of bounds is rejected."""
        found = last_bracketed(text)
        if found is None:
            raise InvalidSolution("no [x1, ...] vector found")
        tokens = found.split(",")
        if len(tokens) != self.dim:
            raise InvalidSolution("wrong length")
        values = []
        for token, (lo, hi) in zip(tokens, self.bounds):
            value = parse_decimal(token)
            if value is None or not math.isfinite(value):
                raise InvalidSolution("not a finite number")
            if self.integer and not value.is_integer():
                raise InvalidSolution("not an integer")
            if not lo <= value <= hi:
                raise InvalidSolution("out of bounds")
            values.append(int(value) if self.integer else value)
        return tuple(values)

    def grammar(self) -> str:
        """GBNF for a vector of the right length with short numbers."""
        number = '"-"? [0-9] [0-9]? [0-9]?' + ("" if self.integer else ' ("." [0-9] [0-9]? [0-9]?)?')
        rest = ' ", " num' * (self.dim - 1)
        return f'root ::= "[" num{rest} "]"\nnum ::= {number}\n'

    def evaluate(self, solution: Point) -> float:
        """f at the point, as a float (inf when the function returns NaN)."""
        value = float(self.fun(np.asarray(solution, dtype=float)))
        return value if not math.isnan(value) else math.inf

    def initial(self, rng: np.random.Generator, k: int) -> list[Point]:
        """k points drawn uniformly from the box."""
        return [self.snap(rng.uniform([lo for lo, _ in self.bounds], [hi for _, hi in self.bounds]))
                for _ in range(k)]

    def snap(self, x: np.ndarray) -> Point:
        """A point clipped to the box; rounded to integers, or to 4 decimals as the model would write it."""
        lows, highs = np.array(self.bounds).T
        clipped = np.clip(np.asarray(x, dtype=float), lows, highs)
        if self.integer:
            return tuple(int(v) for v in np.clip(np.round(clipped), np.ceil(lows), np.floor(highs)))
        return tuple(float(round(v, 4)) + 0.0 for v in clipped)

    def optimum(self) -> float | None:
        """The known minimum, if given."""
        return self.known_optimum

    def baselines(self) -> dict[str, Callable[[Budget], Result]]:
        """scipy's Nelder-Mead, Powell, differential evolution and dual annealing; CMA-ES; random search."""
        return {"nelder-mead": self._local("Nelder-Mead"), "powell": self._local("Powell"),
                "differential-evolution": self._global(_differential_evolution),
                "dual-annealing": self._global(_dual_annealing), "cma-es": self._global(_cma_es),
                "random-search": self._global(_random_search)}

    def _objective(self, track: Tracker) -> Callable[[np.ndarray], float]:
        return lambda x: track(self.snap(x))

    def _local(self, method: str) -> Callable[[Budget], Result]:
        def search(track: Tracker, budget: Budget) -> None:
            starts = list(budget.starts) or self.initial(np.random.default_rng(budget.seed), 5)
            values = [track(s) for s in starts]
            x0 = np.array(starts[int(np.argmin(values))], dtype=float)
            from scipy import optimize

            optimize.minimize(self._objective(track), x0, method=method, bounds=self.bounds,
                              options={"maxfev": budget.max_evals, "xtol": 1e-10, "ftol": 1e-14}
                              if method == "Powell" else {"maxfev": budget.max_evals, "xatol": 1e-10,
                                                          "fatol": 1e-14})

        return lambda budget: run_tracked(self, method.lower(), budget, lambda t: search(t, budget))

    def _global(self, search: Callable[[NumericProblem, Tracker, Budget], None]) -> Callable[[Budget], Result]:
        name = search.__name__.strip("_").replace("_", "-")
        return lambda budget: run_tracked(self, name, budget, lambda t: search(self, t, budget))


def _differential_evolution(problem: NumericProblem, track: Tracker, budget: Budget) -> None:
    from scipy import optimize

    optimize.differential_evolution(problem._objective(track), problem.bounds, seed=budget.seed, maxiter=10**6,
                                    tol=0, polish=False, popsize=max(2, min(15, budget.max_evals // 10)))


def _dual_annealing(problem: NumericProblem, track: Tracker, budget: Budget) -> None:
    from scipy import optimize

    optimize.dual_annealing(problem._objective(track), problem.bounds, seed=budget.seed,
                            maxfun=budget.max_evals, maxiter=10**6)


def _cma_es(problem: NumericProblem, track: Tracker, budget: Budget) -> None:
    import cma

    lows, highs = np.array(problem.bounds).T
    starts = list(budget.starts) or problem.initial(np.random.default_rng(budget.seed), 1)
    x0 = np.array(min(starts, key=track), dtype=float)
    if problem.dim == 1:  # CMA-ES needs two dimensions; optimise a dummy second one
        x0, lows, highs = np.append(x0, 0.0), np.append(lows, -1.0), np.append(highs, 1.0)
    sigma = 0.3 * float(np.min(highs - lows))
    strategy = cma.CMAEvolutionStrategy(x0, sigma, {"bounds": [lows.tolist(), highs.tolist()],
                                                    "seed": budget.seed + 1, "verbose": -9})
    while not strategy.stop():
        candidates = strategy.ask()
        strategy.tell(candidates, [track(problem.snap(c[:problem.dim])) for c in candidates])


def _random_search(problem: NumericProblem, track: Tracker, budget: Budget) -> None:
    rng = np.random.default_rng(budget.seed)
    while True:
        track(problem.initial(rng, 1)[0])


def parse_bounds(text: str) -> list[tuple[float, float]]:
    """`-5:5,0:10` → [(-5, 5), (0, 10)]."""
    bounds = []
    for part in text.split(","):
        pieces = part.strip().split(":")
        try:
            lo, hi = (float(p) for p in pieces)
        except ValueError:
            raise ValueError(f"--bounds needs LO:HI pairs separated by commas, got {part.strip()!r}") from None
        bounds.append((lo, hi))
    return bounds


def load_callable(spec: str) -> Callable[[np.ndarray], float]:
    """Import `module:callable` (the user's own code)."""
    module_name, _, attribute = spec.partition(":")
    if not module_name or not attribute:
        raise UsageError(f"--function must look like module:callable, got {spec!r}")
    try:
        target: Any = importlib.import_module(module_name)
    except ImportError as error:
        raise UsageError(f"cannot import {module_name!r} for --function: {error}") from None
    for name in attribute.split("."):
        if not hasattr(target, name):
            raise UsageError(f"{module_name!r} has no {attribute!r} for --function")
        target = getattr(target, name)
    if not callable(target):
        raise UsageError(f"--function {spec} is not callable")
    return target
