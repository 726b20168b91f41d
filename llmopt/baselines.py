"""Classical baselines at equal budget, recorded in the same Result type as OPRO."""

from __future__ import annotations

import time
from typing import Any, Callable

from llmopt.problem import Budget, Problem, UsageError
from llmopt.result import Result, Trial


class BudgetExhausted(Exception):
    """Raised inside a baseline when it asks for more evaluations than its budget."""


class Tracker:
    """Evaluates for a baseline: counts evaluations, caches repeats, stops at the budget."""

    def __init__(self, problem: Problem, result: Result, budget: Budget) -> None:
        self.problem, self.result, self.budget = problem, result, budget
        self._seen: dict[str, float] = {}
        self._calls = 0

    def __call__(self, solution: Any) -> float:
        """The value of `solution`; a repeat costs no evaluation, as in OPRO."""
        self._calls += 1
        key = self.problem.key(solution)
        if key in self._seen:
            if self._calls > 50 * self.budget.max_evals + 100:
                raise BudgetExhausted  # a search that only revisits old points has converged
            return self._seen[key]
        if self.result.counts.evals >= self.budget.max_evals:
            raise BudgetExhausted
        value = self.problem.evaluate(solution)
        self._seen[key] = value
        self.result.counts.evals += 1
        self.result.trials.append(Trial(step=self.result.counts.evals, status="ok",
                                        text=self.problem.encode(solution), solution=solution,
                                        value=value))
        if self.result.best_value is None or self.problem.better(value, self.result.best_value):
            self.result.best_value, self.result.best_solution = value, solution
        return value


def run_tracked(problem: Problem, method: str, budget: Budget,
                search: Callable[[Tracker], Any]) -> Result:
    """Run `search` with a Tracker and package what it evaluated as a Result."""
    result = Result(method=method, problem=problem.name, direction=problem.direction,
                    optimum=problem.optimum())
    start, usage = time.perf_counter(), problem.usage()
    try:
        search(Tracker(problem, result, budget))
        result.stop_reason = "converged"
    except BudgetExhausted:
        result.stop_reason = "max_evals"
    result.seconds = time.perf_counter() - start
    result.extra["usage"] = usage_since(problem, usage)
    return result


def usage_since(problem: Problem, before: dict[str, int]) -> dict[str, int]:
    """What the problem's own evaluation cost since the `before` snapshot."""
    return {key: value - before.get(key, 0) for key, value in problem.usage().items()}


def run_baselines(problem: Problem, budget: Budget, names: list[str] | None = None) -> list[Result]:
    """Run the named baselines (all by default) with the same budget."""
    available = problem.baselines()
    unknown = sorted(set(names or []) - set(available))
    if unknown:
        raise UsageError(f"unknown baseline {', '.join(unknown)}; choose from {', '.join(available)}")
    return [available[name](budget) for name in (names or available)]
