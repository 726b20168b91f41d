"""One driver for every model-driven method: a proposer's proposals scored, counted and stopped by the
run's ledger (the evaluation budget, the duplicate rule, the stop rules) and journaled, with an
ask()/evaluate()/tell() core and a thin run() loop."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from llmopt.contract.problem import Problem, evaluate_safely, usage_since
from llmopt.core.errors import ObjectiveError, ServerUnreachable  # noqa: F401
from llmopt.core.result import Kind, Result, Trial
from llmopt.core.stops import MODEL_UNREACHABLE, SCORER_UNREACHABLE
from llmopt.engine.evaluation import Evaluation, Scored
from llmopt.engine.journal import Journal, Sink, replay
from llmopt.engine.ledger import Ledger
from llmopt.engine.proposer import Ask, Proposal, Proposer
from llmopt.engine.stopping import StopRule, rules_for

Outcome = Scored  # what scoring one proposal gave: its value (None when it failed), why it failed, its status


# Failures that say the objective's code is broken, not that a solution was bad.
BROKEN_CODE = (
    "TypeError",
    "AttributeError",
    "NameError",
    "ImportError",
    "ModuleNotFoundError",
    "SyntaxError",
    "UnboundLocalError",
    "the worker process cannot load the problem",
)


def _refuse_broken_objective(trials: list[Trial]) -> None:
    """Stop before the model is asked when every start point (two or more) failed for one and the same reason
    that says the code is broken (it returns a tuple, imports a missing module, ...): no proposal can mend
    that. A failure of another kind (a simulation that diverges) is data, and the run goes on."""
    reasons = {trial.reason or "" for trial in trials}
    reason = reasons.pop() if len(reasons) == 1 else ""
    if len(trials) > 1 and all(trial.status == "failed" for trial in trials) and reason.startswith(BROKEN_CODE):
        raise ObjectiveError(
            f"the objective failed on every start point ({len(trials)}) with the same reason: "
            f"{reason}; the model was not asked"
        )


class Driver:
    """Runs a proposer. `ask()` takes a step's proposals, `evaluate()` scores them (or the caller does),
    `tell()` records them, and `run()` loops over the three.

    `config` is an `OPROConfig` (seed, initial points, budgets, where evaluations run); `stop` adds rules
    of the caller's own to those the config sets. The ledger keeps the Result and decides every stop.
    """

    def __init__(
        self,
        problem: Problem,
        proposer: Proposer,
        config: Any,
        *,
        name: str,
        kind: Kind = "model",
        recorder: Sink | None = None,
        stop: Sequence[StopRule] = (),
    ) -> None:
        self.problem, self.proposer, self.config = problem, proposer, config
        self.journal = Journal(recorder) if recorder is not None else None
        result = Result(
            method=name, problem=problem.name, direction=problem.direction, kind=kind, optimum=problem.optimum()
        )
        self.ledger = Ledger(
            problem,
            result,
            max_evals=config.max_evals,
            evaluation=Evaluation.of(config),
            rules=[*rules_for(config), *proposer.stop_rules, *stop],
        )
        self.rng = np.random.default_rng(config.seed)
        self.started = False
        self.known_initial: dict[int, float] = {}  # step 0's evaluations journaled before a crash
        self.known_rounds: dict[int, int] = {}  # and the rounds they were made in
        self._pending: tuple[Ask, list[Outcome | None]] | None = None
        self._to_retry: list[Trial] = []  # failed evaluations of a restored run
        self._model_gone = False  # the optimizer's server stopped answering (not an evaluation's)
        self._usage = problem.usage()

    # -- the study's state (the ledger's) ----------------------------------------------------

    @property
    def result(self) -> Result:
        """The run's Result as it stands."""
        return self.ledger.result

    @property
    def step(self) -> int:
        """The current step (0 until the first proposals)."""
        return self.ledger.step

    @step.setter
    def step(self, value: int) -> None:
        self.ledger.step = value

    @property
    def best_step(self) -> int:
        """The step that found the best value so far."""
        return self.ledger.best_step

    @property
    def clock(self) -> float:
        """Seconds of the run's own work, resumes included."""
        return self.ledger.clock

    @clock.setter
    def clock(self, seconds: float) -> None:
        self.ledger.clock = seconds

    @property
    def stop_rules(self) -> list[StopRule]:
        """The rules the ledger checks between steps, in the order their reasons take precedence."""
        return self.ledger.rules

    def history(self) -> list[tuple[str, float]]:
        """Every evaluated (solution text, value), first seen first."""
        return self.ledger.history()

    def prompt(self) -> str | None:
        """The prompt the proposer would send now (OPRO's meta-prompt), for a reader; None from a proposer
        that writes none before it asks."""
        write = getattr(self.proposer, "prompt", None)
        return write(self) if write is not None else None

    @property
    def evals_left(self) -> int | float:
        """How many more evaluations the budget (`max_evals`) allows; a proposer asks for no more children."""
        return self.ledger.evals_left

    @property
    def budget_spent(self) -> bool:
        """Whether the evaluation budget is used up."""
        return self.ledger.budget_spent

    @property
    def answers_left(self) -> int:
        """How many more model answers the run may draw (steps x proposals in all, fewer with `max_llm_calls`)."""
        config, counts = self.config, self.result.counts
        left = config.steps * config.proposals - counts.asked
        if config.max_llm_calls is not None:
            left = min(left, config.max_llm_calls - counts.llm_calls)
        return max(left, 0)

    def record(self, trial: Trial, retry: bool = False) -> None:
        """Add a trial to the Result and the history (the ledger's one recording path, live and on replay)."""
        self.ledger.record(trial, retry)

    def _scored(
        self,
        solutions: list[Any],
        position: Callable[[int], int] | None = None,
        room: int | float | None = None,
        known: list[Outcome | None] | None = None,
    ) -> list[Outcome | None]:
        """The ledger's round of evaluations of `solutions`; with `position` (an index of the pending step
        for each), each value is journaled, and put in `known`, the moment it lands."""

        def landed(index: int, outcome: Outcome) -> None:
            if known is not None:
                known[position(index)] = outcome
            if self.journal is not None and outcome[0] is not None:
                self.journal.evaluation(position(index), outcome[0], self.ledger.round_of(solutions[index]))

        return self.ledger.score(solutions, landed=landed if position is not None else None, room=room)

    def _told(self, solution: Any, value: float) -> Outcome:
        """A value a caller told for `solution`, checked as strictly as an evaluation."""
        return evaluate_safely(lambda _: value, solution)

    def _trial(self, step: int, solution: Any, outcome: Outcome, raw: str | None = None) -> Trial:
        value, reason, status = outcome
        return Trial(
            step, status, raw=raw, text=self.problem.encode(solution), solution=solution, value=value, reason=reason
        )

    # -- step 0 and retries ----------------------------------------------------------------

    def start(self) -> None:
        """Evaluate the proposer's initial points (step 0) in one round; `ask()` calls this when needed."""
        if self.started:
            return
        with self.ledger.timed():
            state = self.rng.bit_generator.state
            initial = self.proposer.initial(self.rng)
            preflight = getattr(self.proposer, "preflight", None)
            if preflight is not None:  # a prompt that cannot fit the model is refused before any evaluation
                try:
                    preflight(initial)
                except BaseException:
                    self.rng.bit_generator.state = state  # refused: a second start() begins as the first did
                    raise
            self.started = True
            if self.journal is not None:
                self.journal.pending(self, Ask(0, None, []))
            trials = []
            for index, outcome in self._initial_outcomes(initial):
                value, reason, status = outcome
                trials.append(
                    self._trial(0, initial[index], (value, reason, "initial" if value is not None else status))
                )
                self.record(trials[-1])
            self.known_initial, self.known_rounds = {}, {}
        self._finish_step(0, None, trials, None)
        _refuse_broken_objective(trials)

    def _initial_outcomes(self, initial: list[Any]) -> list[tuple[int, Outcome]]:
        """(index, outcome) of each initial point scored, in order: the first of each, not evaluated before,
        within the budget; those journaled before a crash (`known_initial`) keep their values."""
        order = self.ledger.new_among(initial)
        known = {index: (self.known_initial[index], None, "ok") for index in order if index in self.known_initial}
        for index in known:
            self.ledger.note_round(initial[index], self.known_rounds.get(index))
        rest = [index for index in order if index not in known]
        scored = self._scored(
            [initial[index] for index in rest], lambda j: rest[j], self.ledger.evals_left - len(known)
        )
        outcomes = {**known, **{index: outcome for index, outcome in zip(rest, scored) if outcome is not None}}
        return [(index, outcomes[index]) for index in order if index in outcomes]

    def queue_failed_for_retry(self) -> None:
        """After a replay: the failed evaluations not put right since, to evaluate again."""
        failed = {self.problem.key(t.solution): t for t in self.result.trials if t.status == "failed"}
        self._to_retry = [t for t in failed.values() if not self.ledger.known(t.solution)]

    def retry_failed(self) -> list[Trial]:
        """Evaluate again, in one round, the failed evaluations of a restored run (once the scorer or
        objective is back), within the evaluation budget."""
        if not self._to_retry:
            return []
        with self.ledger.timed():
            failed = [t for t in self._to_retry if not self.ledger.known(t.solution)]
            self._to_retry = []
            trials = []
            for old, outcome in zip(failed, self._scored([t.solution for t in failed])):
                if outcome is not None:
                    trials.append(self._trial(self.step, old.solution, outcome, old.raw))
                    self.record(trials[-1], retry=True)
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
        with self.ledger.timed():
            self.step += 1
            try:
                ask = self.proposer.propose(self)
            except BaseException as error:  # refused, gone or interrupted: nothing of this step was journaled
                self.step -= 1
                self._model_gone = isinstance(error, ServerUnreachable)
                raise
            self.ledger.spend(ask.spent)
            self.hold(ask, [None] * len(ask.proposals))
            if self.journal is not None:
                self.journal.pending(self, ask)
        return ask

    def hold(self, ask: Ask, known: list[float | None]) -> None:
        """Make `ask` the pending step, with the values already known (a step resumed mid-way)."""
        self._mark_duplicates(ask.proposals)
        self._pending = (ask, [None if value is None else (value, None, "ok") for value in known])

    def _mark_duplicates(self, proposals: list[Proposal]) -> None:
        new = set(self.ledger.new_among([p.solution if p.reason is None else None for p in proposals]))
        for index, proposal in enumerate(proposals):
            if proposal.reason is None:
                proposal.duplicate = index not in new

    def _needs_value(self, proposal: Proposal) -> bool:
        return proposal.reason is None and not proposal.duplicate

    def evaluate(self, ask: Ask) -> list[float | None]:
        """Score the valid new proposals of the pending `ask` that the budget allows, side by side on the
        run's evaluator (one round), each journaled the moment it ends; `tell(ask)` then records them.
        The values, None where there is none (failed, not scored)."""
        if self._pending is None or self._pending[0] is not ask:
            raise ValueError("evaluate() takes the pending Ask, the one ask() returned")
        known = self._pending[1]
        todo = [i for i, p in enumerate(ask.proposals) if known[i] is None and self._needs_value(p)]
        done = sum(1 for item in known if item is not None and item[0] is not None)
        self._scored([ask.proposals[i].solution for i in todo], lambda j: todo[j], self.ledger.evals_left - done, known)
        return [None if item is None else item[0] for item in known]

    def tell(self, ask: Ask, values: Sequence[float | None] | None = None) -> list[Trial]:
        """Record the proposals of `ask` with their values: the given ones (a caller's own scoring, checked as
        strictly as the driver's), else those `evaluate(ask)` found. Telling never evaluates.

        `values` holds one value per proposal (None for the invalid and repeated ones), or one per valid new
        proposal (`ask.to_evaluate`), in their order."""
        if self._pending is None or self._pending[0] is not ask:
            raise ValueError("tell() takes the pending Ask, the one ask() returned, once")
        outcomes = self._pending[1]
        if values is not None:
            values = self._per_proposal(ask, list(values))
            outcomes = [
                known if value is None else self._told(p.solution, value)
                for known, value, p in zip(outcomes, values, ask.proposals)
            ]
        self._check_told(ask, outcomes)
        self._pending = None
        with self.ledger.timed():
            trials = [self._tell_one(ask.step, p, o) for p, o in zip(ask.proposals, outcomes)]
        self._finish_step(ask.step, ask.prompt, trials, ask.error)
        return trials

    def _per_proposal(self, ask: Ask, values: list[float | None]) -> list[float | None]:
        if len(values) == len(ask.proposals):
            return values
        wanted = [i for i, p in enumerate(ask.proposals) if self._needs_value(p)]
        if len(values) != len(wanted):
            raise ValueError(
                f"got {len(values)} values: give one per proposal ({len(ask.proposals)}, None for the "
                f"invalid and repeated ones) or one per valid new proposal ({len(wanted)}, "
                "ask.to_evaluate)"
            )
        spread: list[float | None] = [None] * len(ask.proposals)
        for index, value in zip(wanted, values):
            spread[index] = value
        return spread

    def _check_told(self, ask: Ask, outcomes: list[Outcome | None]) -> None:
        """Refuse a tell that leaves a valid new proposal without a value while the budget has room for it
        (before anything is recorded, so the step can still be evaluated and told)."""
        room = self.evals_left
        for proposal, outcome in zip(ask.proposals, outcomes):
            if room <= 0 or not self._needs_value(proposal):
                continue
            if outcome is None:
                raise ValueError(
                    f"proposal {proposal.raw!r} has no value: pass values to tell(), or call evaluate(ask) first"
                )
            room -= outcome[0] is not None

    def _tell_one(self, step: int, proposal: Proposal, outcome: Outcome | None) -> Trial:
        text = None if proposal.reason is not None else self.problem.encode(proposal.solution)
        if proposal.reason is not None:
            trial = Trial(step, "invalid", raw=proposal.raw, reason=proposal.reason)
        elif proposal.duplicate:
            trial = Trial(step, "duplicate", raw=proposal.raw, text=text, solution=proposal.solution)
        elif self.budget_spent:
            trial = Trial(
                step,
                "skipped",
                raw=proposal.raw,
                reason="evaluation budget spent",
                text=text,
                solution=proposal.solution,
            )
        else:
            trial = self._trial(step, proposal.solution, outcome, raw=proposal.raw)
        trial.reasoning = proposal.reasoning or None  # kept apart from the answer, never shown to the model
        trial.first_attempt = proposal.first_attempt
        trial.prompt, trial.parent = proposal.prompt, proposal.parent
        self.record(trial)
        return trial

    def _finish_step(self, step: int, prompt: str | None, trials: list[Trial], error: str | None) -> None:
        self.proposer.observe(trials)
        if self.journal is not None:
            self.journal.step(self, step, prompt, trials, error)

    # -- stopping and the loop -------------------------------------------------------------

    def restore(self, steps: list[dict[str, Any]], pending: dict[str, Any] | None = None) -> None:
        """Continue a journaled run (see `llmopt.engine.journal.replay`): its trials and spending go through the
        ledger's recording path, as they did live."""
        replay(self, steps, pending)

    def resume_at(self, step: int, clock: float, rng_state: dict[str, Any]) -> None:
        """Take up a replayed run after its last journaled step: the step, the run's seconds, the generator."""
        self.started, self.step, self.clock = True, step, clock
        self.rng.bit_generator.state = rng_state

    def resume_initial(self, evals: dict[int, float], rounds: dict[int, int]) -> None:
        """The evaluations of step 0 journaled before a crash (and their rounds), kept when it is scored again."""
        self.known_initial, self.known_rounds = dict(evals), dict(rounds)

    def stop_reason(self) -> str | None:
        """Why the run should stop now (the first stop rule that fires), or None to go on."""
        return None if self._pending is not None else self.ledger.stop_reason()

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
            return self.finish(MODEL_UNREACHABLE if self._model_gone else SCORER_UNREACHABLE)
        return self.finish(reason)

    def finish(self, reason: str) -> Result:
        """Stamp the stop reason and time on the Result and return it."""
        self.ledger.close()
        self.result.stop_reason = reason
        self.result.seconds = self.clock
        self.result.extra["usage"] = usage_since(self.problem, self._usage)
        if self.config.price is not None:
            self.result.extra["price"] = list(self.config.price)
        limit = getattr(self.proposer, "answer_limit", None)
        if limit is not None and getattr(self.proposer, "backend", None) is not None:
            self.result.extra["answer_tokens"] = limit()  # the limit the run used, sized or given
        return self.result
