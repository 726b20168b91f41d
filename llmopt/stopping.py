"""Stop rules: small callables, each named by the stop reason it gives, checked between steps.

A rule reads the driver (its Result, step, clock) and says whether the run should stop; users add
their own from Python, as Optuna's callbacks allow: `Driver(..., stop=[StopRule("enough", check)])`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Sequence

from llmopt.result import reached

if TYPE_CHECKING:
    from llmopt.driver import Driver


@dataclass(frozen=True)
class StopRule:
    """Stop with `reason` once `check(driver)` is true."""

    reason: str
    check: Callable[[Driver], bool]

    def __call__(self, driver: Driver) -> bool:
        """Whether the run should stop now."""
        return bool(self.check(driver))


def at_most(reason: str, limit: float | None, spent: Callable[[Driver], float]) -> StopRule | None:
    """Stop once `spent` reaches `limit` (no rule when there is no limit)."""
    if limit is None:
        return None
    return StopRule(reason, lambda driver: spent(driver) >= limit)


def rules_for(config: Any) -> list[StopRule]:
    """The stop rules an `OPROConfig` sets, in the order their reasons take precedence."""
    target = None if config.target is None else StopRule(
        "target", lambda d: reached(d.result.best_value, config.target, d.problem.direction))
    rules = [
        target,
        at_most("max_steps", config.steps, lambda d: d.step),  # a run that took all its steps says so first
        at_most("max_evals", config.max_evals, lambda d: d.result.counts.evals),
        at_most("max_llm_calls", config.max_llm_calls, lambda d: d.result.counts.llm_calls),
        at_most("max_total_tokens", config.max_total_tokens, lambda d: d.result.counts.tokens),
        at_most("max_cost", config.max_cost, lambda d: d.result.counts.cost(config.price) or 0.0),
        at_most("timeout", config.timeout, lambda d: d.clock),
        at_most("max_failures", config.max_failures, lambda d: d.result.counts.failed_evals),
        at_most("patience", config.patience, lambda d: d.step - d.best_step),
        at_most("max_answers", config.steps * config.proposals, lambda d: d.result.counts.asked),
    ]
    return [rule for rule in rules if rule is not None]


def first_reason(rules: Sequence[StopRule], driver: Driver) -> str | None:
    """The reason of the first rule that fires, or None to go on."""
    return next((rule.reason for rule in rules if rule(driver)), None)
