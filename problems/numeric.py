"""Numeric black-box optimisation over a box, bit vectors or orderings: a user's function or a classic test function."""

from __future__ import annotations

import copy
import functools
import numbers
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from llmopt.contract.constraints import add_constraints, both, code_digest, function_identity
from llmopt.contract.evaluation import Evaluation
from llmopt.contract.plugins import load_callable as load_callable  # the CLI loads --constraints with it too
from llmopt.contract.problem import Option, Problem, digest
from llmopt.contract.spaces import Bits, Box, Permutation, parse_space, space_text

Point = tuple[float, ...]
Bounds = Sequence[tuple[float, float]]


class NumericProblem(Problem):
    """Minimise (or, with `maximize=True`, maximise) f(x) for x in a box of any dimension (continuous or
    integer), or over bit vectors or orderings of n items (`space=Bits(n)` or `Permutation(n)`): f receives
    the solution as a numpy array, of floats for a box and of integers for bits and orderings (an
    ordering indexes arrays).

    `constraints` is a function of the same array returning one constraint value or a sequence, in
    Optuna's convention (<= 0 satisfied, > 0 the amount of violation; `llmopt.minimize` converts scipy's
    forms to it): each evaluation then returns `Evaluation(f(x), constraints=constraints(x))`, and the
    problem declares itself `constrained`. f may also return an `Evaluation` itself.

    With `directions` (one "min" or "max" per objective), f returns one value per objective (a sequence, or
    an `Evaluation` with `values`) and the run finds a Pareto front, measured by its hypervolume against
    `reference` (derived from random points when not given: `llmopt.contract.problem.derive_reference`)."""

    name = "function"
    summary = (
        "minimise your own Python function (or maximise it, --maximize): --function module:callable "
        "with --bounds LO:HI,... (a box) or --space bits:N|permutation:N"
    )
    direction = "min"
    solution_label = "point"
    value_label = "value"
    options = (
        Option("--function", str, None, "the function to minimise, as module:callable"),
        Option(
            "--bounds",
            str,
            None,
            "LO:HI for each variable, comma-separated; write --bounds=-5:5,... when a bound is negative "
            "(default: -5:5,-5:5 without --space)",
        ),
        Option("--integer", bool, False, "integer variables"),
        Option("--optimum", float, None, "the known best value (the minimum, or the maximum with --maximize), if any"),
        Option("--maximize", bool, False, "maximise f: higher values are better, and the model sees them as they are"),
        Option(
            "--space",
            str,
            None,
            "bits:N (subsets, yes/no choices) or permutation:N (orderings of N items) instead of the box of --bounds",
        ),
        Option(
            "--directions",
            str,
            None,
            "several objectives: min or max for each value the function returns, e.g. --directions min max",
            nargs="+",
        ),
        Option(
            "--reference",
            str,
            None,
            "with --directions, the reference point of the hypervolume, one number per objective, e.g. "
            "--reference 11 11 (default: derived from random points)",
            nargs="+",
        ),
    )

    def __init__(
        self,
        fun: Callable[[np.ndarray], float],
        bounds: Bounds | None = None,
        *,
        integer: bool = False,
        optimum: float | None = None,
        label: str = "f",
        space: Bits | Permutation | None = None,
        maximize: bool = False,
        constraints: Callable[[np.ndarray], Any] | None = None,
        constraints_label: str = "constraints",
        directions: Sequence[str] | None = None,
        reference: Sequence[float] | None = None,
    ) -> None:
        if space is None:
            if not bounds:
                raise ValueError("need at least one variable: give its bounds")
            space = Box(tuple(bounds), integer=integer)
            self.bounds, self.dim = list(space.bounds), space.dim
        self.space: Box | Bits | Permutation = space
        self.solution_label = SOLUTION_LABELS[type(space)]
        self.fun, self.integer, self.known_optimum, self.label = fun, integer, optimum, label
        self.direction = "max" if maximize else "min"  # type: ignore[misc]  # the instance's own goal
        self.constraint_fun, self.constraints_label = constraints, constraints_label
        if constraints is not None:  # the instance's own declaration (a subclass may declare it for every instance)
            self.constrained = True  # type: ignore[misc]
        if directions is not None:
            self._set_objectives(directions, reference)

    def _set_objectives(self, directions: Sequence[str], reference: Sequence[float] | None) -> None:
        """Several objectives: their directions and, if given, the reference point."""
        if len(directions) < 2 or any(d not in ("min", "max") for d in directions):
            raise ValueError(f"directions needs two or more of min and max, got {' '.join(directions) or 'none'}")
        if reference is not None and len(reference) != len(directions):
            raise ValueError(f"the reference point has {len(reference)} values for {len(directions)} objectives")
        self.directions = tuple(directions)  # type: ignore[assignment]
        self.reference = None if reference is None else tuple(float(r) for r in reference)

    @classmethod
    def from_options(
        cls,
        function: str | None = None,
        bounds: str | None = None,
        integer: bool = False,
        optimum: float | None = None,
        space: str | None = None,
        maximize: bool = False,
        directions: str | Sequence[str] | None = None,
        reference: str | Sequence[str] | None = None,
    ) -> NumericProblem:
        """`--function module:callable` with `--bounds`, or with `--space bits:N|permutation:N`; with several
        objectives, `--directions` and optionally `--reference` (words or comma-separated)."""
        if not function:
            raise ValueError("--function module:callable is required")
        found = parse_space(space) if space else None
        if found is not None and (bounds is not None or integer):
            raise ValueError("--bounds and --integer describe a box; with --space there is none, drop them")
        goals = parse_directions(directions, reference, maximize)
        return cls(
            load_callable(function),
            None if found else parse_bounds(bounds or DEFAULT_BOUNDS),
            integer=integer,
            optimum=optimum,
            label=function,
            space=found,
            maximize=maximize,
            **goals,
        )

    def constrained_by(self, fun: Callable[[Any], Any], label: str) -> NumericProblem:
        """A copy whose evaluations also carry `fun(x)`'s constraint values, `fun` receiving the numpy array
        f receives (after the constraints it has)."""
        made = copy.copy(self)
        if self.constraint_fun is None:
            made.constraint_fun, made.constraints_label = fun, label
        else:
            made.constraint_fun = functools.partial(both, self.constraint_fun, fun)
            made.constraints_label = f"{self.constraints_label}+{label}"
        made.constrained = True  # type: ignore[misc]
        return made

    def config(self) -> dict[str, Any]:
        """What defines this problem (the goal only when it is to maximise, and the constraints only when
        there are some, so earlier records still match)."""
        goal: dict[str, Any] = {"maximize": True} if self.direction == "max" else {}
        if self.directions is not None:
            goal |= {"directions": list(self.directions), "reference": self.reference and list(self.reference)}
        if self.constraint_fun is not None:
            goal["constraints"] = self.constraints_label
        if isinstance(self.space, Box):
            return {"function": self.label, "bounds": self.bounds, "integer": self.integer, **goal}
        return {"function": self.label, "space": space_text(self.space), **goal}

    def fingerprint(self) -> str:
        """The config plus the function's code and the source file it lives in; a closure or a callable
        object also adds its identity, so its results are replayed only within one process."""
        code = code_digest(self.fun)
        identity = digest(repr(self.fun), str(id(self.fun))) if code is None else code
        return super().fingerprint() + identity + self.constraints_identity()

    def constraints_identity(self) -> str:
        """What identifies the constraint function, for the fingerprint ("" without one)."""
        return "" if self.constraint_fun is None else function_identity(self.constraint_fun)

    def describe(self) -> str:
        """What f takes: the variables and their bounds, the bits, or the items to order."""
        return self._wording()[0]

    def format_hint(self) -> str:
        """The answer format of the space."""
        return self._wording()[1]

    def _wording(self) -> tuple[str, str]:
        if self.directions is None:
            return WORDING[type(self.space)](self.space, *GOALS[self.direction])
        opening, hint = WORDING[type(self.space)](self.space, "optimize", "better")
        goals = ", ".join(f"{GOALS[d][0]} {label}" for d, label in zip(self.directions, self.labels()))
        opening = opening.replace("the value of f at each", f"the values of f = ({', '.join(self.labels())}) at each")
        hint = hint.replace("has a better value than all of them", "is dominated by none of them")
        return f"{opening} The objectives conflict: {goals}.", hint

    def evaluate(self, solution: Point) -> float | Evaluation:
        """f at the point, as a float (or the `Evaluation` f returned), with the constraint values when the
        problem has a constraint function. A NaN, an exception or a value that is no real number (a string,
        None, a list, a complex number: the reason names its type) is recorded by the engine as a failed
        evaluation."""
        x = np.asarray(solution, dtype=float if isinstance(self.space, Box) else int)
        value = self._value(x)
        return value if self.constraint_fun is None else add_constraints(value, self.constraint_fun(x))

    def _value(self, x: np.ndarray) -> float | Evaluation:
        """f at x, read as a number or passed on as the `Evaluation` it is."""
        try:
            value = self.fun(x)
        except IndexError as error:
            if isinstance(self.space, Box):
                raise IndexError(
                    f"{error}; does f take more variables than the {self.space.dim} --bounds gives?"
                ) from None
            raise
        if isinstance(value, Evaluation) or self.objectives > 1:  # the engine reads these strictly
            return value
        if isinstance(value, np.ndarray) and value.size == 1:  # f(x) = x @ x or a (1,)-shaped result: a number
            value = value.item()
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
            raise TypeError(f"the function returned {type(value).__name__} {str(value)[:40]!r}, not a real number")
        return float(value)

    def optimum(self) -> float | None:
        """The known best value, if given."""
        return self.known_optimum


