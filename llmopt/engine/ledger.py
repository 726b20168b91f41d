"""One ledger per method run: every evaluation of every kind of method is scored, counted and stopped here.

A black-box method reaches it through the `Objective`, a model-driven one through the driver. The
ledger holds the Result, the history of evaluated solutions (the duplicate rule), the evaluation
budget, the clock and the stop rules, and it scores batches: up to `workers` evaluations at once,
never more than the budget has room for, each handed to `on_result` (the journal) the moment it lands
and cut, as failed, past its time limit. It is also the read-only view of the study that stop rules
read (`result`, `problem`, `step`, `best_step`, `clock`, `history()`), and the `Study` a proposer reads
(`llmopt.engine.proposer`: the step, the history, the answers and evaluations left, the run's generator).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Container, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, wait
from contextlib import contextmanager
from time import monotonic  # deadlines; `time.perf_counter` is the run's clock
from typing import Any

import numpy as np

from llmopt.contract.problem import Problem, Scored, one_line
from llmopt.core.errors import ENDS_THE_RUN
from llmopt.core.result import Result, Spent, Trial
from llmopt.engine.evaluation import EvalSettings, Evaluator, WorkerDied
from llmopt.engine.proposer import Seen
from llmopt.engine.stopping import first_reason

OnResult = Callable[[int, Scored], None]
Commit = Callable[[int, Scored], bool]


def first_new(keys: Sequence[str | None], known: Container[str]) -> dict[str, int]:
    """key -> index of its first occurrence, for the keys not `known` (None stands for no solution)."""
    fresh: dict[str, int] = {}
    for index, key in enumerate(keys):
        if key is not None and key not in known and key not in fresh:
            fresh[key] = index
    return fresh


def scored_trial(problem: Problem, step: int | None, solution: Any, outcome: Scored, raw: str | None = None) -> Trial:
    """The trial of a scored solution: its outcome's status, value or reason, and what the objective said."""
    value, reason, status, feedback, constraints, cases, values = outcome
    return Trial(
        step,
        status,
        raw=raw,
        text=problem.encode(solution),
        solution=solution,
        value=value,
        reason=reason,
        feedback=feedback,
        constraints=constraints,
        cases=cases,
        values=values,
    )


