"""Every stop reason llmopt gives, and its status code (as scipy's `OptimizeResult.status`).

A stop reason is a string (the JSON and the tables show it as it is): one of the names below, perhaps with
a detail after a colon ("crashed: ValueError: x") or in parentheses ("max_failures (the default: the
budget, 30)"). `status_of` reads its status:

     0  FINISHED    the method ran its course: its steps, evaluations or answers spent, a search that
                    converged, a reference that solved, a fixed text scored
     1  TARGET      the target was reached
     2  LIMIT       another limit cut it short: model calls, tokens, cost, time, patience, a stalled search,
                    or a stop rule of the caller's (any reason this module does not name)
     3  FAILURES    as many evaluations failed as `max_failures` allows
     4  RUNNING     no stop reason yet: a run still going, or a Result built by hand
    -1  CRASHED     the method raised
    -2  INTERRUPTED the user interrupted it (Ctrl-C)
    -3  UNREACHABLE its model server (the optimizer's or the scorer's) went away
    -4  NOTHING_SCORED  every evaluation it made failed
    -5  NO_SOLUTION a reference's solution is no valid solution

A negative status is a failure: `Result.success` is false for it, as for a run without a solution or one
that has not stopped.
"""

from __future__ import annotations

import re
from enum import IntEnum
from typing import Any

from llmopt.core.errors import ServerUnreachable


class StopStatus(IntEnum):
    """A stop reason's status code: 0 or more for a method that stopped by a rule, negative for a failure."""

    FINISHED = 0
    TARGET = 1
    LIMIT = 2
    FAILURES = 3
    RUNNING = 4  # no stop reason yet: a run still going, or a Result built by hand
    CRASHED = -1
    INTERRUPTED = -2
    UNREACHABLE = -3
    NOTHING_SCORED = -4
    NO_SOLUTION = -5


# The method ran its course.
MAX_STEPS = "max_steps"
MAX_EVALS = "max_evals"
MAX_ANSWERS = "max_answers"  # a model-driven method drew steps × proposals answers
CONVERGED = "converged"  # a black-box search that ended by itself
SOLVED = "solved"  # a reference
FIXED = "fixed"  # a hand-written text, scored as it is
# The target was reached.
TARGET = "target"
# Another limit cut it short.
MAX_LLM_CALLS = "max_llm_calls"
MAX_TOTAL_TOKENS = "max_total_tokens"
MAX_COST = "max_cost"
TIMEOUT = "timeout"
PATIENCE = "patience"
STALLED = "stalled"  # a search whose asks bring nothing new
MAX_FAILURES = "max_failures"
# Failures.
CRASHED = "crashed"
INTERRUPTED = "interrupted"
MODEL_UNREACHABLE = "model_unreachable"  # the optimizer's model server went away
SCORER_UNREACHABLE = "scorer_unreachable"  # the server an evaluation asks went away
# The stop reason of a search that ended by itself having seen nothing but failed evaluations.
EVERY_EVALUATION_FAILED = "every evaluation failed"
NO_VALID_SOLUTION = "no valid solution"

# The stop reasons of a run whose model server (the optimizer's, or the one an evaluation asks) went away.
UNREACHABLE = (MODEL_UNREACHABLE, SCORER_UNREACHABLE)
# Model-request budgets: a method that asks no model never reaches them.
MODEL_LIMITS = (MAX_LLM_CALLS, MAX_TOTAL_TOKENS, MAX_COST)

STATUS: dict[str, StopStatus] = {
    **dict.fromkeys((MAX_STEPS, MAX_EVALS, MAX_ANSWERS, CONVERGED, SOLVED, FIXED), StopStatus.FINISHED),
    TARGET: StopStatus.TARGET,
    **dict.fromkeys((*MODEL_LIMITS, TIMEOUT, PATIENCE, STALLED), StopStatus.LIMIT),
    MAX_FAILURES: StopStatus.FAILURES,
    CRASHED: StopStatus.CRASHED,
    INTERRUPTED: StopStatus.INTERRUPTED,
    **dict.fromkeys(UNREACHABLE, StopStatus.UNREACHABLE),
    EVERY_EVALUATION_FAILED: StopStatus.NOTHING_SCORED,
    NO_VALID_SOLUTION: StopStatus.NO_SOLUTION,
}

_DETAIL = re.compile(r"\s*[:(].*", re.DOTALL)


def name_of(reason: str) -> str:
    """The stop reason without its detail: "crashed" for "crashed: ValueError: x"."""
    return _DETAIL.sub("", reason, count=1)


def status_of(reason: str) -> StopStatus:
    """The status of a stop reason, its detail aside; LIMIT for a reason of the caller's own stop rule, RUNNING
    for none yet."""
    if not reason:
        return StopStatus.RUNNING
    return STATUS.get(name_of(reason), StopStatus.LIMIT)


def with_detail(name: str, detail: str) -> str:
    """A stop reason with its detail after a colon ("crashed: ValueError: x")."""
    return f"{name}: {detail}"


def raise_if_unreachable(result: Any) -> Any:
    """The Result, unless its model server went away: that is no result, so it stops the comparison."""
    if status_of(result.stop_reason) is StopStatus.UNREACHABLE:
        raise ServerUnreachable(result.extra.get("error", "the model server stopped answering"))
    return result
