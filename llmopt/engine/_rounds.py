"""The driver's rounds of evaluations, each value journaled the moment it lands, and the two rounds outside a
step's ask and tell: the initial points (step 0), scored before the first proposals, and the failed
evaluations of a restored run, scored again between steps (private helpers of the loop, as Optuna's
`study/_optimize.py` is of `Study.optimize`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from llmopt.contract.problem import Scored
from llmopt.core.errors import ObjectiveError
from llmopt.core.result import Trial
from llmopt.engine.journal import Journal, Replayable
from llmopt.engine.ledger import scored_trial
from llmopt.engine.proposer import Ask

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


class Loop(Replayable, Protocol):
    """What the rounds read and set of a driver: what a replay does (the run's parts, the state of step 0 and
    the retries), and the journal they write to."""

    journal: Journal | None


def scored(
    driver: Loop,
    solutions: list[Any],
    position: Callable[[int], int] | None = None,
    room: int | float | None = None,
    known: list[Scored | None] | None = None,
) -> list[Scored | None]:
    """The ledger's round of evaluations of `solutions`; with `position` (an index of the pending step
    for each), each value is journaled, and put in `known`, the moment it lands."""

    if position is None:
        return driver.ledger.score(solutions, room=room)
    at = position

    def landed(index: int, outcome: Scored) -> None:
        if known is not None:
            known[at(index)] = outcome
        if driver.journal is not None and outcome.succeeded:
            driver.journal.evaluation(at(index), outcome, driver.ledger.round_of(solutions[index]))

    return driver.ledger.score(solutions, landed=landed, room=room)


def finish_step(driver: Loop, step: int, prompt: str | None, trials: list[Trial], error: str | None) -> None:
    """Show a finished step's trials to the proposer, and journal the step."""
    driver.proposer.observe(trials)
    if driver.journal is not None:
        driver.journal.step(driver.ledger, step, prompt, trials, error)


def start(driver: Loop) -> None:
    """Evaluate the proposer's initial points (step 0) in one round, once."""
    if driver.started:
        return
    with driver.ledger.timed():
        initial = _checked_initial(driver)
        driver.started = True
        if driver.journal is not None:
            driver.journal.pending(driver.ledger, Ask(0, None, []))
        trials = []
        for index, outcome in _initial_outcomes(driver, initial):
            if outcome.succeeded:
                outcome = outcome._replace(status="initial")
            trials.append(scored_trial(driver.problem, 0, initial[index], outcome))
            driver.ledger.record(trials[-1])
        driver.known_initial, driver.known_rounds = {}, {}
    finish_step(driver, 0, None, trials, None)
    _refuse_broken_objective(trials)


def _checked_initial(driver: Loop) -> list[Any]:
    """The proposer's initial points, passed by its preflight: a prompt that cannot fit the model is refused
    before any evaluation, and the generator is put back, so that a second start begins as the first did."""
    rng = driver.ledger.rng
    state = rng.bit_generator.state
    initial = driver.proposer.initial(rng)
    preflight = getattr(driver.proposer, "preflight", None)
    if preflight is not None:
        try:
            preflight(initial)
        except BaseException:
            rng.bit_generator.state = state
            raise
    return initial


def _initial_outcomes(driver: Loop, initial: list[Any]) -> list[tuple[int, Scored]]:
    """(index, outcome) of each initial point scored, in order: the first of each, not evaluated before,
    within the budget; those journaled before a crash (`known_initial`) keep their values."""
    ledger = driver.ledger
    order = ledger.new_among(initial)
    known = {index: driver.known_initial[index] for index in order if index in driver.known_initial}
    for index in known:
        ledger.note_round(initial[index], driver.known_rounds.get(index))
    rest = [index for index in order if index not in known]
    new = scored(driver, [initial[index] for index in rest], lambda j: rest[j], ledger.evals_left - len(known))
    outcomes = {**known, **{index: outcome for index, outcome in zip(rest, new) if outcome is not None}}
    return [(index, outcomes[index]) for index in order if index in outcomes]


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


def retry_failed(driver: Loop) -> list[Trial]:
    """Evaluate again, in one round, the failed evaluations of a restored run (once the scorer or objective
    is back), within the evaluation budget; journaled as a retry at the current step."""
    if not driver.to_retry:
        return []
    ledger = driver.ledger
    with ledger.timed():
        failed = [t for t in driver.to_retry if not ledger.known(t.solution)]
        driver.to_retry = []
        trials = []
        for old, outcome in zip(failed, scored(driver, [t.solution for t in failed])):
            if outcome is not None:
                trials.append(scored_trial(driver.problem, ledger.step, old.solution, outcome, old.raw))
                ledger.record(trials[-1], retry=True)
    if driver.journal is not None:
        driver.journal.step(ledger, ledger.step, None, trials, None, retry=True)
    return trials
