"""The OPRO optimizer: an ask()/tell() core and a thin run() loop with stop rules."""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Protocol, Sequence

import numpy as np

from llmopt import metaprompt
from llmopt.backends.base import Backend
from llmopt.baselines import usage_since
from llmopt.problem import InvalidSolution, Problem
from llmopt.result import Result, Trial


@dataclass(frozen=True)
class OPROConfig:
    """Settings of one OPRO run; defaults follow the paper's linear-regression setup."""

    steps: int = 10
    proposals: int = 8
    temperature: float = 1.0
    initial: int = 5
    seed: int = 0
    max_tokens: int = 128
    max_evals: int | None = None
    target: float | None = None
    patience: int | None = None
    use_grammar: bool = True
    metaprompt: metaprompt.MetaPromptConfig = field(default_factory=metaprompt.MetaPromptConfig)

    def to_dict(self) -> dict[str, Any]:
        """Plain data for run records."""
        return dataclasses.asdict(self)


@dataclass
class Proposal:
    """One completion of a step and what it decoded to."""

    raw: str
    solution: Any = None
    reason: str | None = None
    duplicate: bool = False

    @property
    def valid(self) -> bool:
        """Decoded, and not already in the history."""
        return self.reason is None and not self.duplicate


@dataclass
class Ask:
    """What `OPRO.ask()` hands out: the step, its meta-prompt and decoded proposals."""

    step: int
    prompt: str
    proposals: list[Proposal]


class StepRecorder(Protocol):
    """Where each finished step is written (see `llmopt.records`)."""

    def write_step(self, record: dict[str, Any]) -> None: ...


