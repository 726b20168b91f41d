"""Numeric black-box minimisation over a box: a user's function or a classic test function."""

from __future__ import annotations

import importlib
import inspect
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from llmopt.problem import Option, Problem, UsageError, digest
from llmopt.spaces import Box

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
        if not 1 <= len(bounds) <= MAX_DIM:
            raise ValueError(f"need 1 to {MAX_DIM} variables, got {len(bounds)}")
        self.space = Box(tuple(bounds), integer=integer)
        self.bounds, self.dim = list(self.space.bounds), self.space.dim
        self.fun, self.integer, self.known_optimum, self.label = fun, integer, optimum, label

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

    def fingerprint(self) -> str:
        """The config plus the function's code and the source file it lives in."""
        code = getattr(self.fun, "__code__", None)
        try:
            source = Path(inspect.getsourcefile(self.fun) or "").read_bytes()
        except (TypeError, OSError):
            source = repr(self.fun).encode()  # no file: the object's identity, so nothing is replayed
        own = code.co_code + repr(code.co_consts).encode() if code else repr(self.fun)
        return super().fingerprint() + digest(own, source)

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

    def evaluate(self, solution: Point) -> float:
        """f at the point, as a float (a NaN or an exception is recorded by the engine as a failed evaluation)."""
        return float(self.fun(np.asarray(solution, dtype=float)))

    def optimum(self) -> float | None:
        """The known minimum, if given."""
        return self.known_optimum


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
