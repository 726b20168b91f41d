"""Stop rules: small callables, each named by the stop reason it gives, checked by the run's ledger.

A rule reads the ledger, the study's read-only view (its `result`, `problem`, `step`, `best_step`,
`clock`, `history()`), and says whether the run should stop; users add their own from Python, as
Optuna's callbacks allow: `compare(..., stop=[StopRule("enough", check)])` stops every method with it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from llmopt.core import stops
from llmopt.core.direction import reached

# A black-box search that asks this many new points in a row (and at least STALL_FLOOR) and gets no
# evaluation from any (each infeasible or failed), or asks STALL_ASKS_PER_EVAL times its budget in all
# (repeats included), has stalled: nothing it asks costs the budget, so nothing else would stop it.
STALL_FLOOR = 100
STALL_ASKS_PER_EVAL = 50


@dataclass(frozen=True)
class StopRule:
    """Stop with `reason` once `check(view)` is true (`view`: the run's ledger)."""

    reason: str
    check: Callable[[Any], bool]

    def __call__(self, view: Any) -> bool:
        """Whether the run should stop now."""
        return bool(self.check(view))


def at_most(reason: str, limit: float | None, spent: Callable[[Any], float]) -> StopRule | None:
    """Stop once `spent` reaches `limit` (no rule when there is no limit)."""
    if limit is None:
        return None
    return StopRule(reason, lambda view: spent(view) >= limit)


def target_rule(target: float | None) -> StopRule | None:
    """Stop once the best value reaches `target` (no rule without one)."""
    if target is None:
        return None
    return StopRule(stops.TARGET, lambda v: reached(v.result.best_value, target, v.result.direction))


def rules_for(config: Any) -> list[StopRule]:
    """The stop rules an `RunConfig` sets for a model-driven method, in the order their reasons take
    precedence."""
    rules = [
        target_rule(config.target),
        at_most(stops.MAX_STEPS, config.steps, lambda v: v.step),  # a run that took all its steps says so first
        at_most(stops.MAX_EVALS, config.max_evals, lambda v: v.result.counts.evals),
        at_most(stops.MAX_LLM_CALLS, config.max_llm_calls, lambda v: v.result.counts.llm_calls),
        at_most(stops.MAX_TOTAL_TOKENS, config.max_total_tokens, lambda v: v.result.counts.tokens),
        at_most(stops.MAX_COST, config.max_cost, lambda v: v.result.counts.cost(config.price) or 0.0),
        at_most(stops.TIMEOUT, config.timeout, lambda v: v.clock),
        at_most(stops.MAX_FAILURES, config.max_failures, lambda v: v.result.counts.failed_evals),
        at_most(stops.PATIENCE, config.patience, lambda v: v.step - v.best_step),
        at_most(stops.MAX_ANSWERS, config.steps * config.proposals, lambda v: v.result.counts.asked),
    ]
    return [rule for rule in rules if rule is not None]


def black_box_rules(
    max_evals: int, target: float | None, max_failures: int | None, timeout: float | None
) -> list[StopRule]:
    """The stop rules of a black-box method at the comparison's terms: the target, the budget, the time
    limit, failures (by default as many as the budget) and the stall bound, in that precedence."""
    fruitless = max(STALL_FLOOR, max_evals)
    asks = STALL_ASKS_PER_EVAL * max_evals + STALL_FLOOR
    rules = [
        target_rule(target),
        at_most(stops.MAX_EVALS, max_evals, lambda v: v.result.counts.evals),
        at_most(stops.TIMEOUT, timeout, lambda v: v.clock),
        at_most(
            stops.MAX_FAILURES
            if max_failures is not None
            else f"{stops.MAX_FAILURES} (the default: the budget, {max_evals})",
            max_failures if max_failures is not None else max_evals,
            lambda v: v.result.counts.failed_evals,
        ),
        StopRule(stops.STALLED, lambda v: v.fruitless >= fruitless or v.asks > asks),
    ]
    return [rule for rule in rules if rule is not None]


def first_reason(rules: Sequence[StopRule], view: Any) -> str | None:
    """The reason of the first rule that fires, or None to go on."""
    return next((rule.reason for rule in rules if rule(view)), None)