class OPRO:
    """LLM-as-optimizer. `ask()` samples proposals, `tell()` scores them; `run()` loops."""

    def __init__(self, problem: Problem, backend: Backend | None = None,
                 config: OPROConfig = OPROConfig(), recorder: StepRecorder | None = None) -> None:
        if backend is None:
            from llmopt.backends.local import LocalBackend

            backend = LocalBackend()
        self.problem, self.backend, self.config, self.recorder = problem, backend, config, recorder
        self.rng = np.random.default_rng(config.seed)
        self.step = 0
        self.result = Result(method="opro", problem=problem.name, direction=problem.direction,
                             optimum=problem.optimum())
        self._values: dict[str, float] = {}
        self._texts: dict[str, str] = {}
        self._best_step = 0
        self._started = False
        self._clock = 0.0
        self._usage = problem.usage()

    # -- history ---------------------------------------------------------------------------

    def history(self) -> list[tuple[str, float]]:
        """Every evaluated (solution text, value), first seen first."""
        return [(self._texts[key], value) for key, value in self._values.items()]

    def prompt(self) -> str:
        """The meta-prompt for the next step."""
        exemplars = self.problem.exemplars(self.rng) if self.config.metaprompt.show_exemplars else None
        return metaprompt.render(self.problem, self.history(), self.config.metaprompt, exemplars)

    def _record(self, trial: Trial, solution: Any) -> None:
        self.result.trials.append(trial)
        if trial.value is None:
            return
        key = self.problem.key(solution)
        self._values[key], self._texts[key] = trial.value, trial.text or ""
        best = self.result.best_value
        if best is None or self.problem.better(trial.value, best):
            self.result.best_value, self.result.best_solution = trial.value, solution
            self._best_step = self.step

    def _evaluate(self, solution: Any, value: float | None) -> float:
        self.result.counts.evals += 1
        return float(self.problem.evaluate(solution) if value is None else value)

    def start(self) -> None:
        """Evaluate the initial points (step 0); `ask()` calls this when needed."""
        if self._started:
            return
        self._started = True
        began = time.perf_counter()
        for solution in self.problem.initial(self.rng, self.config.initial):
            if self.problem.key(solution) in self._values:
                continue
            value = self._evaluate(solution, None)
            self._record(Trial(step=0, status="initial", text=self.problem.encode(solution),
                               solution=solution, value=value), solution)
        self._clock += time.perf_counter() - began

    # -- ask / tell ------------------------------------------------------------------------

    def ask(self) -> Ask:
        """Sample this step's proposals from the model in one request and decode them."""
        self.start()
        began = time.perf_counter()
        self.step += 1
        prompt = self.prompt()
        config = self.config
        grammar = self.problem.grammar() if config.use_grammar else None
        generation = self.backend.generate(
            prompt, n=config.proposals, temperature=config.temperature, max_tokens=config.max_tokens,
            seed=config.seed * 1_000_003 + self.step * config.proposals, grammar=grammar)
        counts = self.result.counts
        counts.llm_calls += generation.calls
        counts.prompt_tokens += generation.prompt_tokens
        counts.completion_tokens += generation.completion_tokens
        proposals = [self._decode(c.text) for c in generation.completions]
        self._mark_duplicates(proposals)
        self._clock += time.perf_counter() - began
        return Ask(self.step, prompt, proposals)

    def _decode(self, raw: str) -> Proposal:
        try:
            return Proposal(raw, solution=self.problem.decode(raw))
        except InvalidSolution as error:
            return Proposal(raw, reason=error.reason)

    def _mark_duplicates(self, proposals: list[Proposal]) -> None:
        seen = set(self._values)
        for proposal in proposals:
            if proposal.reason is None:
                key = self.problem.key(proposal.solution)
                proposal.duplicate = key in seen
                seen.add(key)

    def tell(self, ask: Ask, values: Sequence[float | None] | None = None) -> list[Trial]:
        """Score the valid proposals of `ask` (or take the given values) and add them to the history."""
        began = time.perf_counter()
        values = list(values) if values is not None else [None] * len(ask.proposals)
        if len(values) != len(ask.proposals):
            raise ValueError(f"got {len(values)} values for {len(ask.proposals)} proposals")
        trials = [self._tell_one(ask.step, p, v) for p, v in zip(ask.proposals, values)]
        if self.recorder is not None:
            self.recorder.write_step(_step_record(ask, trials))
        self._clock += time.perf_counter() - began
        return trials

    def _tell_one(self, step: int, proposal: Proposal, value: float | None) -> Trial:
        counts = self.result.counts
        counts.proposals += 1
        if proposal.reason is not None:
            counts.add_invalid(proposal.reason)
            trial = Trial(step, "invalid", raw=proposal.raw, reason=proposal.reason)
        elif proposal.duplicate:
            counts.duplicates += 1
            trial = Trial(step, "duplicate", raw=proposal.raw,
                          text=self.problem.encode(proposal.solution), solution=proposal.solution)
        elif self.config.max_evals is not None and counts.evals >= self.config.max_evals:
            trial = Trial(step, "skipped", raw=proposal.raw, reason="evaluation budget spent",
                          text=self.problem.encode(proposal.solution), solution=proposal.solution)
        else:
            trial = Trial(step, "ok", raw=proposal.raw, text=self.problem.encode(proposal.solution),
                          solution=proposal.solution, value=self._evaluate(proposal.solution, value))
        self._record(trial, proposal.solution)
        return trial

    # -- stopping and the loop -------------------------------------------------------------

    def stop_reason(self) -> str | None:
        """Why the run should stop now, or None to go on."""
        config, best = self.config, self.result.best_value
        if config.target is not None and best is not None and not self.problem.better(config.target, best):
            return "target"
        if config.max_evals is not None and self.result.counts.evals >= config.max_evals:
            return "max_evals"
        if config.patience is not None and self.step - self._best_step >= config.patience:
            return "patience"
        if self.step >= config.steps:
            return "max_steps"
        return None

    def run(self, on_step: Callable[[OPRO], None] | None = None) -> Result:
        """ask/tell until a stop rule fires; `on_step` is called after every step."""
        self.start()
        while (reason := self.stop_reason()) is None:
            self.tell(self.ask())
            if on_step is not None:
                on_step(self)
        return self.finish(reason)

    def finish(self, reason: str) -> Result:
        """Stamp the stop reason and time on the Result and return it."""
        self.result.stop_reason = reason
        self.result.seconds = self._clock
        self.result.extra["usage"] = usage_since(self.problem, self._usage)
        return self.result


def _step_record(ask: Ask, trials: list[Trial]) -> dict[str, Any]:
    return {"step": ask.step, "meta_prompt": ask.prompt,
            "trials": [dataclasses.asdict(t) for t in trials]}