class Stop(Exception):
    """Raised inside a black-box search when the ledger says it must stop; `reason` is the ledger's."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Ledger:
    """Every evaluation of one method run, and every rule that stops it.

    `max_evals` is the evaluation budget (None: no budget); `rules` are `StopRule`s over this ledger,
    in the order their reasons take precedence; `evaluation` says where and how many evaluations run.
    A model-driven run also gives the `seed` of its generator, the model `answers` it may draw in all
    (a black-box method draws none) and `max_llm_calls`.
    """

    def __init__(
        self,
        problem: Problem,
        result: Result,
        *,
        max_evals: int | None,
        rules: Sequence[Any] = (),
        evaluation: EvalSettings = EvalSettings(),
        seed: int | None = None,
        answers: int = 0,
        max_llm_calls: int | None = None,
    ) -> None:
        self.problem, self.result, self.max_evals = problem, result, max_evals
        self.rules = list(rules)
        self.evaluation = evaluation
        self.rng = np.random.default_rng(seed)  # the run's generator, which a proposer may draw from
        self.answers, self.max_llm_calls = answers, max_llm_calls
        self.step = self.best_step = 0  # a model-driven method's step; a black-box method's round
        self.rounds = 0  # batches that went to the evaluator: the wall-clock measure of an expensive objective
        self.asks = 0  # what a black-box search asked for, repeats included
        self.fruitless = 0  # new points asked in a row that gave no evaluation (infeasible or failed)
        self._clock = 0.0
        self._since: float | None = None  # when the timed block running now began
        self._history: dict[str, Seen] = {}  # key -> the solution's text, value, feedback and constraints
        self._round_of: dict[str, int] = {}
        self._evaluator: Evaluator | None = None

    @classmethod
    def of(cls, problem: Problem, result: Result, config: Any, rules: Sequence[Any]) -> Ledger:
        """The ledger of a model-driven run under `config` (a `RunConfig`): its evaluation budget, where
        evaluations run, the seed of its generator, the answers (steps x proposals) and calls it may use."""
        return cls(
            problem,
            result,
            max_evals=config.max_evals,
            rules=rules,
            evaluation=EvalSettings.of(config),
            seed=config.seed,
            answers=config.steps * config.proposals,
            max_llm_calls=config.max_llm_calls,
        )

    # -- the study's state -------------------------------------------------------------------

    def history(self) -> list[tuple[str, float]]:
        """Every evaluated (solution text, value), first seen first."""
        return [(seen.text, seen.value) for seen in self._history.values()]

    def seen(self) -> list[Seen]:
        """Every evaluated solution with its feedback and constraint values, first seen first."""
        return list(self._history.values())

    def known(self, solution: Any) -> bool:
        """Whether `solution` was evaluated already (the duplicate rule)."""
        return self.problem.key(solution) in self._history

    def new_among(self, solutions: Sequence[Any]) -> list[int]:
        """The indices of the first occurrence of each solution not evaluated before (None: no solution)."""
        keys = [None if solution is None else self.problem.key(solution) for solution in solutions]
        return list(first_new(keys, self._history).values())

    def mark_duplicates(self, proposals: Sequence[Any]) -> None:
        """Mark each valid proposal (a `Proposal`) that repeats an evaluated solution, or an earlier proposal,
        as a duplicate: the duplicate rule."""
        new = set(self.new_among([p.solution if p.reason is None else None for p in proposals]))
        for index, proposal in enumerate(proposals):
            if proposal.reason is None:
                proposal.duplicate = index not in new

    @property
    def evals_left(self) -> int | float:
        """How many more evaluations the budget allows."""
        return float("inf") if self.max_evals is None else max(self.max_evals - self.result.counts.evals, 0)

    @property
    def answers_left(self) -> int:
        """How many more model answers the run may draw (`answers` in all, fewer with `max_llm_calls`)."""
        counts = self.result.counts
        left = self.answers - counts.asked
        if self.max_llm_calls is not None:
            left = min(left, self.max_llm_calls - counts.llm_calls)
        return max(left, 0)

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
        self._since = since = time.perf_counter()
        try:
            yield
        finally:
            self._clock += time.perf_counter() - since
            self._since = None

    def stop_reason(self) -> str | None:
        """The reason of the first stop rule that fires, or None to go on."""
        return first_reason(self.rules, self)

    # -- recording ---------------------------------------------------------------------------

    def record(self, trial: Trial, retry: bool = False) -> None:
        """Add a trial to the Result (`Result.add` counts it) and the history, the same live and on replay."""
        best = self.result.best_value
        if trial.solution is not None and trial.round is None and trial.status not in ("duplicate", "skipped"):
            trial.round = self._round_of.get(self.problem.key(trial.solution))
        if trial.round is not None:
            self.rounds = max(self.rounds, trial.round)
        self.result.add(trial, retry)
        if trial.eval_index is None:
            return
        self._history[self.problem.key(trial.solution)] = Seen(
            trial.text or "",
            math.nan if trial.value is None else trial.value,
            trial.feedback,
            trial.constraints,
            trial.cases,
            trial.values,
        )
        if self.result.best_value != best:  # a method without steps counts its rounds
            self.best_step = trial.step if trial.step is not None else (trial.round or 0)

    def spend(self, spent: Spent) -> None:
        """Add what a step's model requests cost to the Result's counts (live, and on replay)."""
        self.result.counts.add_spent(spent)
        if spent.last_error is not None:
            self.result.extra["last_request_error"] = spent.last_error

    # -- scoring -----------------------------------------------------------------------------

    def score(
        self,
        solutions: Sequence[Any],
        *,
        landed: OnResult | None = None,
        commit: Commit | None = None,
        room: int | float | None = None,
    ) -> list[Scored | None]:
        """Evaluate `solutions` (distinct, none evaluated before) side by side, as many at once as the
        evaluator runs, started in order, no more than `room` (the budget left) of them successfully: a
        failure leaves its place to the next. None stands where no evaluation was made.

        `landed(index, outcome)` hears each outcome the moment it lands (the journal). `commit(index,
        outcome)` hears them in the order given, each once every earlier one is known, and returns True
        to stop there: nothing more starts, what still runs is cancelled, and the later outcomes are
        dropped, so that a stop falls where it falls with one worker. The evaluations take
        `ceil(started / workers)` rounds; the k-th started is in the round's k // workers.
        """
        room = self.evals_left if room is None else room
        if not solutions or room <= 0:
            return [None] * len(solutions)
        with self.timed():
            return _Round(self, list(solutions), room, landed, commit).run()

    def _start(self) -> Evaluator:
        if self._evaluator is None:
            self._evaluator = self.evaluation.start(self.problem)
        return self._evaluator

    def close(self) -> None:
        """Stop the evaluator's workers (the next round starts new ones)."""
        if self._evaluator is not None:
            evaluator, self._evaluator = self._evaluator, None
            evaluator.close()

    def round_of(self, solution: Any) -> int | None:
        """The round `solution` was evaluated in (None if it was not)."""
        return self._round_of.get(self.problem.key(solution))

    def note_round(self, solution: Any, number: int | None) -> None:
        """The round a journaled evaluation was made in (a run resumed mid-step)."""
        if number is not None:
            self._round_of[self.problem.key(solution)] = number
            self.rounds = max(self.rounds, number)


