"""A driver's journal: what it writes after each step, while a step is scored, and how a run is replayed.

The journal shapes the records; a sink (`llmopt.engine.records.RunRecorder`, or anything with its three
`write_*` methods) puts them on disk. `steps.jsonl` holds finished steps, `pending.jsonl` the step in
progress and each of its evaluations as it ends, so a run killed at any moment resumes without asking
the model again or repeating an evaluation. Resuming (`replay`, the one place a driver is taken up where
its journal ends) replays the log through the ledger's own `record`, the path that made it.
"""

from __future__ import annotations

import dataclasses
from typing import Any, NamedTuple, Protocol

from llmopt.contract.problem import Scored
from llmopt.core.result import Counts, Spent, Trial
from llmopt.engine.ledger import Ledger
from llmopt.engine.proposer import Ask

# What an objective may say with a value (`llmopt.Evaluation`), journaled with it when given; with several
# objectives, the values themselves (the journaled `value` is then None).
SAID = ("feedback", "constraints", "cases", "values")
# What a record holds as a JSON list and a trial as a tuple.
TUPLES = ("constraints", "cases", "values")


class Sink(Protocol):
    """Where journal records go."""

    def write_step(self, record: dict[str, Any]) -> None:
        """Journal a finished step (and clear the pending one)."""
        ...

    def write_pending(self, record: dict[str, Any]) -> None:
        """Journal a step whose proposals are known but not yet evaluated."""
        ...

    def write_eval(self, index: int, value: float | None, round: int | None = None, **said: Any) -> None:
        """Journal one evaluation of the pending step (and the round it was made in); `said` holds what the
        objective said with the value (`feedback`, `constraints`, `cases`; `values` with several objectives,
        whose `value` is None), only those it gave."""
        ...


class Pending(NamedTuple):
    """A driver's step asked and not yet told: its Ask, and each proposal's outcome once scored (else None)."""

    ask: Ask
    known: list[Scored | None]


class Journal:
    """Writes a driver's steps to a sink."""

    def __init__(self, sink: Sink) -> None:
        self.sink = sink

    def step(
        self, study: Ledger, step: int, prompt: str | None, trials: list[Trial], error: str | None, retry: bool = False
    ) -> None:
        """A finished step: its trials, and the counts, clock and generator state after it."""
        self.sink.write_step(
            {
                "step": step,
                "meta_prompt": prompt,
                "error": error,
                "retry": retry,
                "clock": study.clock,
                "trials": [dataclasses.asdict(t) for t in trials],
                **_state(study),
            }
        )

    def pending(self, study: Ledger, ask: Ask) -> None:
        """A step whose proposals are known: their answers, to decode again on resume."""
        self.sink.write_pending(
            {
                "step": ask.step,
                "meta_prompt": ask.prompt,
                "error": ask.error,
                "proposals": [
                    {
                        "raw": p.raw,
                        "first_attempt": p.first_attempt,
                        "reasoning": p.reasoning,
                        "cut_off_at": p.cut_off_at,
                        **({"prompt": p.prompt} if p.prompt else {}),
                        **({"parent": p.parent} if p.parent is not None else {}),
                    }
                    for p in ask.proposals
                ],
                **_state(study),
            }
        )

    def evaluation(self, index: int, outcome: Scored, round: int | None = None) -> None:
        """One evaluation of the pending step, the moment it ends, with the round it was made in and what the
        objective said with its value (so a run killed mid-step resumes with its feedback, constraints and,
        with several objectives, its values)."""
        said = {key: getattr(outcome, key) for key in SAID if getattr(outcome, key) is not None}
        self.sink.write_eval(index, outcome.value, round, **said)


def _state(study: Ledger) -> dict[str, Any]:
    return {"counts": dataclasses.asdict(study.result.counts), "rng": study.rng.bit_generator.state}


class Replayable(Protocol):
    """What a replay reads of a driver (its problem, proposer and ledger: the recording path) and what it
    sets to take up the run where its journal ends."""

    problem: Any
    proposer: Any
    ledger: Ledger
    started: bool  # step 0 is done
    pending: Pending | None  # the step asked and not yet told
    known_initial: dict[int, Scored]  # step 0's evaluations journaled before a crash
    known_rounds: dict[int, int]  # and the rounds they were made in
    to_retry: list[Trial]  # the failed evaluations to make again


