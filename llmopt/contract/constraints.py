"""Constraints, in the one convention llmopt keeps (Optuna's: a value <= 0 is satisfied, > 0 is the amount of
violation), and the conversions to and from the others: scipy's forms, which `llmopt.minimize` takes
(`{'type': 'ineq', 'fun': g}` is satisfied where g(x) >= 0, `'eq'` where h(x) = 0, `NonlinearConstraint`
and `LinearConstraint` where lb <= fun(x) <= ub), and a constraint function added to any problem
(`Problem.constrained_by`, the command line's `--constraints module:function`).

An equality is met within `EQ_TOLERANCE`: h(x) = 0 becomes the constraint |h(x)| - EQ_TOLERANCE, so that a
point whose |h(x)| is at most that counts as feasible (no search hits an equality exactly).
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import inspect
import math
import numbers
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from llmopt.contract.evaluation import Evaluation
from llmopt.core.errors import UsageError

# An equality constraint h(x) = 0 is met where |h(x)| <= EQ_TOLERANCE (absolute): ten times the grid a box's
# points are written on (4 decimals), so that an equality with a slope up to 10 has a point that meets it.
EQ_TOLERANCE = 1e-3

ConstraintFunction = Callable[[Any], Any]  # a solution -> one constraint value or a sequence (Optuna's convention)

_SCIPY_FORMS = (
    "give a dict {'type': 'ineq' or 'eq', 'fun': callable, 'args': (...)}, a NonlinearConstraint or "
    "LinearConstraint, or a list of them"
)
_DICT_KEYS = {"type", "fun", "args", "jac"}


def from_scipy(constraints: Any) -> Callable[[np.ndarray], tuple[float, ...]]:
    """scipy's constraints (a dict, a `NonlinearConstraint`, a `LinearConstraint`, or a list of them) as one
    function of x giving every constraint value in Optuna's convention, in the order given: an 'ineq'
    g(x) >= 0 gives -g(x); an 'eq' h(x) = 0 gives |h(x)| - EQ_TOLERANCE; lb <= fun(x) <= ub gives lb - fun(x)
    and fun(x) - ub for each finite bound (|fun(x) - lb| - EQ_TOLERANCE where lb = ub). A form scipy does
    not take is a `UsageError`."""
    items = (
        [constraints] if isinstance(constraints, Mapping) or not isinstance(constraints, list | tuple) else constraints
    )
    parts = [_one_scipy(item, index) for index, item in enumerate(items, 1)]
    if not parts:
        raise UsageError(f"constraints: the list is empty; {_SCIPY_FORMS}")
    return functools.partial(_all_of, tuple(parts))


def _all_of(parts: tuple[Callable[[np.ndarray], list[float]], ...], x: Any) -> tuple[float, ...]:
    """Every part's constraint values at x, in order."""
    return tuple(value for part in parts for value in part(np.asarray(x)))


def _one_scipy(item: Any, index: int) -> Callable[[np.ndarray], list[float]]:
    """One of scipy's constraint forms as a function of x giving its values in Optuna's convention."""
    from scipy import optimize

    if isinstance(item, optimize.LinearConstraint):
        matrix = np.atleast_2d(np.asarray(item.A, dtype=float))
        return _bounded(lambda x: matrix @ x, item.lb, item.ub)
    if isinstance(item, optimize.NonlinearConstraint):
        return _bounded(item.fun, item.lb, item.ub)
    if not isinstance(item, Mapping):
        raise UsageError(f"constraint {index} is a {type(item).__name__}; {_SCIPY_FORMS}")
    unknown = sorted(set(map(str, item)) - _DICT_KEYS)
    if unknown or item.get("type") not in ("ineq", "eq") or not callable(item.get("fun")):
        wrong = f"has the key {unknown[0]!r}" if unknown else f"has 'type' {item.get('type')!r}"
        wrong = wrong if unknown or item.get("type") not in ("ineq", "eq") else "has no callable 'fun'"
        raise UsageError(f"constraint {index} {wrong}; {_SCIPY_FORMS}")
    fun, args = item["fun"], tuple(item.get("args", ()))
    if item["type"] == "ineq":
        return lambda x: [-v for v in _values(fun(x, *args))]
    return lambda x: [abs(v) - EQ_TOLERANCE for v in _values(fun(x, *args))]


def _bounded(fun: Callable[[np.ndarray], Any], lb: Any, ub: Any) -> Callable[[np.ndarray], list[float]]:
    """lb <= fun(x) <= ub in Optuna's convention: one value per finite bound, an equality where lb = ub."""

    def values(x: np.ndarray) -> list[float]:
        found = _values(fun(x))
        lows, highs = np.broadcast_to(lb, len(found)), np.broadcast_to(ub, len(found))
        out: list[float] = []
        for value, low, high in zip(found, lows, highs):
            if low == high:
                out.append(abs(value - float(low)) - EQ_TOLERANCE)
                continue
            out += [float(low) - value] * bool(math.isfinite(low)) + [value - float(high)] * bool(math.isfinite(high))
        return out

    return values


