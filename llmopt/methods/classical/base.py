"""What every compared method receives and returns, and the one door black-box methods have to a problem.

A black-box method's module, built in or a plugin's, imports all it needs from here (`__all__`): the
Objective and the search helpers written here, and Method, Methods, Setup, Stop and `crashed`, whose
homes are `llmopt.methods.method` and `llmopt.engine.ledger`."""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from llmopt.contract.problem import Problem, evaluate_safely, new_result, usage_since
from llmopt.core.direction import to_loss, worst
from llmopt.core.errors import UsageError
from llmopt.core.feasibility import rank_key, violation
from llmopt.core.result import Kind, Result
from llmopt.core.stops import CONVERGED, EVERY_EVALUATION_FAILED, MAX_EVALS, NO_VALID_SOLUTION, SOLVED, with_detail
from llmopt.engine.evaluation import Scored
from llmopt.engine.ledger import Ledger, Stop, first_new, scored_trial
from llmopt.engine.stopping import black_box_rules
from llmopt.methods.method import Method, Methods, Setup, crashed  # noqa: F401  (for black-box methods: see __all__)

__all__ = [
    "Method",
    "Methods",
    "Objective",
    "Search",
    "Setup",
    "Stop",
    "black_box",
    "best_start",
    "constraints_of",
    "crashed",
    "fitted",
    "random_sampling",
    "reference",
]