class _Round:
    """One `Ledger.score` call: starts evaluations within the workers and the room, hears them land."""

    def __init__(
        self, ledger: Ledger, solutions: list[Any], room: int | float, landed: OnResult | None, commit: Commit | None
    ) -> None:
        self.ledger, self.solutions, self.room, self.landed, self.commit = ledger, solutions, room, landed, commit
        self.evaluator = ledger._start()
        self.outcomes: list[Scored | None] = [None] * len(solutions)
        self.running: dict[Future, tuple[int, float | None]] = {}
        self.started = self.good = self.committed = 0
        self.first = ledger.rounds + 1

    def run(self) -> list[Scored | None]:
        """Evaluate until the room, the solutions or a commit's stop ends the round."""
        try:
            while self._start_more() or self.running:
                for future, outcome in self._wait():
                    self._land(future, outcome)
                if self._commit_ready():
                    self._drop_the_rest()
                    break
        except BaseException:  # Ctrl-C, or a scorer's server gone: nothing more runs, nothing is waited for
            self._cancel_running()
            self.ledger.close()
            raise
        return self.outcomes

    def _start_more(self) -> bool:
        workers, timeout = self.evaluator.workers, self.ledger.evaluation.timeout
        begun = False
        while (
            len(self.running) < workers
            and self.good + len(self.running) < self.room
            and self.started < len(self.solutions)
        ):
            index, solution = self.started, self.solutions[self.started]
            self.ledger.note_round(solution, self.first + index // workers)
            deadline = None if timeout is None or self.evaluator.kills_late else monotonic() + timeout
            self.running[self.evaluator.submit(solution, timeout)] = (index, deadline)
            self.started, begun = self.started + 1, True
        return begun

    def _wait(self) -> list[tuple[Future, Scored]]:
        """The evaluations that ended, or ran past their deadline, in the order they were started."""
        deadlines = [deadline for _, deadline in self.running.values() if deadline is not None]
        wait_for = max(0.0, min(deadlines) - monotonic()) if deadlines else None
        wait(list(self.running), timeout=wait_for, return_when=FIRST_COMPLETED)
        timeout, now, ended = self.ledger.evaluation.timeout, monotonic(), []
        for future, (index, deadline) in self.running.items():
            if future.done():
                ended.append((index, future, _outcome(future, timeout)))
            elif deadline is not None and deadline <= now:
                future.cancel()  # a thread or a Dask task cannot be stopped: it is abandoned
                ended.append((index, future, Scored(None, f"timed out after {timeout:g} s", "failed")))
        return [(future, outcome) for _, future, outcome in sorted(ended, key=lambda item: item[0])]

    def _land(self, future: Future, outcome: Scored) -> None:
        index, _ = self.running.pop(future)
        self.outcomes[index] = outcome
        self.good += outcome.succeeded
        if self.landed is not None:
            self.landed(index, outcome)

    def _commit_ready(self) -> bool:
        """Hand on, in order, every outcome whose predecessors are known; True once a commit says stop."""
        while self.committed < self.started and (outcome := self.outcomes[self.committed]) is not None:
            index, self.committed = self.committed, self.committed + 1
            if self.commit is not None and self.commit(index, outcome):
                return True
        return False

    def _drop_the_rest(self) -> None:
        self._cancel_running()
        self.running.clear()
        for index in range(self.committed, len(self.outcomes)):
            self.outcomes[index] = None

    def _cancel_running(self) -> None:
        for future in self.running:
            future.cancel()  # a process is killed


def _outcome(future: Future, timeout: float | None) -> Scored:
    """A landed evaluation's outcome; a worker that died or was killed at its time limit is a failed
    evaluation, a scorer's server gone ends the run."""
    try:
        return future.result()
    except ENDS_THE_RUN:
        raise
    except TimeoutError:  # the process pool killed the worker at the time limit
        return Scored(None, f"timed out after {timeout:g} s", "failed")
    except WorkerDied as error:  # a crash, os._exit, a kill: that one trial failed
        return Scored(None, f"the evaluation's worker died ({error})", "failed")
    except Exception as error:  # a Dask worker lost, or the evaluator broken: that one trial failed
        return Scored(None, f"the evaluation's worker died ({one_line(error)})", "failed")