def _values(returned: Any) -> list[float]:
    """A constraint function's return as a list of floats (one number or a flat sequence)."""
    return [float(v) for v in np.atleast_1d(np.asarray(returned, dtype=float)).ravel()]


def add_constraints(returned: Any, extra: Any) -> Any:
    """What an objective returned, with the constraint values `extra` (one number or a sequence) after any
    it already gave: a number becomes `Evaluation(number, constraints=extra)`, a sequence of several objectives'
    values `Evaluation(values=..., constraints=extra)`. Malformed values are read (and failed, with a reason)
    where every evaluation is read, in `read_returned`."""
    if isinstance(returned, (list, tuple, np.ndarray)):
        return Evaluation(values=tuple(returned), constraints=extra)
    if not isinstance(returned, Evaluation):
        return Evaluation(returned, constraints=extra)
    if returned.constraints is None:
        return dataclasses.replace(returned, constraints=extra)
    return dataclasses.replace(returned, constraints=(*_listed(returned.constraints), *_listed(extra)))


def _listed(values: Any) -> list[Any]:
    """One constraint value, or a sequence of them, as a list (something else is left for the reading to name)."""
    if isinstance(values, numbers.Real) or (isinstance(values, np.ndarray) and values.ndim == 0):
        return [values]
    if isinstance(values, Sequence | np.ndarray) and not isinstance(values, str | bytes):
        return list(values)
    raise TypeError(f"the constraint function returned a {type(values).__name__}, not a number or a sequence")


class _WithConstraints:
    """What `constrained_by` adds to a problem's class: its evaluations also carry `fun(solution)`'s values."""

    constrained = True
    _constraint_base: type
    _constraint_fun: ConstraintFunction
    _constraint_label: str

    def evaluate(self, solution: Any) -> Any:
        """The problem's own evaluation, with the added constraint values after any it gives."""
        returned = super().evaluate(solution)  # type: ignore[misc]
        return add_constraints(returned, self._constraint_fun(solution))

    def config(self) -> dict[str, Any]:
        """The problem's config, and the added constraint function by name."""
        return {**super().config(), "constraints": self._constraint_label}  # type: ignore[misc]

    def fingerprint(self) -> str:
        """The problem's fingerprint, and the constraint function's (its name and code)."""
        return super().fingerprint() + function_identity(self._constraint_fun)  # type: ignore[misc]

    def __reduce__(self) -> tuple[Any, ...]:
        # the class is made at run time: a process that evaluates rebuilds it from the problem's own class
        return (_rebuilt, (self._constraint_base, dict(self.__dict__)))


@functools.cache
def _constrained_class(base: type) -> type:
    """`base` with `_WithConstraints` in front, made once per problem class (its name and module are the
    base's, so a stored result is keyed on the problem's own code)."""
    namespace = {"__module__": base.__module__, "__qualname__": base.__qualname__, "_constraint_base": base}
    return type(base.__name__, (_WithConstraints, base), namespace)


def _rebuilt(base: type, state: dict[str, Any]) -> Any:
    """An instance of `_constrained_class(base)` with `state`: how one is unpickled."""
    made: Any = object.__new__(_constrained_class(base))
    made.__dict__.update(state)
    return made


def with_constraints(problem: Any, fun: ConstraintFunction, label: str) -> Any:
    """A copy of `problem` whose evaluations also carry `fun(solution)`'s constraint values (Optuna's
    convention) and which declares itself `constrained`; a second call adds a second function."""
    if isinstance(problem, _WithConstraints):
        first, second = problem._constraint_fun, fun
        fun = functools.partial(both, first, second)
        label = f"{problem._constraint_label}+{label}"
        base, state = problem._constraint_base, dict(problem.__dict__)
    else:
        base, state = type(problem), dict(problem.__dict__)
    return _rebuilt(base, {**state, "_constraint_fun": fun, "_constraint_label": label})


def both(first: ConstraintFunction, second: ConstraintFunction, solution: Any) -> list[Any]:
    """Both functions' constraint values, the first's first."""
    return [*_listed(first(solution)), *_listed(second(solution))]


def code_digest(fun: Callable[..., Any]) -> str | None:
    """SHA-256 of a plain function's code and of the source file it lives in, so that a change to a helper
    it calls changes it too; None for a closure, a function with defaults, a callable object or a function
    without a file (only its identity in this process names those)."""
    code = getattr(fun, "__code__", None)
    if code is None or getattr(fun, "__closure__", None) or getattr(fun, "__defaults__", None):
        return None
    try:
        source = Path(inspect.getsourcefile(fun) or "").read_bytes()
    except (TypeError, OSError):
        return None
    hasher = hashlib.sha256()
    for part in (code.co_code, repr(code.co_consts).encode(), source):
        hasher.update(part)
    return hasher.hexdigest()


def function_identity(fun: Callable[..., Any]) -> str:
    """What identifies a user's function for replaying results: its module, name, code and source file
    (`code_digest`) where it has them, else its identity in this process (nothing is replayed across
    processes)."""
    name = f"{getattr(fun, '__module__', '')}:{getattr(fun, '__qualname__', repr(fun))}"
    return hashlib.sha256(f"{name}:{code_digest(fun) or f'@{id(fun)}'}".encode()).hexdigest()