class Objective:
    """A black-box method's only access to a problem: every point it asks about goes to the run's ledger.

    A repeated solution costs no evaluation (as OPRO's duplicates cost none). A failed evaluation (an
    exception, a NaN, a time limit) or a solution the objective calls infeasible (`InvalidSolution`,
    counted as invalid, as OPRO's rejected proposals are) is recorded with its reason, costs no
    evaluation, and looks to the search like the worst possible value. `batch` asks for several points
    at once, evaluated side by side on the run's evaluator; once the ledger says the method must stop
    (its budget, target, time, failures, a stall or a rule of the caller's), asking raises `Stop`.

    With several objectives (`problem.objectives > 1`) a point's value is the tuple of its values, a failed
    or invalid point's the worst of each objective (+inf or -inf by its direction), never penalised: the
    libraries take constraints themselves (`constraints`). `loss`, `losses`, `evaluations` and `best_start`
    rank points by one number, and are for a single objective only.
    """

    def __init__(self, problem: Problem, ledger: Ledger) -> None:
        if ledger.max_evals is None:  # the searches run until the ledger stops them: without a budget, never
            raise ValueError("a black-box method's ledger needs an evaluation budget (max_evals)")
        self.problem, self.ledger = problem, ledger
        self.result, self.max_evals = ledger.result, ledger.max_evals
        self.multiobjective = problem.objectives > 1
        self._seen: dict[str, Any] = {}  # key -> the point's value or values (the worst for a failed one)
        self._raw: dict[str, Any] = {}  # key -> the value(s) itself, for a search that takes constraints
        self._constraints: dict[str, tuple[float, ...] | None] = {}
        self._worst_feasible: float | None = None  # the worst feasible loss so far: Deb's penalty starts there

    @classmethod
    def on_terms(cls, problem: Problem, setup: Setup, result: Result) -> Objective:
        """The Objective of a black-box run on the Setup's terms, with a ledger of its own recording in `result`."""
        rules = black_box_rules(setup.max_evals, setup.target, setup.max_failures, setup.timeout)
        return cls(
            problem,
            Ledger(
                problem, result, max_evals=setup.max_evals, evaluation=setup.evaluation, rules=[*rules, *setup.stop]
            ),
        )

    @property
    def workers(self) -> int:
        """How many evaluations run at once: the batch a method that can ask several points should ask."""
        return self.ledger.evaluation.workers

    def __call__(self, solution: Any) -> Any:
        """The value of `solution` (with several objectives, the tuple of its values)."""
        return self.batch([solution])[0]

    def batch(self, solutions: Sequence[Any]) -> list[Any]:
        """The values of `solutions` (floats, or tuples with several objectives), the new ones evaluated side
        by side in one round, each recorded in the order asked; once the ledger says stop (after any of
        them), the rest is not evaluated."""
        ledger = self.ledger
        ledger.asks += len(solutions)
        self._stop_if_done()
        keys = [self.problem.key(s) for s in solutions]
        fresh = first_new(keys, self._seen)
        names, new = list(fresh), [solutions[index] for index in fresh.values()]

        def commit(index: int, outcome: Scored) -> bool:
            self._record(names[index], new[index], outcome)
            ledger.step = ledger.round_of(new[index]) or ledger.step  # a stop rule's step is the round
            return ledger.stop_reason() is not None

        if new:
            ledger.score(new, commit=commit)
        self._stop_if_done()
        if any(key not in self._seen for key in keys):  # the budget had no room for them
            raise Stop(ledger.stop_reason() or MAX_EVALS)
        return [self._view(key) for key in keys]

    def _view(self, key: str) -> Any:
        """The value the search sees of an evaluated point: its own for a feasible or failed one (the worst)
        and for any point with several objectives; for an infeasible one, Deb's penalty as it stands now (it
        follows the worst feasible loss so far, so that the order points were evaluated in does not change
        how they compare)."""
        value, constraints = self._raw[key], self._constraints[key]
        broken = violation(constraints)
        if broken == 0 or self.multiobjective:
            return value
        return to_loss((self._worst_feasible or 0.0) + broken, self.problem.direction)

    def _record(self, key: str, solution: Any, outcome: Scored) -> None:
        value: Any = outcome.values if self.multiobjective else outcome.value
        constraints = outcome.constraints
        self.ledger.record(scored_trial(self.problem, None, solution, outcome))  # a failed or invalid one costs nothing
        if value is not None:
            self.ledger.fruitless = 0
            if violation(constraints) == 0 and not self.multiobjective:  # Deb's penalty starts from the worst
                loss = to_loss(value, self.problem.direction)  # feasible loss
                self._worst_feasible = loss if self._worst_feasible is None else max(self._worst_feasible, loss)
        else:
            self.ledger.fruitless += 1
            value, constraints = self._worst(), None
        self._seen[key] = self._raw[key] = value
        self._constraints[key] = constraints

    def _worst(self) -> Any:
        """What a failed point looks like to the search: the worst value, or the worst of each objective."""
        if self.multiobjective:
            return tuple(worst(direction) for direction in self.problem.directions or ())
        return worst(self.problem.direction)

    def _single(self, name: str) -> None:
        """Refuse what ranks points by one number on a problem with several objectives."""
        if self.multiobjective:
            raise ValueError(f"Objective.{name} is for one objective; with several, batch gives each point's values")

    def constraints(self, solution: Any) -> tuple[float, ...] | None:
        """The constraint values of an evaluated `solution` (None for none, or not evaluated)."""
        return self._constraints.get(self.problem.key(solution))

    def evaluations(self, solutions: Sequence[Any]) -> list[tuple[float, tuple[float, ...]]]:
        """For a search that takes constraints itself: each solution's loss as the problem gives it (no
        penalty; the worst for a failed one) and its constraint values (Optuna's convention; () for none),
        both from one evaluation, the new ones evaluated side by side in one round (one objective only)."""
        self._single("evaluations")
        self.batch(solutions)
        keys = [self.problem.key(s) for s in solutions]
        direction = self.problem.direction
        return [(to_loss(self._raw[key], direction), self._constraints[key] or ()) for key in keys]

    def values(self, solutions: Sequence[Any]) -> list[tuple[float, ...]]:
        """For a search that takes constraints itself and one value or several: each solution's values as the
        problem gives them (no penalty; a 1-tuple with one objective; the worst of each for a failed one),
        the new ones evaluated side by side in one round. Their constraints: `constraints`."""
        self.batch(solutions)
        raw = [self._raw[self.problem.key(s)] for s in solutions]
        return [tuple(value) if self.multiobjective else (value,) for value in raw]

    def constraint_count(self) -> int:
        """How many constraint values the evaluations so far gave (the most any one gave; 0 for none)."""
        return max((len(c) for c in self._constraints.values() if c), default=0)

    def _stop_if_done(self) -> None:
        reason = self.ledger.stop_reason()
        if reason is not None:
            raise Stop(reason)

    def loss(self, solution: Any) -> float:
        """The value to minimise: the value itself, or its negation for a maximisation problem (one objective)."""
        self._single("loss")
        return to_loss(self(solution), self.problem.direction)

    def losses(self, solutions: Sequence[Any]) -> list[float]:
        """`loss` of each solution, the new ones evaluated side by side in one round (one objective only)."""
        self._single("losses")
        return [to_loss(value, self.problem.direction) for value in self.batch(solutions)]