def replay(driver: Replayable, steps: list[dict[str, Any]], pending: dict[str, Any] | None) -> None:
    """Continue a journaled run through the ledger's own recording path: every trial goes through
    `ledger.record` again and each step's spending (the difference of consecutive records' counts) through
    its `spend`, as they did live; a step killed mid-way resumes with the evaluations it had finished."""
    if not steps:
        if pending is not None and pending["step"] == 0:  # killed while scoring the initial points
            driver.known_initial = journaled_outcomes(pending)
            driver.known_rounds = dict(pending.get("rounds", {}))
        return
    ledger, before = driver.ledger, None
    for record in steps:
        trials = [_trial(driver, data) for data in record["trials"]]
        for trial in trials:
            ledger.record(trial, retry=record.get("retry", False))
        before = _spend(ledger, record, before)
        if not record.get("retry"):
            driver.proposer.observe(trials)
    last = steps[-1]
    _resume_at(driver, last["step"], last.get("clock", 0.0), last["rng"])
    if not any("first_attempt" in data for record in steps for data in record["trials"]):
        # a journal written before trials kept a repaired answer's first attempt: its rejections are in the counts
        ledger.result.counts.invalid = Counts.from_dict(last["counts"]).invalid
    driver.to_retry = _failed_since(driver)
    if pending is not None and pending["step"] == ledger.step + 1:
        _spend(ledger, pending, before)
        _resume_step(driver, pending)


def _spend(ledger: Ledger, record: dict[str, Any], before: Counts | None) -> Counts:
    """Spend what a record's counts add to the ones before; returns its counts."""
    after = Counts.from_dict(record["counts"])
    ledger.spend(Spent.between(after, before))
    return after


def _trial(driver: Replayable, data: dict[str, Any]) -> Trial:
    trial = journaled_trial(data)
    trial.solution = driver.problem.decode(trial.text) if trial.text is not None else None
    return trial


def journaled_trial(data: dict[str, Any]) -> Trial:
    """A trial as a step record holds it (JSON: its constraint values, cases and objective values are lists),
    as it was made."""
    tuples = {key: tuple(data[key]) for key in TUPLES if data.get(key) is not None}
    return Trial(**{**data, **tuples, "eval_index": None})


def _resume_at(driver: Replayable, step: int, clock: float, rng_state: dict[str, Any]) -> None:
    """Take up a replayed run after its last journaled step: the step, the run's seconds, the generator."""
    driver.started, driver.ledger.step, driver.ledger.clock = True, step, clock
    driver.ledger.rng.bit_generator.state = rng_state


def _failed_since(driver: Replayable) -> list[Trial]:
    """The failed evaluations of a replayed run not put right since, to evaluate again."""
    failed = {driver.problem.key(t.solution): t for t in driver.ledger.result.trials if t.status == "failed"}
    return [t for t in failed.values() if not driver.ledger.known(t.solution)]


def _resume_step(driver: Replayable, pending: dict[str, Any]) -> None:
    """Hold the journaled pending step again, its proposals decoded as they were, with the values it had."""
    proposals = []
    for item in pending["proposals"]:
        proposal = driver.proposer.reread(item)
        proposal.first_attempt = item.get("first_attempt")
        proposals.append(proposal)
    known: list[Scored | None] = [None] * len(proposals)
    for index, outcome in journaled_outcomes(pending).items():
        known[index] = outcome
    for index, number in pending.get("rounds", {}).items():
        driver.ledger.note_round(proposals[index].solution, number)
    _resume_at(driver, pending["step"], pending.get("clock", driver.ledger.clock), pending["rng"])
    driver.ledger.mark_duplicates(proposals)
    driver.pending = Pending(Ask(pending["step"], pending["meta_prompt"], proposals, pending.get("error")), known)


def journaled_outcomes(pending: dict[str, Any]) -> dict[int, Scored]:
    """The evaluations a pending step journaled, by proposal index, with what the objective said with each
    value (a journal written before evaluations carried feedback and constraints has values alone)."""
    said = pending.get("said", {})
    return {index: _outcome(value, said.get(index, {})) for index, value in pending.get("evals", [])}


def _outcome(value: float | None, said: dict[str, Any]) -> Scored:
    constraints, cases, values = (None if said.get(key) is None else tuple(said[key]) for key in TUPLES)
    return Scored(value, None, "ok", said.get("feedback"), constraints, cases, values)