def _box_wording(space: Box, verb: str, than: str) -> tuple[str, str]:
    kind = "integers" if space.integer else "real numbers"
    box = ", ".join(f"x{i + 1} in [{lo:g}, {hi:g}]" for i, (lo, hi) in enumerate(space.bounds))
    names = ", ".join(space.names)
    return (
        f"Help me {verb} a function f of {space.dim} variable{'s' * (space.dim > 1)}, which are {kind}: "
        f"{box}. I will show you points I have tried and the value of f at each.",
        f"Propose a new point that differs from every point above and has a {than} value than all of them, "
        f"within the bounds. End your answer with the point as [{names}], {space.dim} "
        f"{'integers' if space.integer else 'numbers'}.",
    )


def _bits_wording(space: Bits, verb: str, than: str) -> tuple[str, str]:
    return (
        f"Help me {verb} a function f of a vector of {space.n} bits, each 0 or 1. I will show you "
        "vectors I have tried and the value of f at each.",
        f"Propose a new vector that differs from every vector above and has a {than} value than all of them. "
        f"Write its {space.n} bits, one after the other, between <{space.tag}> and </{space.tag}>, for example "
        f"{space.encode(tuple(i % 2 for i in range(space.n)))}.",
    )


def _permutation_wording(space: Permutation, verb: str, than: str) -> tuple[str, str]:
    return (
        f"Help me {verb} a function f of an ordering of the items 0 to {space.n - 1}. I will show you "
        "orderings I have tried and the value of f at each.",
        f"Propose a new ordering that differs from every ordering above and has a {than} value than all of "
        f"them. Write each item from 0 to {space.n - 1} exactly once, separated by commas, between "
        f"<{space.tag}> and </{space.tag}>, for example {space.encode(tuple(range(space.n)))}.",
    )