Search = Callable[[Any, Objective, Setup], "str | None"]


def black_box(name: str, search: Search, default: bool = True, multiobjective: bool = False) -> Method:
    """A black-box method from a search over the problem's space that only calls the Objective; it stops
    when the ledger says so (with the ledger's reason), or "converged" when the search ends by itself.
    `multiobjective` marks a search that takes each point's tuple of values (`Objective.batch`)."""

    def run(problem: Problem, setup: Setup) -> Result:
        result = _empty(problem, name, "black-box")
        usage = problem.usage()
        objective = Objective.on_terms(problem, setup, result)
        ledger = objective.ledger
        try:
            with ledger.timed(), warnings.catch_warnings():  # scipy warns about the infinite values failures stand for
                warnings.simplefilter("ignore", RuntimeWarning)
                result.stop_reason = search(problem.space, objective, setup) or _converged(result)
        except Stop as stop:
            result.stop_reason = stop.reason
        except UsageError:  # the user's to mend (and a model server that refuses or is gone)
            raise
        except Exception as error:  # a library that cannot cope (e.g. with nothing but failures): data, not a crash
            result.stop_reason = crashed(error)
        finally:
            ledger.close()
        result.seconds = ledger.clock
        result.extra["usage"] = usage_since(problem, usage)
        return result

    return Method(name, "black-box", run, default=default, multiobjective=multiobjective)


def _converged(result: Result) -> str:
    """ "converged" for a search that ended by itself, unless nothing it evaluated ever gave a value: a search
    that saw only failures found nothing to converge to."""
    return EVERY_EVALUATION_FAILED if result.counts.nothing_scored else CONVERGED


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
        outcome = evaluate_safely(problem.evaluate, solution)
        if outcome.value is not None and violation(outcome.constraints) == 0:
            result.best_solution, result.best_value = solution, outcome.value
        reason = outcome.reason if outcome.value is None or violation(outcome.constraints) == 0 else "infeasible"
        result.stop_reason = SOLVED if reason is None else with_detail(NO_VALID_SOLUTION, reason)
        return result

    return Method(name, "reference", run)


def _empty(problem: Problem, method: str, kind: Kind) -> Result:
    return new_result(problem, method, kind)


def random_sampling(space: Any, f: Objective, setup: Setup) -> None:
    """Uniform random solutions of the space until the budget is spent, as many at once as evaluations run
    (drawn one by one, so the points are the same whatever that number)."""
    rng = setup.generator()
    while True:
        f.batch([space.sample(rng, 1)[0] for _ in range(f.workers)])


def best_start(space: Any, f: Objective, setup: Setup, k: int = 5) -> Any:
    """Evaluate the shared start points (or k random ones) and return the best by Deb's rules (the lowest
    loss when there are no constraints; the first of equals). One objective only."""
    starts = list(setup.starts) or space.sample(setup.generator(stream=1), k)
    scored = f.evaluations(starts)  # one round
    ranks = [rank_key(loss, constraints, "min") for loss, constraints in scored]
    return starts[ranks.index(min(ranks))]


def constraints_of(f: Objective) -> Callable[[Any], np.ndarray]:
    """solution -> the constraint values its evaluation gave (Optuna's convention, c <= 0 met), for a library
    that takes them itself, declared or not: a library needs a fixed number of them, the most any evaluation so
    far gave (at least one), fixed at the first call; a point that gave fewer (or none) counts the rest as met,
    one that gave more has the worst of the extra ones in the last place (`fitted`)."""
    width: list[int] = []

    def of(solution: Any) -> np.ndarray:
        if not width:
            width.append(max(f.constraint_count(), 1))
        return fitted(f.constraints(solution) or (), width[0])

    return of


def fitted(found: Sequence[float], width: int) -> np.ndarray:
    """Constraint values fitted to `width` places: padded with met ones (0), or the last place holding the
    worst of those beyond it (Optuna's convention: the maximum is met exactly when all are), so that none is
    dropped: the point is feasible exactly when all of them are met."""
    padded = np.zeros(width)
    padded[: min(len(found), width)] = found[:width]
    if len(found) > width:
        padded[-1] = max(found[width - 1 :])
    return padded
