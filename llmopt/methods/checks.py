"""The methods' half of the plugin contract: what every method owes a comparison, as a check anyone can run
(the problems' half is `llmopt.contract.checks`)."""

from __future__ import annotations

import math

from llmopt.contract.problem import Problem, evaluate_safely
from llmopt.core.direction import better
from llmopt.core.result import Result
from llmopt.core.stops import StopStatus, status_of
from llmopt.methods.method import Method, Setup


def check_method(method: Method, problem: Problem, setup: Setup) -> list[str]:
    """What every method owes a comparison, checked on one run of it under `setup`: its name and kind on the
    Result, a stop reason that is no crash, no more evaluations than the budget, each value the problem's own,
    and a best value that is the best of its feasible ones. Returns the failures (an empty list means it passes)."""
    result = method.run(problem, setup)
    failures = []
    if (result.method, result.kind) != (method.name, method.kind):
        failures.append(f"the Result names {result.method} ({result.kind}), not {method.name} ({method.kind})")
    if not result.stop_reason or status_of(result.stop_reason) is StopStatus.CRASHED:
        failures.append(f"stop reason {result.stop_reason!r}")
    evaluated = result.evaluated()
    if method.kind != "reference" and result.counts.evals > setup.max_evals:
        failures.append(f"{result.counts.evals} evaluations for a budget of {setup.max_evals}")
    for trial in evaluated[:5]:
        again = evaluate_safely(problem.evaluate, trial.solution, problem.objectives)
        if (again.value, again.values) != (trial.value, trial.values):
            failures.append(f"{trial.text} was recorded as {trial.values or trial.value}, not its value")
    return failures + _best_failures(problem, result)


def _best_failures(problem: Problem, result: Result) -> list[str]:
    """Whether the best value is the best of the feasible evaluations (the front's hypervolume, with several
    objectives)."""
    best = result.best_value
    if result.multiobjective:
        front = result.front()
        if front and (best is None or not math.isclose(best, result.hypervolume_of(front), rel_tol=1e-9)):
            return [f"best value {best} is not the hypervolume of its front"]
        return []
    values = [t.value for t in result.evaluated() if t.value is not None and t.feasible]
    if values and (best is None or any(better(problem.direction, value, best) for value in values)):
        return [f"best value {best} is not the best of its evaluations"]
    return []