# The goal's verb and comparative, by direction: the model sees the true values with the goal they serve.
GOALS = {"min": ("minimize", "lower"), "max": ("maximize", "higher")}
WORDING: dict[type, Callable[..., tuple[str, str]]] = {
    Box: _box_wording,
    Bits: _bits_wording,
    Permutation: _permutation_wording,
}
SOLUTION_LABELS = {Box: "point", Bits: "vector", Permutation: "ordering"}


DEFAULT_BOUNDS = "-5:5,-5:5"


def words(given: str | Sequence[str]) -> list[str]:
    """An option's words, each possibly comma-separated: "min max", "min,max" and ["min", "max"] alike."""
    text = given if isinstance(given, str) else " ".join(given)
    return text.replace(",", " ").split()


def parse_directions(
    directions: str | Sequence[str] | None, reference: str | Sequence[str] | None, maximize: bool = False
) -> dict[str, Any]:
    """`--directions` and `--reference` as NumericProblem's keywords (none without --directions)."""
    if directions is None:
        if reference is not None:
            raise ValueError("--reference is the reference point of several objectives: give --directions too")
        return {}
    if maximize:
        raise ValueError("--maximize is for one objective; with --directions write max for each objective to maximise")
    goals = [word.lower() for word in words(directions)]
    if len(goals) < 2 or any(goal not in GOALS for goal in goals):
        raise ValueError(f"--directions needs min or max for each of two or more objectives, got {' '.join(goals)!r}")
    if reference is None:
        return {"directions": tuple(goals)}
    try:
        point = tuple(float(word) for word in words(reference))
    except ValueError:
        raise ValueError(f"--reference needs one number per objective, got {' '.join(words(reference))!r}") from None
    if len(point) != len(goals) or not all(np.isfinite(point)):
        raise ValueError(f"--reference needs {len(goals)} finite numbers, one per objective, got {len(point)}")
    return {"directions": tuple(goals), "reference": point}


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
