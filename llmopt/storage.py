"""A driver's journal: what it writes after each step, while a step is scored, and how a run is replayed.

The journal shapes the records; a sink (`llmopt.records.RunRecorder`, or anything with its three
`write_*` methods) puts them on disk. `steps.jsonl` holds finished steps, `pending.jsonl` the step in
progress and each of its evaluations as it ends, so a run killed at any moment resumes without asking
the model again or repeating an evaluation. Resuming replays the log through the driver's own
`record`, the path that made it.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any, Protocol

from llmopt.result import Counts, Trial

if TYPE_CHECKING:
    from llmopt.driver import Driver
    from llmopt.proposer import Ask

# The counts a step record carries that no trial holds: what the model requests cost.
SPENDING = ("llm_calls", "prompt_tokens", "completion_tokens", "reasoning_tokens", "requests",
            "failed_requests", "repairs", "repairs_valid", "asked")


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

    def step(self, driver: Driver, step: int, prompt: str | None, trials: list[Trial], error: str | None,
             retry: bool = False) -> None:
        """A finished step: its trials, and the counts, clock and generator state after it."""
        self.sink.write_step({
            "step": step, "meta_prompt": prompt, "error": error, "retry": retry, "clock": driver.clock,
            "trials": [dataclasses.asdict(t) for t in trials], **_state(driver)})

    def pending(self, driver: Driver, ask: Ask) -> None:
        """A step whose proposals are known: their answers, to decode again on resume."""
        self.sink.write_pending({
            "step": ask.step, "meta_prompt": ask.prompt, "error": ask.error,
            "proposals": [{"raw": p.raw, "first_attempt": p.first_attempt, "reasoning": p.reasoning,
                           "cut_off_at": p.cut_off_at, **({"prompt": p.prompt} if p.prompt else {})}
                          for p in ask.proposals], **_state(driver)})

    def evaluation(self, index: int, value: float, round: int | None = None) -> None:
        """One evaluation of the pending step, the moment it ends, with the round it was made in."""
        self.sink.write_eval(index, value, round)


def _state(driver: Driver) -> dict[str, Any]:
    return {"counts": dataclasses.asdict(driver.result.counts), "rng": driver.rng.bit_generator.state}


def replay(driver: Driver, steps: list[dict[str, Any]], pending: dict[str, Any] | None) -> None:
    """Continue a journaled run: every trial goes through `driver.record` again (so the trial counts are
    derived as they were), the spending and generator come from the last record, and a step killed
    mid-way resumes with the evaluations it had finished."""
    if not steps:
        if pending is not None and pending["step"] == 0:  # killed while scoring the initial points
            driver.known_initial = dict(pending.get("evals", []))
            driver.known_rounds = dict(pending.get("rounds", {}))
        return
    for record in steps:
        trials = [_trial(driver, data) for data in record["trials"]]
        for trial in trials:
            driver.record(trial, retry=record.get("retry", False))
        if not record.get("retry"):
            driver.proposer.observe(trials)
    last = steps[-1]
    driver.started, driver.step, driver.clock = True, last["step"], last.get("clock", 0.0)
    _restore_state(driver, last)
    if not any("first_attempt" in data for record in steps for data in record["trials"]):
        # a journal written before trials kept a repaired answer's first attempt: its rejections are in the counts
        driver.result.counts.invalid = Counts.from_dict(last["counts"]).invalid
    driver.queue_failed_for_retry()
    if pending is not None and pending["step"] == driver.step + 1:
        _resume_step(driver, pending)


def _trial(driver: Driver, data: dict[str, Any]) -> Trial:
    trial = Trial(**{**data, "eval_index": None})
    trial.solution = driver.problem.decode(trial.text) if trial.text is not None else None
    return trial


def _restore_state(driver: Driver, record: dict[str, Any]) -> None:
    saved = Counts.from_dict(record["counts"])
    for name in SPENDING:
        setattr(driver.result.counts, name, getattr(saved, name))
    driver.rng.bit_generator.state = record["rng"]


def _resume_step(driver: Driver, pending: dict[str, Any]) -> None:
    from llmopt.proposer import Ask

    driver.step = pending["step"]
    _restore_state(driver, pending)
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
    driver.hold(Ask(driver.step, pending["meta_prompt"], proposals, pending.get("error")), known)
