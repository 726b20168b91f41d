"""What an objective may return: a number, or an `Evaluation` with the reason a person would give
(`feedback`) and the solution's constraint values; and the one strict reading of either.

Constraint values follow Optuna's convention: <= 0 is satisfied, > 0 is the amount of violation. A
returned value that is malformed fails that one evaluation with a reason naming what was wrong; the run
goes on.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from llmopt.core.result import Status

# Feedback is stored (journal, records) cut to this many characters; the meta-prompt shows less of it.
FEEDBACK_LIMIT = 2000
# More constraints than this is a mistake (a whole data vector returned), not a model of the problem.
MAX_CONSTRAINTS = 1000
# Per-case scores are kept with every trial: more than this would swell the records, not inform the search.
MAX_CASES = 10_000

Feedback = str | dict[str, str | float]


@dataclass(frozen=True)
class Evaluation:
    """One evaluation of a solution: its `value`, what a person would tell the optimizer about it
    (`feedback`: a short text, or a flat dict of str -> str | number), and its `constraints` (a sequence of
    numbers, or one number: <= 0 satisfied, > 0 the amount of violation, Optuna's convention); `cases` are
    per-case scores when the value aggregates cases (prompt search: 1 or 0 per question), in the
    problem's direction, which a reflective method selects parents by (GEPA's Pareto selection).

    A run with several objectives takes `values`, one number per objective in the order of its directions,
    in place of `value`."""

    value: float | None = None
    feedback: str | Mapping[str, Any] | None = None
    constraints: Sequence[float] | float | None = None
    cases: Sequence[float] | None = None
    values: Sequence[float] | None = None


class Scored(NamedTuple):
    """What scoring one solution gave: its value (None unless it succeeded), why it did not, its status
    (an `EvalStatus`; the driver writes "initial" for a start point's), and the feedback and constraint
    values the objective gave with the value."""

    value: float | None
    reason: str | None
    status: Status
    feedback: Feedback | None = None
    constraints: tuple[float, ...] | None = None
    cases: tuple[float, ...] | None = None
    values: tuple[float, ...] | None = None

    @property
    def succeeded(self) -> bool:
        """Whether the solution was scored: a value, or the values of a run with several objectives."""
        return self.value is not None or self.values is not None


class Malformed(Exception):
    """What the objective returned cannot be read; the message says what was wrong."""


def read_returned(returned: Any, objectives: int = 1) -> Scored:
    """The outcome of what an objective returned: a number, or an `Evaluation` (with several `objectives`, a
    sequence of that many numbers, or an `Evaluation` with `values`); a failed one (with a reason that names
    the fault) when it is neither, or when its values, feedback or constraints are malformed."""
    try:
        if objectives > 1:
            return _read_several(returned, objectives)
        if isinstance(returned, Evaluation):
            if returned.values is not None:
                raise Malformed("the Evaluation gives values; a run with one objective takes one value")
            value = _number(returned.value, "the value")
            feedback, constraints = _feedback(returned.feedback), _constraints(returned.constraints)
            return Scored(value, None, "ok", feedback, constraints, _cases(returned.cases))
        return Scored(_number(returned, "the objective's return"), None, "ok")
    except Malformed as error:
        return Scored(None, str(error), "failed")


def _read_several(returned: Any, objectives: int) -> Scored:
    """The outcome of a run with several objectives: its values, and what an `Evaluation` adds."""
    if not isinstance(returned, Evaluation):
        return Scored(None, None, "ok", values=_values(returned, objectives, "the objective's return"))
    if returned.value is not None:
        raise Malformed(f"the Evaluation gives one value; this run has {objectives} objectives: give values=(...)")
    values = _values(returned.values, objectives, "the values")
    feedback, constraints = _feedback(returned.feedback), _constraints(returned.constraints)
    return Scored(None, None, "ok", feedback, constraints, _cases(returned.cases), values)


def _values(values: Any, objectives: int, what: str) -> tuple[float, ...]:
    """One finite number per objective."""
    if isinstance(values, Evaluation):
        raise Malformed(f"{what} is an Evaluation inside an Evaluation; give Evaluation(values=(...), ...)")
    if isinstance(values, np.ndarray) and values.ndim != 1:
        raise Malformed(f"{what} is an array of shape {values.shape}; give {objectives} numbers")
    if values is None or isinstance(values, str | bytes | Mapping) or not isinstance(values, Sequence | np.ndarray):
        shown = "None" if values is None else f"a {type(values).__name__}"
        raise Malformed(f"{what} is {shown}; this run has {objectives} objectives: give {objectives} numbers")
    if len(values) != objectives:
        raise Malformed(f"{what} has {len(values)} values; this run has {objectives} objectives")
    return tuple(_number(item, f"objective {index}") for index, item in enumerate(values, 1))


_VALUES = ("the value", "the objective's return")


def _number(value: Any, what: str) -> float:
    """A finite number; a 0-d array or a numpy scalar counts, a bool, a text or a sequence does not."""
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = value[()]
    if isinstance(value, bool | np.bool_):
        raise Malformed(f"{what} is a bool ({value}), not a number")
    if isinstance(value, Evaluation):
        raise Malformed(f"{what} is an Evaluation inside an Evaluation; give Evaluation(value, ...)")
    if isinstance(value, str | bytes):
        raise Malformed(f"{what} is text ({_shown(value)}), not a number")
    if value is None:
        raise Malformed(f"{what} is None, not a number (did the function forget to return?)")
    if isinstance(value, Sequence | np.ndarray):
        raise Malformed(f"{what} is a sequence of {len(value)} values; a run with one objective takes one number")
    if not isinstance(value, numbers.Real):
        raise Malformed(f"{what} is a {type(value).__name__}, not a number")
    number = float(value)
    if not math.isfinite(number):
        raise Malformed(f"not a finite value: {number}" if what in _VALUES else f"{what} is not finite ({number})")
    return number


def _constraints(constraints: Any) -> tuple[float, ...] | None:
    """The constraint values as a tuple of finite floats (one number stands for one constraint)."""
    if constraints is None:
        return None
    if isinstance(constraints, Mapping):
        raise Malformed("the constraints are a dict; give a sequence of numbers (<= 0 satisfied, > 0 violated)")
    if isinstance(constraints, np.ndarray) and constraints.ndim > 1:
        raise Malformed(f"the constraints are an array of shape {constraints.shape}; give a flat sequence")
    if isinstance(constraints, numbers.Real) or (isinstance(constraints, np.ndarray) and constraints.ndim == 0):
        constraints = [constraints]
    if isinstance(constraints, str | bytes) or not isinstance(constraints, Sequence | np.ndarray):
        raise Malformed(f"the constraints are a {type(constraints).__name__}; give a sequence of numbers")
    if len(constraints) > MAX_CONSTRAINTS:
        raise Malformed(f"{len(constraints)} constraint values, more than {MAX_CONSTRAINTS}")
    values = []
    for index, item in enumerate(constraints, 1):
        if isinstance(item, numbers.Real) and not isinstance(item, bool | np.bool_) and math.isnan(float(item)):
            raise Malformed(f"constraint {index} is NaN")
        values.append(_number(item, f"constraint {index}"))
    return tuple(values)


def _cases(cases: Any) -> tuple[float, ...] | None:
    """The per-case scores as a tuple of finite floats."""
    if cases is None:
        return None
    if isinstance(cases, str | bytes | Mapping) or not isinstance(cases, Sequence | np.ndarray):
        raise Malformed(f"the cases are a {type(cases).__name__}; give a sequence of numbers, one per case")
    if len(cases) > MAX_CASES:
        raise Malformed(f"{len(cases)} per-case scores, more than {MAX_CASES}")
    return tuple(_number(item, f"case {index}") for index, item in enumerate(cases, 1))


def _feedback(feedback: Any) -> Feedback | None:
    """The feedback as a text cut to `FEEDBACK_LIMIT` characters, or a flat dict of str -> str | number."""
    if feedback is None:
        return None
    if isinstance(feedback, str):
        return cut(feedback, FEEDBACK_LIMIT)
    if not isinstance(feedback, Mapping):
        raise Malformed(f"the feedback is a {type(feedback).__name__}; give a text or a flat dict")
    flat: dict[str, str | float] = {}
    room = FEEDBACK_LIMIT
    for key, item in feedback.items():
        if not isinstance(key, str):
            raise Malformed(f"the feedback's key {_shown(key)} is a {type(key).__name__}, not a text")
        entry = _feedback_item(key, item)
        if len(key) + len(str(entry)) > room:  # the keys that fit are kept, in order; a text is cut to the room left
            if isinstance(entry, str) and room - len(key) > 40:
                flat[key] = cut(entry, room - len(key))
            flat["…"] = f"cut at {FEEDBACK_LIMIT} characters"
            break
        room -= len(key) + len(str(entry))
        flat[key] = entry
    return flat


def _feedback_item(key: str, item: Any) -> str | float:
    if isinstance(item, str):
        return cut(item, FEEDBACK_LIMIT)
    if isinstance(item, Mapping | Sequence | np.ndarray) and not isinstance(item, str):
        raise Malformed(f"the feedback's {key!r} is a {type(item).__name__}; the feedback is a flat dict")
    return _number(item, f"the feedback's {key!r}")


def cut(text: str, limit: int) -> str:
    """`text` cut to at most `limit` characters, with a mark that says so."""
    if len(text) <= limit:
        return text
    mark = f" … (cut at {limit} characters)"
    return text[: max(limit - len(mark), 0)] + mark


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
