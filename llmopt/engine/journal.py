"""A driver's journal: what it writes after each step, while a step is scored, and how a run is replayed.

The journal shapes the records; a sink (`llmopt.engine.records.RunRecorder`, or anything with its three
`write_*` methods) puts them on disk. `steps.jsonl` holds finished steps, `pending.jsonl` the step in
progress and each of its evaluations as it ends, so a run killed at any moment resumes without asking
the model again or repeating an evaluation. Resuming replays the log through the driver's own
`record`, the path that made it.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Protocol

from llmopt.core.result import Counts, Spent, Trial
from llmopt.engine.proposer import Ask


class Sink(Protocol):
    """Where journal records go."""

    def write_step(self, record: dict[str, Any]) -> None:
        """Journal a finished step (and clear the pending one)."""
        ...

    def write_pending(self, record: dict[str, Any]) -> None:
        """Journal a step whose proposals are known but not yet evaluated."""
        ...

    def write_eval(self, index: int, value: float, round: int | None = None) -> None:
        """Journal one evaluation of the pending step (and the round it was made in)."""
        ...


class Journal:
    """Writes a driver's steps to a sink."""

    def __init__(self, sink: Sink) -> None:
        self.sink = sink

    def step(
        self, driver: Any, step: int, prompt: str | None, trials: list[Trial], error: str | None, retry: bool = False
    ) -> None:
        """A finished step: its trials, and the counts, clock and generator state after it."""
        self.sink.write_step(
            {
                "step": step,
                "meta_prompt": prompt,
                "error": error,
                "retry": retry,
                "clock": driver.clock,
                "trials": [dataclasses.asdict(t) for t in trials],
                **_state(driver),
            }
        )

    def pending(self, driver: Any, ask: Ask) -> None:
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
                **_state(driver),
            }
        )

    def evaluation(self, index: int, value: float, round: int | None = None) -> None:
        """One evaluation of the pending step, the moment it ends, with the round it was made in."""
        self.sink.write_eval(index, value, round)


def _state(driver: Any) -> dict[str, Any]:
    return {"counts": dataclasses.asdict(driver.result.counts), "rng": driver.rng.bit_generator.state}


class Replayable(Protocol):
    """What a replay needs of a driver: its problem and proposer, the recording path, and how to take up
    the run where its journal ends."""

    problem: Any
    proposer: Any
    ledger: Any
    step: int

    def record(self, trial: Trial, retry: bool = False) -> None:
        """Add a trial to the Result and the history."""
        ...

    def resume_at(self, step: int, clock: float, rng_state: dict[str, Any]) -> None:
        """Take up the run after its last journaled step."""
        ...

    def resume_initial(self, evals: dict[int, float], rounds: dict[int, int]) -> None:
        """Keep the initial points' journaled evaluations."""
        ...

    def queue_failed_for_retry(self) -> None:
        """Queue the failed evaluations to try again."""
        ...

    def hold(self, ask: Ask, known: list[float | None]) -> None:
        """Make `ask` the pending step with the values already known."""
        ...


def replay(driver: Replayable, steps: list[dict[str, Any]], pending: dict[str, Any] | None) -> None:
    """Continue a journaled run through the driver's own recording path: every trial goes through
    `driver.record` again and each step's spending (the difference of consecutive records' counts) through
    the ledger's `spend`, as they did live; a step killed mid-way resumes with the evaluations it had finished."""
    if not steps:
        if pending is not None and pending["step"] == 0:  # killed while scoring the initial points
            driver.resume_initial(dict(pending.get("evals", [])), dict(pending.get("rounds", {})))
        return
    before: Counts | None = None
    for record in steps:
        trials = [_trial(driver, data) for data in record["trials"]]
        for trial in trials:
            driver.record(trial, retry=record.get("retry", False))
        before = _spend(driver, record, before)
        if not record.get("retry"):
            driver.proposer.observe(trials)
    last = steps[-1]
    driver.resume_at(last["step"], last.get("clock", 0.0), last["rng"])
    if not any("first_attempt" in data for record in steps for data in record["trials"]):
        # a journal written before trials kept a repaired answer's first attempt: its rejections are in the counts
        driver.ledger.result.counts.invalid = Counts.from_dict(last["counts"]).invalid
    driver.queue_failed_for_retry()
    if pending is not None and pending["step"] == driver.step + 1:
        _spend(driver, pending, before)
        _resume_step(driver, pending)


def _spend(driver: Replayable, record: dict[str, Any], before: Counts | None) -> Counts:
    """Spend what a record's counts add to the ones before; returns its counts."""
    after = Counts.from_dict(record["counts"])
    driver.ledger.spend(Spent.between(after, before))
    return after


def _trial(driver: Replayable, data: dict[str, Any]) -> Trial:
    trial = Trial(**{**data, "eval_index": None})
    trial.solution = driver.problem.decode(trial.text) if trial.text is not None else None
    return trial


def _resume_step(driver: Replayable, pending: dict[str, Any]) -> None:
    proposals = []
    for item in pending["proposals"]:
        proposal = driver.proposer.reread(item)
        proposal.first_attempt = item.get("first_attempt")
        proposals.append(proposal)
    known: list[float | None] = [None] * len(proposals)
    for index, value in pending.get("evals", []):
        known[index] = value
    for index, number in pending.get("rounds", {}).items():
        driver.ledger.note_round(proposals[index].solution, number)
    driver.resume_at(pending["step"], pending.get("clock", driver.ledger.clock), pending["rng"])
    driver.hold(Ask(pending["step"], pending["meta_prompt"], proposals, pending.get("error")), known)
