"""One ledger per method run: every evaluation of every kind of method is scored, counted and stopped here.

A black-box method reaches it through the `Objective`, a model-driven one through the driver. The
ledger holds the Result, the history of evaluated solutions (the duplicate rule), the evaluation
budget, the clock and the stop rules, and it scores batches: up to `workers` evaluations at once,
never more than the budget has room for, each handed to `on_result` (the journal) the moment it lands
and cut, as failed, past its time limit. It is also the read-only view of the study that stop rules
and proposers read: `result`, `problem`, `step`, `best_step`, `clock`, `history()`.
"""

from __future__ import annotations

import time
from time import monotonic  # deadlines; `time.perf_counter` is the run's clock
from concurrent.futures import FIRST_COMPLETED, Future, wait
from contextlib import contextmanager
from typing import Any, Callable, Iterator, Sequence

from llmopt.evaluation import Evaluation, Evaluator, Scored
from llmopt.errors import ENDS_THE_RUN
from llmopt.problem import Problem
from llmopt.result import Result, Trial
from llmopt.stopping import first_reason

OnResult = Callable[[int, Scored], None]


class Stop(Exception):
    """Raised inside a black-box search when the ledger says it must stop; `reason` is the ledger's."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Ledger:
    """Every evaluation of one method run, and every rule that stops it.

    `max_evals` is the evaluation budget (None: no budget); `rules` are `StopRule`s over this ledger,
    in the order their reasons take precedence; `evaluation` says where and how many evaluations run.
    """

    def __init__(self, problem: Problem, result: Result, *, max_evals: int | None, rules: Sequence[Any] = (),
                 evaluation: Evaluation = Evaluation()) -> None:
        self.problem, self.result, self.max_evals = problem, result, max_evals
        self.rules = list(rules)
        self.evaluation = evaluation
        self.step = self.best_step = 0  # a model-driven method's step; a black-box method's round
        self.rounds = 0  # batches that went to the evaluator: the wall-clock measure of an expensive objective
        self.asks = 0  # what a black-box search asked for, repeats included
        self.fruitless = 0  # new points asked in a row that gave no evaluation (infeasible or failed)
        self._clock, self._since = 0.0, None
        self._history: dict[str, tuple[str, float]] = {}  # key -> (solution text, value)
        self._round_of: dict[str, int] = {}
        self._evaluator: Evaluator | None = None

    # -- the study's state -------------------------------------------------------------------

    def history(self) -> list[tuple[str, float]]:
        """Every evaluated (solution text, value), first seen first."""
        return list(self._history.values())

    def known(self, solution: Any) -> bool:
        """Whether `solution` was evaluated already (the duplicate rule)."""
        return self.problem.key(solution) in self._history

    @property
    def evals_left(self) -> int | float:
        """How many more evaluations the budget allows."""
        return float("inf") if self.max_evals is None else max(self.max_evals - self.result.counts.evals, 0)

    @property
    def budget_spent(self) -> bool:
        """Whether the evaluation budget is used up."""
        return self.evals_left <= 0

    @property
    def clock(self) -> float:
        """Seconds of the run's own work so far (resumes included), the one running now too."""
        return self._clock + (time.perf_counter() - self._since if self._since is not None else 0.0)

    @clock.setter
    def clock(self, seconds: float) -> None:
        self._clock = seconds

    @contextmanager
    def timed(self) -> Iterator[None]:
        """Count the time spent inside on the clock (nested blocks count once)."""
        if self._since is not None:
            yield
            return
        self._since = time.perf_counter()
        try:
            yield
        finally:
            self._clock += time.perf_counter() - self._since
            self._since = None

    def stop_reason(self) -> str | None:
        """The reason of the first stop rule that fires, or None to go on."""
        return first_reason(self.rules, self)

    # -- recording ---------------------------------------------------------------------------

    def record(self, trial: Trial, retry: bool = False) -> None:
        """Add a trial to the Result and the history: the one place counts change, live and on replay."""
        counts, best = self.result.counts, self.result.best_value
        if trial.step and not retry:
            counts.proposals += 1
        if trial.first_attempt is not None:
            counts.add_invalid(trial.first_attempt["reason"])
        if trial.status == "duplicate":
            counts.duplicates += 1
        if retry and trial.status == "ok":
            counts.failed_evals -= 1  # a failure put right no longer counts against `max_failures`
        if trial.solution is not None and trial.round is None and trial.status not in ("duplicate", "skipped"):
            trial.round = self._round_of.get(self.problem.key(trial.solution))
        if trial.round is not None:
            self.rounds = max(self.rounds, trial.round)
            counts.rounds = max(counts.rounds, trial.round)
        self.result.add(trial)
        if trial.eval_index is None:
            return
        self._history[self.problem.key(trial.solution)] = (trial.text or "", trial.value)
        if self.result.best_value != best:  # a method without steps counts its rounds
            self.best_step = trial.step if trial.step is not None else (trial.round or 0)

    # -- scoring -----------------------------------------------------------------------------

    def score(self, solutions: Sequence[Any], on_result: OnResult | None = None,
              room: int | float | None = None) -> list[Scored | None]:
        """Evaluate `solutions` (distinct, none evaluated before) side by side, as many at once as the
        evaluator runs, in order, and no more than `room` (the budget left) of them successfully: a
        failure leaves its place to the next. Each outcome goes to `on_result(index, outcome)` as it
        lands; None stands where the budget left no room.

        The evaluations take `ceil(started / workers)` rounds: one per batch when it fits the workers,
        one per evaluation with one worker; the k-th started is in the batch's round k // workers.
        """
        room = self.evals_left if room is None else room
        outcomes: list[Scored | None] = [None] * len(solutions)
        if not solutions or room <= 0:
            return outcomes
        with self.timed():
            self._score_all(list(solutions), outcomes, on_result, room)
        return outcomes

    def _score_all(self, solutions: list[Any], outcomes: list[Scored | None], on_result: OnResult | None,
                   room: int | float) -> None:
        evaluator, waiting = self._start(), iter(range(len(solutions)))
        running: dict[Future, tuple[int, float | None]] = {}
        good = started = 0
        first_round = self.rounds + 1
        try:
            while True:
                while len(running) < evaluator.workers and good + len(running) < room:
                    index = next(waiting, None)
                    if index is None:
                        break
                    in_round = first_round + started // evaluator.workers
                    self._round_of[self.problem.key(solutions[index])] = in_round
                    self.rounds, started = max(self.rounds, in_round), started + 1
                    running[evaluator.submit(solutions[index])] = (index, self._deadline())
                if not running:
                    return
                for future, outcome in self._landed(running):
                    index, _ = running.pop(future)
                    outcomes[index] = outcome
                    good += outcome[0] is not None
                    if on_result is not None:
                        on_result(index, outcome)
        except BaseException:  # Ctrl-C, or a scorer's server gone: nothing more runs, nothing is waited for
            for future in running:
                future.cancel()
            self.close()
            raise

    def _deadline(self) -> float | None:
        timeout = self.evaluation.timeout
        return None if timeout is None else monotonic() + timeout

    def _landed(self, running: dict[Future, tuple[int, float | None]]) -> list[tuple[Future, Scored]]:
        """The evaluations that ended (or ran past their time limit), in the order they were started."""
        deadlines = [deadline for _, deadline in running.values() if deadline is not None]
        wait_for = max(0.0, min(deadlines) - monotonic()) if deadlines else None
        done, _ = wait(list(running), timeout=wait_for, return_when=FIRST_COMPLETED)
        landed = [(future, _outcome(future)) for future in done]
        now = monotonic()
        for future, (_, deadline) in running.items():
            if future not in done and deadline is not None and deadline <= now:
                future.cancel()  # a process is killed; a thread or a Dask task is abandoned
                landed.append((future, (None, f"timed out after {self.evaluation.timeout:g} s", "failed")))
        return sorted(landed, key=lambda item: running[item[0]][0])

    def _start(self) -> Evaluator:
        if self._evaluator is None:
            self._evaluator = self.evaluation.start(self.problem)
        return self._evaluator

    def close(self) -> None:
        """Stop the evaluator's workers (the next round starts new ones)."""
        if self._evaluator is not None:
            evaluator, self._evaluator = self._evaluator, None
            evaluator.close()


def _outcome(future: Future) -> Scored:
    """A landed evaluation's outcome; a worker that died is a failed evaluation, a scorer gone ends the run."""
    try:
        return future.result()
    except ENDS_THE_RUN:
        raise
    except Exception as error:  # the worker process died (a crash, os._exit, a kill): that one trial failed
        text = " ".join(str(error).split())[:200]
        return None, f"the evaluation's worker died ({type(error).__name__}{': ' + text if text else ''})", "failed"

