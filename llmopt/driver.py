"""One driver for every model-driven method: a proposer's proposals under the evaluation budget, the
duplicate rule, the journal and the stop rules, with an ask()/tell() core and a thin run() loop."""

from __future__ import annotations

import math
import threading
import time
from contextlib import contextmanager
from typing import Any, Callable, Iterator, Sequence

import numpy as np

from llmopt.errors import ServerUnreachable
from llmopt.problem import Problem, evaluate_safely, usage_since
from llmopt.proposer import Ask, Proposal, Proposer
from llmopt.result import Kind, Result, Status, Trial
from llmopt.stopping import StopRule, first_reason, rules_for
from llmopt.storage import Journal, Sink, replay

# What scoring one proposal gave: its value (None when it failed), the reason it failed, and its status.
Outcome = tuple[float | None, str | None, Status]

# The stop reasons of a run whose model server (the optimizer's, or the one an evaluation asks) went away.
UNREACHABLE = ("model_unreachable", "scorer_unreachable")


def raise_if_unreachable(result: Result) -> Result:
    """The Result, unless its model server went away: that is no result, so it stops the comparison."""
    if result.stop_reason in UNREACHABLE:
        raise ServerUnreachable(result.extra.get("error", "the model server stopped answering"))
    return result


class Driver:
    """Runs a proposer. `ask()` takes a step's proposals, `evaluate()` scores them (or the caller does),
    `tell()` records them, and `run()` loops over the three.

    `config` is an `OPROConfig` (seed, initial points, budgets); `stop` adds rules of the caller's own to
    those the config sets. Counts are derived from the trials as they are recorded, once.
    """

    def __init__(self, problem: Problem, proposer: Proposer, config: Any, *, name: str, kind: Kind = "model",
                 recorder: Sink | None = None, stop: Sequence[StopRule] = ()) -> None:
        self.problem, self.proposer, self.config = problem, proposer, config
        self.journal = Journal(recorder) if recorder is not None else None
        self.stop_rules = [*rules_for(config), *proposer.stop_rules, *stop]
        self.rng = np.random.default_rng(config.seed)
        self.result = Result(method=name, problem=problem.name, direction=problem.direction, kind=kind,
                             optimum=problem.optimum())
        self.step = self.best_step = 0
        self.clock = 0.0
        self.started = False
        self.known_initial: dict[int, float] = {}  # step 0's evaluations journaled before a crash
        self._history: dict[str, tuple[str, float]] = {}  # key -> (solution text, value)
        self._pending: tuple[Ask, list[Outcome | None]] | None = None
        self._to_retry: list[Trial] = []  # failed evaluations of a restored run
        self._model_gone = False  # the optimizer's server stopped answering (not an evaluation's)
        self._usage = problem.usage()
        self.lock = threading.Lock()  # for proposers whose requests run in threads (OPRO's repairs)

    # -- the study's state -----------------------------------------------------------------

    def history(self) -> list[tuple[str, float]]:
        """Every evaluated (solution text, value), first seen first."""
        return list(self._history.values())

    def prompt(self) -> str | None:
        """The prompt the proposer would send now (OPRO's meta-prompt), for a reader; None from a proposer
        that writes none before it asks."""
        write = getattr(self.proposer, "prompt", None)
        return write(self) if write is not None else None

    def value_of(self, solution: Any) -> float | None:
        """The value of a solution already evaluated, else None."""
        known = self._history.get(self.problem.key(solution))
        return None if known is None else known[1]

    @property
    def evals_left(self) -> int | float:
        """How many more evaluations the budget (`max_evals`) allows; a proposer asks for no more children."""
        return math.inf if self.config.max_evals is None else max(self.config.max_evals - self.result.counts.evals, 0)

    @property
    def budget_spent(self) -> bool:
        """Whether the evaluation budget is used up."""
        return self.evals_left <= 0

    @property
    def answers_left(self) -> int:
        """How many more model answers the run may draw (steps x proposals in all, fewer with `max_llm_calls`)."""
        config, counts = self.config, self.result.counts
        left = config.steps * config.proposals - counts.asked
        if config.max_llm_calls is not None:
            left = min(left, config.max_llm_calls - counts.llm_calls)
        return max(left, 0)

    @contextmanager
    def _timed(self) -> Iterator[None]:
        began = time.perf_counter()
        try:
            yield
        finally:
            self.clock += time.perf_counter() - began

    def record(self, trial: Trial, retry: bool = False) -> None:
        """Add a trial to the Result and the history; the one place counts change (live and on replay)."""
        counts, best = self.result.counts, self.result.best_value
        if trial.step and not retry:
            counts.proposals += 1
        if trial.first_attempt is not None:
            counts.add_invalid(trial.first_attempt["reason"])
        if trial.status == "duplicate":
            counts.duplicates += 1
        if retry and trial.status == "ok":
            counts.failed_evals -= 1  # a failure put right no longer counts against `max_failures`
        self.result.add(trial)
        if trial.eval_index is None:
            return
        self._history[self.problem.key(trial.solution)] = (trial.text or "", trial.value)
        if self.result.best_value != best:
            self.best_step = trial.step or 0

    def _score(self, solution: Any, value: float | None = None, index: int | None = None,
               status: Status = "ok") -> Outcome:
        """Evaluate `solution` (or check a value told for it, as strictly); a value scored for the pending
        step (`index` given) is journaled the moment it is known."""
        evaluate = self.problem.evaluate if value is None else (lambda _: value)
        value, reason, outcome = evaluate_safely(evaluate, solution)
        if reason is not None:  # failed, or infeasible by the objective's own word
            return None, reason, outcome
        if self.journal is not None and index is not None:
            self.journal.evaluation(index, value)
        return value, None, status

    def _trial(self, step: int, solution: Any, outcome: Outcome, raw: str | None = None) -> Trial:
        value, reason, status = outcome
        return Trial(step, status, raw=raw, text=self.problem.encode(solution), solution=solution, value=value,
                     reason=reason)

    # -- step 0 and retries ----------------------------------------------------------------

    def start(self) -> None:
        """Evaluate the proposer's initial points (step 0); `ask()` calls this when needed."""
        if self.started:
            return
        self.started = True
        with self._timed():
            initial = self.proposer.initial(self.rng)
            if self.journal is not None:
                self.journal.pending(self, Ask(0, None, []))
            trials = []
            for index, solution in enumerate(initial):
                if self.problem.key(solution) in self._history:
                    continue
                if self.budget_spent:
                    break
                outcome = self._score(solution, self.known_initial.get(index), index, status="initial")
                trials.append(self._trial(0, solution, outcome))
                self.record(trials[-1])
            self.known_initial = {}
        self._finish_step(0, None, trials, None)

    def queue_failed_for_retry(self) -> None:
        """After a replay: the failed evaluations not put right since, to evaluate again."""
        failed = {self.problem.key(t.solution): t for t in self.result.trials if t.status == "failed"}
        self._to_retry = [t for key, t in failed.items() if key not in self._history]

    def retry_failed(self) -> list[Trial]:
        """Evaluate again the failed evaluations of a restored run (once the scorer or objective is back),
        within the evaluation budget."""
        if not self._to_retry:
            return []
        trials = []
        with self._timed():
            for failed in self._to_retry:
                if self.budget_spent:
                    break
                if self.problem.key(failed.solution) not in self._history:
                    trials.append(self._trial(self.step, failed.solution, self._score(failed.solution), failed.raw))
                    self.record(trials[-1], retry=True)
            self._to_retry = []
        if self.journal is not None:
            self.journal.step(self, self.step, None, trials, None, retry=True)
        return trials

    # -- ask / tell ------------------------------------------------------------------------

    def ask(self) -> Ask:
        """This step's proposals from the proposer, duplicates marked.

        Until `tell()` receives it, asking again returns the same Ask (no second request).
        """
        self.start()
        if self._pending is not None:
            return self._pending[0]
        self.retry_failed()  # only between steps: a step in progress keeps its own journal
        with self._timed():
            self.step += 1
            try:
                ask = self.proposer.propose(self)
            except BaseException as error:  # refused, gone or interrupted: nothing of this step was journaled
                self.step -= 1
                self._model_gone = isinstance(error, ServerUnreachable)
                raise
            self.hold(ask, [None] * len(ask.proposals))
            if self.journal is not None:
                self.journal.pending(self, ask)
        return ask

    def hold(self, ask: Ask, known: list[float | None]) -> None:
        """Make `ask` the pending step, with the values already known (a step resumed mid-way)."""
        self._mark_duplicates(ask.proposals)
        self._pending = (ask, [None if value is None else (value, None, "ok") for value in known])

    def _mark_duplicates(self, proposals: list[Proposal]) -> None:
        seen = set(self._history)
        for proposal in proposals:
            if proposal.reason is None:
                key = self.problem.key(proposal.solution)
                proposal.duplicate = key in seen
                seen.add(key)

    def _needs_value(self, proposal: Proposal) -> bool:
        return proposal.reason is None and not proposal.duplicate

    def evaluate(self, ask: Ask) -> list[float | None]:
        """Score the valid new proposals of the pending `ask` that the budget allows, each journaled the moment
        it ends; `tell(ask)` then records them. The values, None where there is none (failed, not scored)."""
        if self._pending is None or self._pending[0] is not ask:
            raise ValueError("evaluate() takes the pending Ask, the one ask() returned")
        known = self._pending[1]
        with self._timed():
            for index, proposal in enumerate(ask.proposals):
                scored = sum(1 for item in known if item is not None and item[0] is not None)
                if known[index] is not None or not self._needs_value(proposal):
                    continue
                if scored >= self.evals_left:
                    break
                known[index] = self._score(proposal.solution, index=index)
        return [None if item is None else item[0] for item in known]

    def tell(self, ask: Ask, values: Sequence[float | None] | None = None) -> list[Trial]:
        """Record the proposals of `ask` with their values: the given ones (a caller's own scoring, checked as
        strictly as the driver's), else those `evaluate(ask)` found. Telling never evaluates."""
        if self._pending is None or self._pending[0] is not ask:
            raise ValueError("tell() takes the pending Ask, the one ask() returned, once")
        outcomes = self._pending[1]
        if values is not None:
            if len(values) != len(ask.proposals):
                raise ValueError(f"got {len(values)} values for {len(ask.proposals)} proposals")
            outcomes = [known if value is None else self._score(p.solution, value)
                        for known, value, p in zip(outcomes, values, ask.proposals)]
        self._check_told(ask, outcomes)
        self._pending = None
        with self._timed():
            trials = [self._tell_one(ask.step, p, o) for p, o in zip(ask.proposals, outcomes)]
        self._finish_step(ask.step, ask.prompt, trials, ask.error)
        return trials

    def _check_told(self, ask: Ask, outcomes: list[Outcome | None]) -> None:
        """Refuse a tell that leaves a valid new proposal without a value while the budget has room for it
        (before anything is recorded, so the step can still be evaluated and told)."""
        room = self.evals_left
        for proposal, outcome in zip(ask.proposals, outcomes):
            if room <= 0 or not self._needs_value(proposal):
                continue
            if outcome is None:
                raise ValueError(f"proposal {proposal.raw!r} has no value: pass values to tell(), or call "
                                 "evaluate(ask) first")
            room -= outcome[0] is not None

    def _tell_one(self, step: int, proposal: Proposal, outcome: Outcome | None) -> Trial:
        text = None if proposal.reason is not None else self.problem.encode(proposal.solution)
        if proposal.reason is not None:
            trial = Trial(step, "invalid", raw=proposal.raw, reason=proposal.reason)
        elif proposal.duplicate:
            trial = Trial(step, "duplicate", raw=proposal.raw, text=text, solution=proposal.solution)
        elif self.budget_spent:
            trial = Trial(step, "skipped", raw=proposal.raw, reason="evaluation budget spent", text=text,
                          solution=proposal.solution)
        else:
            trial = self._trial(step, proposal.solution, outcome, raw=proposal.raw)
        trial.reasoning = proposal.reasoning or None  # kept apart from the answer, never shown to the model
        trial.first_attempt = proposal.first_attempt
        trial.prompt = proposal.prompt
        self.record(trial)
        return trial

    def _finish_step(self, step: int, prompt: str | None, trials: list[Trial], error: str | None) -> None:
        self.proposer.observe(trials)
        if self.journal is not None:
            self.journal.step(self, step, prompt, trials, error)

    # -- stopping and the loop -------------------------------------------------------------

    def restore(self, steps: list[dict[str, Any]], pending: dict[str, Any] | None = None) -> None:
        """Continue a journaled run (see `llmopt.storage.replay`)."""
        replay(self, steps, pending)

    def stop_reason(self) -> str | None:
        """Why the run should stop now (the first stop rule that fires), or None to go on."""
        return None if self._pending is not None else first_reason(self.stop_rules, self)

    def run(self, on_step: Callable[[Driver], None] | None = None) -> Result:
        """ask/tell until a stop rule fires; `on_step` is called after every step.

        A model server that stops answering stops the run at once: "model_unreachable" when it is the
        optimizer's, "scorer_unreachable" when an evaluation needs it; the journal keeps everything done,
        and `restore` continues from there once the server is back.
        """
        try:
            self.start()
            if self._pending is None:
                self.retry_failed()
            while (reason := self.stop_reason()) is None:
                ask = self.ask()
                self.evaluate(ask)
                self.tell(ask)
                if on_step is not None:
                    on_step(self)
        except ServerUnreachable as error:
            self.result.extra["error"] = str(error)
            return self.finish(UNREACHABLE[0] if self._model_gone else UNREACHABLE[1])
        return self.finish(reason)

    def finish(self, reason: str) -> Result:
        """Stamp the stop reason and time on the Result and return it."""
        self.result.stop_reason = reason
        self.result.seconds = self.clock
        self.result.extra["usage"] = usage_since(self.problem, self._usage)
        if self.config.price is not None:
            self.result.extra["price"] = list(self.config.price)
        return self.result
