"""The direction arithmetic: which of two values is better, the worst value, the best so far, whether a
target is reached. The one place a maximised value becomes one to minimise, so comparisons are written once."""

from __future__ import annotations

import math
from typing import Any, Literal, TypeVar

import numpy as np

# "Target reached" allows this relative slack, so a printed optimum counts as reached.
TARGET_TOLERANCE = 1e-9

# one value or an array of them (the statistics turn whole curves at once)
_Value = TypeVar("_Value", float, np.ndarray)


def to_loss(value: _Value, direction: str) -> _Value:
    """The value to minimise: the value itself, or its negation for a maximisation problem."""
    return value if direction == "min" else -value


def better(direction: str, a: float, b: float) -> bool:
    """True when a is strictly better than b for `direction`."""
    return to_loss(a, direction) < to_loss(b, direction)


def worst(direction: str) -> float:
    """A value worse than any other: +inf when minimising, -inf when maximising."""
    return to_loss(math.inf, direction)


def best_of(values: Any, direction: str) -> Any:
    """The best value so far after each of `values` (an array; a NaN, an infeasible solution's place, is
    passed over: NaN until the first number)."""
    return (np.fmin if direction == "min" else np.fmax).accumulate(values)


def reached(value: float | None, target: float, direction: str) -> bool:
    """Whether `value` meets `target` (the one definition, with a relative tolerance of 1e-9)."""
    if value is None or math.isnan(value):
        return False
    slack = TARGET_TOLERANCE * max(1.0, abs(target))
    return value <= target + slack if direction == "min" else value >= target - slack


def gap_pct(value: float | None, reference: float | None, direction: str) -> float | None:
    """How far `value` falls short of `reference`, in percent of it (0 when it is as good or better)."""
    if value is None or not reference:
        return None
    short = to_loss(value, direction) - to_loss(reference, direction)
    return round(100.0 * short / abs(reference), 4)


OptunaDirection = Literal["minimize", "maximize"]
# Optuna's names of the two directions, by llmopt's
OPTUNA_NAMES: dict[str, OptunaDirection] = {"min": "minimize", "max": "maximize"}


def from_optuna(direction: Any) -> Literal["min", "max"]:
    """llmopt's name ("min", "max") of an Optuna direction: a `StudyDirection` or its name ("minimize", "maximize")."""
    name = str(getattr(direction, "name", direction)).lower()  # StudyDirection.MINIMIZE.name is "MINIMIZE"
    if name == OPTUNA_NAMES["min"]:
        return "min"
    if name == OPTUNA_NAMES["max"]:
        return "max"
    raise ValueError(f"an Optuna direction is 'minimize' or 'maximize', not {direction!r}")


def to_optuna(direction: str) -> OptunaDirection:
    """Optuna's name ("minimize", "maximize") of llmopt's direction ("min", "max"), as `create_study` takes it."""
    if direction not in OPTUNA_NAMES:
        raise ValueError(f"a direction is 'min' or 'max', not {direction!r}")
    return OPTUNA_NAMES[direction]
