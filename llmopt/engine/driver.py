"""One driver for every model-driven method: a proposer's proposals scored, counted and stopped by the
run's ledger (the evaluation budget, the duplicate rule, the stop rules) and journaled, with an
ask()/evaluate()/tell() core and a thin run() loop.

The ledger is the study the proposer reads; step 0 and the retries of a restored run are rounds of their own
(`llmopt.engine._rounds`), and `llmopt.engine.journal` takes a driver up where its journal ends."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from llmopt.contract.problem import Problem, Scored, evaluate_safely, new_result, usage_since
from llmopt.core.errors import ServerUnreachable
from llmopt.core.result import Kind, Result, Spent, Trial
from llmopt.core.stops import MODEL_UNREACHABLE, SCORER_UNREACHABLE
from llmopt.engine import _rounds
from llmopt.engine._rounds import BROKEN_CODE as BROKEN_CODE  # 0.5 read it from here
from llmopt.engine.journal import Journal, Pending, Sink, replay
from llmopt.engine.ledger import Ledger, scored_trial
from llmopt.engine.proposer import Ask, Proposal, Proposer
from llmopt.engine.stopping import StopRule, rules_for


class Driver:
    """Runs a proposer: `ask()` takes a step's proposals, `evaluate()` scores them (or the caller does),
    `tell()` records them, and `run()` loops over the three; `propose_step()` and `observe()` serve a caller
    that scores elsewhere (the Optuna samplers). `config` is a `RunConfig`; `stop` adds rules of the
    caller's own. The ledger keeps the Result, decides every stop and is the study the proposer reads."""

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
        result = new_result(problem, name, kind)
        self.ledger = Ledger.of(problem, result, config, [*rules_for(config), *proposer.stop_rules, *stop])
        self.started = False  # step 0 is done (scored, or replayed)
        self.pending: Pending | None = None  # the step asked and not yet told
        self.known_initial: dict[int, Scored] = {}  # step 0's evaluations journaled before a crash
        self.known_rounds: dict[int, int] = {}  # and the rounds they were made in
        self.to_retry: list[Trial] = []  # failed evaluations of a restored run
        self._model_gone = False  # the optimizer's server stopped answering (not an evaluation's)
        self._usage = problem.usage()

    @property
    def result(self) -> Result:
        """The run's Result as it stands."""
        return self.ledger.result

    @property
    def step(self) -> int:
        """The current step (0 until the first proposals)."""
        return self.ledger.step

    def prompt(self) -> str | None:
        """The prompt the proposer would send now (OPRO's meta-prompt); None from one that writes none first."""
        write = getattr(self.proposer, "prompt", None)
        return write(self.ledger) if write is not None else None

    def start(self) -> None:
        """Evaluate the proposer's initial points (step 0) in one round; `ask()` calls this when needed."""
        _rounds.start(self)

    def ask(self) -> Ask:
        """This step's proposals from the proposer, duplicates marked; until `tell()` receives it, asking
        again returns the same Ask (no second request)."""
        self.start()
        if self.pending is not None:
            return self.pending.ask
        _rounds.retry_failed(self)  # only between steps: a step in progress keeps its own journal
        with self.ledger.timed():
            try:
                ask = self.propose_step()
            except BaseException as error:  # refused, gone or interrupted: nothing of this step was journaled
                self.ledger.step -= 1
                self._model_gone = isinstance(error, ServerUnreachable)
                raise
            self.ledger.mark_duplicates(ask.proposals)
            self.pending = Pending(ask, [None] * len(ask.proposals))
            if self.journal is not None:
                self.journal.pending(self.ledger, ask)
        return ask

    def propose_step(self, step: int | None = None) -> Ask:
        """The proposer's proposals for `step` (the next one by default), their requests' cost counted, and
        nothing more: not marked, scored, journaled or held. A refusal or a server gone raises."""
        self.ledger.step = self.ledger.step + 1 if step is None else step
        ask = self.proposer.propose(self.ledger)
        self.ledger.spend(ask.spent)
        return ask

    def evaluate(self, ask: Ask) -> list[Any]:
        """Score the pending `ask`'s valid new proposals that the budget allows, in one round on the run's
        evaluator, each journaled as it ends; their values (None: failed, not scored; with several objectives,
        a tuple of them), for `tell(ask)`."""
        known = _held(self.pending, ask, "evaluate() takes the pending Ask, the one ask() returned")
        todo = [i for i, p in enumerate(ask.proposals) if known[i] is None and p.needs_value]
        done = sum(1 for item in known if item is not None and item.succeeded)
        solutions = [ask.proposals[i].solution for i in todo]
        _rounds.scored(self, solutions, lambda j: todo[j], self.ledger.evals_left - done, known)
        return [None if item is None else item.values if item.values is not None else item.value for item in known]

    def tell(self, ask: Ask, values: Sequence[float | None] | None = None) -> list[Trial]:
        """Record the proposals of `ask` with their values: the given ones (a caller's own scoring, checked as
        strictly as the driver's), else those `evaluate(ask)` found. Telling never evaluates.

        `values` holds one value per proposal (None for the invalid and repeated ones), or one per valid new
        proposal (`ask.to_evaluate`), in their order."""
        outcomes = _held(self.pending, ask, "tell() takes the pending Ask, the one ask() returned, once")
        if values is not None:
            outcomes = _told(ask, outcomes, list(values), self.problem.objectives)
        _check_told(ask, outcomes, self.ledger.evals_left)
        self.pending = None
        with self.ledger.timed():
            trials = [_recorded(self.ledger, ask.step, p, o) for p, o in zip(ask.proposals, outcomes)]
        _rounds.finish_step(self, ask.step, ask.prompt, trials, ask.error)
        return trials

    def observe(self, trials: list[Trial], spent: Spent | None = None) -> None:
        """Learn of work done outside ask and tell (an Optuna study's): `trials` scored elsewhere are recorded
        and shown to the proposer, and `spent`, what model requests made elsewhere cost, is counted."""
        for trial in trials:
            self.ledger.record(trial)
        if spent is not None:
            self.ledger.spend(spent)
        if trials:
            self.proposer.observe(trials)

    def restore(self, steps: list[dict[str, Any]], pending: dict[str, Any] | None = None) -> None:
        """Continue a journaled run (see `llmopt.engine.journal.replay`): its trials and spending go through the
        ledger's recording path, as they did live."""
        replay(self, steps, pending)

    def stop_reason(self) -> str | None:
        """Why the run should stop now (the first stop rule that fires), or None to go on."""
        return None if self.pending is not None else self.ledger.stop_reason()

    def run(self, on_step: Callable[[Driver], None] | None = None) -> Result:
        """ask/tell until a stop rule fires; `on_step` is called after every step. A model server that stops
        answering stops the run at once ("model_unreachable" when it is the optimizer's, "scorer_unreachable"
        when an evaluation needs it); the journal keeps everything done, for `restore` once it is back."""
        try:
            self.start()
            if self.pending is None:
                _rounds.retry_failed(self)
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
        self.result.seconds = self.ledger.clock
        _note_spending(self.result.extra, self.problem, self._usage, self.config, self.proposer)
        return self.result


