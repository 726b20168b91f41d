"""What every compared method receives and returns, and the one door black-box methods have to a problem."""

from __future__ import annotations

import time
import warnings
from typing import Any, Callable

from llmopt.errors import UsageError
from llmopt.method import Method, Setup
from llmopt.problem import Problem, evaluate_safely, usage_since
from llmopt.result import Kind, Result, Trial, reached, to_loss, worst

__all__ = ["BudgetSpent", "Method", "Objective", "Setup", "Stalled", "TargetReached", "TooManyFailures",
           "black_box", "best_start", "crashed", "random_sampling", "reference"]


class BudgetSpent(Exception):
    """Raised inside a black-box method when it asks for one evaluation more than its budget."""


class Stalled(Exception):
    """Raised inside a black-box method that has only revisited old solutions for a long time."""


class TargetReached(Exception):
    """Raised inside a black-box method once a solution reaches the comparison's target."""


class TooManyFailures(Exception):
    """Raised inside a black-box method once its failed evaluations reach the limit."""


class Objective:
    """A black-box method's only access to a problem: evaluates, records, and stops at the budget.

    A repeated solution costs no evaluation (as OPRO's duplicates cost none); a search that asks for
    fifty times its budget has stalled and is stopped. A failed evaluation (an exception, a NaN) or
    a solution the objective calls infeasible (`InvalidSolution`, counted as invalid, as OPRO's
    rejected proposals are) is recorded with its reason, costs no evaluation, and looks to the search
    like the worst possible value; `max_failures` failed evaluations (by default as many as the
    budget) stop the method.
    """

    def __init__(self, problem: Problem, result: Result, setup: Setup) -> None:
        self.problem, self.result, self.max_evals, self.target = problem, result, setup.max_evals, setup.target
        self.max_failures = setup.max_failures if setup.max_failures is not None else setup.max_evals
        self._seen: dict[str, float] = {}
        self._calls = 0

    def __call__(self, solution: Any) -> float:
        """The value of `solution`."""
        self._calls += 1
        if self._calls > 50 * self.max_evals + 100:
            raise Stalled
        key = self.problem.key(solution)
        if key in self._seen:
            return self._seen[key]
        if self.spent:
            raise BudgetSpent
        value, reason, outcome = evaluate_safely(self.problem.evaluate, solution)
        if reason is not None:  # failed, or infeasible (recorded as invalid): no evaluation spent
            self.result.add(Trial(None, outcome, text=self.problem.encode(solution), solution=solution, reason=reason))
            if self.result.counts.failed_evals >= self.max_failures:
                raise TooManyFailures
            self._seen[key] = value = worst(self.problem.direction)
            return value
        self._seen[key] = value
        self.result.add(Trial(None, "ok", text=self.problem.encode(solution), solution=solution, value=value))
        if self.target is not None and reached(value, self.target, self.problem.direction):
            raise TargetReached
        return value

    @property
    def spent(self) -> bool:
        """Whether the evaluation budget is used up."""
        return self.result.counts.evals >= self.max_evals

    @property
    def distinct(self) -> int:
        """How many different solutions have been asked about (evaluated, failed or infeasible)."""
        return len(self._seen)

    def loss(self, solution: Any) -> float:
        """The value to minimise: the value itself, or its negation for a maximisation problem."""
        return to_loss(self(solution), self.problem.direction)


Search = Callable[[Any, Objective, Setup], "str | None"]


def black_box(name: str, search: Search, default: bool = True) -> Method:
    """A black-box method from a search over the problem's space that only calls the Objective."""

    def run(problem: Problem, setup: Setup) -> Result:
        result = _empty(problem, name, "black-box")
        began, usage = time.perf_counter(), problem.usage()
        try:
            objective = Objective(problem, result, setup)
            with warnings.catch_warnings():  # scipy warns about the infinite values failures stand for
                warnings.simplefilter("ignore", RuntimeWarning)
                result.stop_reason = search(problem.space, objective, setup) or "converged"
        except BudgetSpent:
            result.stop_reason = "max_evals"
        except Stalled:
            result.stop_reason = "stalled"
        except TargetReached:
            result.stop_reason = "target"
        except TooManyFailures:
            result.stop_reason = "max_failures"
        except UsageError:  # the user's to mend (and a model server that refuses or is gone)
            raise
        except Exception as error:  # a library that cannot cope (e.g. with nothing but failures): data, not a crash
            result.stop_reason = crashed(error)
        result.seconds = time.perf_counter() - began
        result.extra["usage"] = usage_since(problem, usage)
        return result

    return Method(name, "black-box", run, default=default)


def reference(name: str, solve: Callable[[], Any]) -> Method:
    """A white-box method: `solve` uses the problem's structure; it has no evaluation budget or count."""

    def run(problem: Problem, setup: Setup) -> Result:
        began = time.perf_counter()
        try:
            solution, error = solve(), None
        except UsageError:
            raise
        except Exception as failure:  # the problem's own solver failed: recorded, the comparison goes on
            solution, error = None, failure
        seconds = time.perf_counter() - began
        result = _empty(problem, name, "reference")  # after the clock: optimum() may share the solver's work
        result.seconds = seconds
        if error is not None:
            result.stop_reason = crashed(error)
            return result
        value, reason, _ = evaluate_safely(problem.evaluate, solution)
        result.best_solution, result.best_value = solution, value
        result.stop_reason = "solved" if reason is None else f"no valid solution: {reason}"
        return result

    return Method(name, "reference", run)


CRASHED = "crashed"


def crashed(error: BaseException) -> str:
    """The stop reason of a method that raised: what it raised, in one line."""
    text = " ".join(str(error).split())[:200]
    return f"{CRASHED}: {type(error).__name__}" + (f": {text}" if text else "")


def _empty(problem: Problem, method: str, kind: Kind) -> Result:
    return Result(method=method, problem=problem.name, direction=problem.direction, kind=kind,
                  optimum=problem.optimum())


def random_sampling(space: Any, f: Objective, setup: Setup) -> None:
    """Uniform random solutions of the space until the budget is spent."""
    rng = setup.generator()
    while True:
        f(space.sample(rng, 1)[0])


def best_start(space: Any, f: Objective, setup: Setup, k: int = 5) -> Any:
    """Evaluate the shared start points (or k random ones) and return the best."""
    starts = list(setup.starts) or space.sample(setup.generator(stream=1), k)
    return min(starts, key=f.loss)