def _note_spending(extra: dict[str, Any], problem: Problem, usage: dict[str, int], config: Any, proposer: Any) -> None:
    """Note in a finished run's `extra` what it spent: the problem's own usage since `usage`, the price it
    was counted at, and the answer limit it used (sized or given)."""
    extra["usage"] = usage_since(problem, usage)
    if config.price is not None:
        extra["price"] = list(config.price)
    limit = getattr(proposer, "answer_limit", None)
    if limit is not None and getattr(proposer, "backend", None) is not None:
        extra["answer_tokens"] = limit()


def _held(pending: Pending | None, ask: Ask, refusal: str) -> list[Scored | None]:
    """The outcomes known of `ask`, the pending step; a ValueError saying `refusal` for any other Ask."""
    if pending is None or pending.ask is not ask:
        raise ValueError(refusal)
    return pending.known


def _told(ask: Ask, outcomes: list[Scored | None], values: list[Any], objectives: int = 1) -> list[Scored | None]:
    """The outcomes with the values a caller told, each checked as strictly as an evaluation; `values` holds
    one per proposal or one per valid new proposal (with several `objectives`, a sequence each)."""
    if len(values) != len(ask.proposals):
        wanted = [i for i, p in enumerate(ask.proposals) if p.needs_value]
        if len(values) != len(wanted):
            raise ValueError(
                f"got {len(values)} values: give one per proposal ({len(ask.proposals)}, None for the "
                f"invalid and repeated ones) or one per valid new proposal ({len(wanted)}, "
                "ask.to_evaluate)"
            )
        spread: list[Any] = [None] * len(ask.proposals)
        for index, value in zip(wanted, values):
            spread[index] = value
        values = spread
    return [
        known if value is None else evaluate_safely(_constant(value), p.solution, objectives)
        for known, value, p in zip(outcomes, values, ask.proposals)
    ]


def _constant(value: Any) -> Callable[[Any], Any]:
    """An objective that gives `value` whatever it is asked: a value told, checked as an evaluation is."""
    return lambda _: value


def _check_told(ask: Ask, outcomes: list[Scored | None], room: int | float) -> None:
    """Refuse a tell that leaves a valid new proposal without a value while the budget (`room`) has room for
    it (before anything is recorded, so the step can still be evaluated and told)."""
    for proposal, outcome in zip(ask.proposals, outcomes):
        if room <= 0 or not proposal.needs_value:
            continue
        if outcome is None:
            raise ValueError(
                f"proposal {proposal.raw!r} has no value: pass values to tell(), or call evaluate(ask) first"
            )
        room -= outcome.succeeded


def _recorded(ledger: Ledger, step: int, proposal: Proposal, outcome: Scored | None) -> Trial:
    """The trial of one told proposal, recorded: invalid, duplicate, skipped (the budget spent) or scored."""
    text = None if proposal.reason is not None else ledger.problem.encode(proposal.solution)
    if proposal.reason is not None:
        trial = Trial(step, "invalid", raw=proposal.raw, reason=proposal.reason)
    elif proposal.duplicate:
        trial = Trial(step, "duplicate", raw=proposal.raw, text=text, solution=proposal.solution)
    elif ledger.budget_spent:
        trial = Trial(
            step, "skipped", raw=proposal.raw, reason="evaluation budget spent", text=text, solution=proposal.solution
        )
    else:
        assert outcome is not None  # `_check_told` let no valid new proposal within the budget go without one
        trial = scored_trial(ledger.problem, step, proposal.solution, outcome, raw=proposal.raw)
    trial.reasoning = proposal.reasoning or None  # kept apart from the answer, never shown to the model
    trial.first_attempt = proposal.first_attempt
    trial.prompt, trial.parent = proposal.prompt, proposal.parent
    ledger.record(trial)
    return trial
