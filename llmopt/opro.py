"""The OPRO optimizer: an ask()/tell() core and a thin run() loop with stop rules."""

from __future__ import annotations

import dataclasses
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Callable, Protocol, Sequence

import numpy as np

from llmopt import metaprompt
from llmopt.answers import read_answer, read_completion
from llmopt.backends.base import Backend, Generation
from llmopt.errors import BackendError, ServerUnreachable
from llmopt.problem import Problem, evaluate_safely, usage_since
from llmopt.result import Counts, Result, Status, Trial, reached

REPAIR_SEED_OFFSET = 500_000
# The stop reasons of a run whose model server (the optimizer's, or the one an evaluation asks) went away.
UNREACHABLE = ("model_unreachable", "scorer_unreachable")


@dataclass(frozen=True)
class OPROConfig:
    """Settings of one OPRO run; defaults follow the paper's linear-regression setup.

    Stop rules: `steps`, `max_evals`, `target`, `patience` (steps without improvement),
    `max_failures` (failed evaluations), and the budgets `max_llm_calls`, `max_total_tokens`
    (prompt + completion tokens of the whole run), `max_cost` (dollars at `price`: dollars per
    million prompt and completion tokens) and `timeout` (seconds of the run's own work, resumes
    included). Budgets are checked between steps, so a run overshoots one by at most a step.
    `answer_tokens` limits one proposal's answer (a backend whose model reasons adds room for that).
    """

    steps: int = 10
    proposals: int = 8
    temperature: float = 1.0
    initial: int = 5
    seed: int = 0
    answer_tokens: int = 128
    max_evals: int | None = None
    target: float | None = None
    patience: int | None = None
    use_grammar: bool = True
    max_llm_calls: int | None = None
    max_total_tokens: int | None = None
    timeout: float | None = None
    max_failures: int | None = None
    repair: bool = False
    price: tuple[float, float] | None = None
    max_cost: float | None = None
    # language-model crossover's own settings (the `lmx` method compared with OPRO reads them)
    lmx_parents: int = 4
    lmx_population: int = 8
    lmx_selection: str = "uniform"
    metaprompt: metaprompt.MetaPromptConfig = field(default_factory=metaprompt.MetaPromptConfig)

    def to_dict(self) -> dict[str, Any]:
        """Plain data for run records."""
        return dataclasses.asdict(self)


def evaluation_budget(config: OPROConfig) -> int:
    """The budget rule: the number of evaluations (distinct solutions scored) every compared method gets.

    It is `max_evals` when set, else what OPRO could spend at most: initial points plus steps × proposals.
    """
    return config.max_evals or config.initial + config.steps * config.proposals


@dataclass
class Proposal:
    """One completion of a step and what it decoded to; `first_attempt` keeps a rejected answer that was repaired."""

    raw: str
    solution: Any = None
    reason: str | None = None
    duplicate: bool = False
    first_attempt: dict[str, str] | None = None
    reasoning: str = ""
    cut_off_at: int | None = None


@dataclass
class Ask:
    """What `OPRO.ask()` hands out: the step, its meta-prompt and decoded proposals."""

    step: int
    prompt: str
    proposals: list[Proposal]
    error: str | None = None


class StepRecorder(Protocol):
    """Where the run is journaled (see `llmopt.records.RunRecorder`)."""

    def write_step(self, record: dict[str, Any]) -> None:
        """Journal a finished step."""
        ...

    def write_pending(self, record: dict[str, Any]) -> None:
        """Journal a step whose proposals are known but not yet evaluated."""
        ...

    def write_eval(self, index: int, value: float) -> None:
        """Journal one evaluation of the pending step."""
        ...


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
        self.result = Result(method="opro", problem=problem.name, direction=problem.direction, kind="opro",
                             optimum=problem.optimum())
        self._history: dict[str, tuple[str, float]] = {}  # key -> (solution text, value)
        self._best_step = 0
        self._started = False
        self._clock = 0.0
        self._usage = problem.usage()
        self._pending: tuple[Ask, list[float | None]] | None = None
        self._initial_known: dict[int, float] = {}  # step 0's evaluations journaled before a crash
        self._to_retry: list[Trial] = []  # failed evaluations of a restored run
        self._model_gone = False  # the optimizer's server stopped answering (not an evaluation's)

    # -- history ---------------------------------------------------------------------------

    def history(self) -> list[tuple[str, float]]:
        """Every evaluated (solution text, value), first seen first."""
        return list(self._history.values())

    def prompt(self) -> str:
        """The meta-prompt for the next step."""
        exemplars = self.problem.exemplars(self.rng) if self.config.metaprompt.show_exemplars else None
        config = self.config.metaprompt
        # a generator of its own, so that a random variant changes the meta-prompt and nothing else
        shuffle = np.random.default_rng((self.config.seed, self.step)) if config.random else None
        return metaprompt.render(self.problem, self.history(), config, exemplars, shuffle)

    def _record(self, trial: Trial) -> None:
        best = self.result.best_value
        self.result.add(trial)
        if trial.eval_index is None:
            return
        self._history[self.problem.key(trial.solution)] = (trial.text or "", trial.value)
        if self.result.best_value != best:
            self._best_step = trial.step

    def _scored(self, step: int, status: Status, solution: Any, value: float | None, index: int | None,
                 raw: str | None = None) -> Trial:
        """Evaluate (unless the value is known) and make the trial, scored or failed; a value scored for the
        pending step (`index` given) is journaled at once."""
        text = self.problem.encode(solution)
        if value is None:
            value, reason, outcome = evaluate_safely(self.problem.evaluate, solution)
        else:  # a value told by the caller passes the same check as one computed here
            value, reason, outcome = evaluate_safely(lambda _: value, solution)
        if reason is not None:  # failed, or infeasible by the objective's own word
            return Trial(step, outcome, raw=raw, text=text, solution=solution, reason=reason)
        if self.recorder is not None and index is not None:
            self.recorder.write_eval(index, value)
        return Trial(step, status, raw=raw, text=text, solution=solution, value=value)

    def start(self) -> None:
        """Evaluate the initial points (step 0); `ask()` calls this when needed."""
        if self._started:
            return
        self._started = True
        began = time.perf_counter()
        initial = self.problem.initial(self.rng, self.config.initial)
        if self.recorder is not None:
            self.recorder.write_pending({"step": 0, "meta_prompt": None, "error": None, "proposals": [],
                                         "counts": dataclasses.asdict(self.result.counts)})
        trials = []
        for index, solution in enumerate(initial):
            if self.problem.key(solution) in self._history:
                continue
            if self.config.max_evals is not None and self.result.counts.evals >= self.config.max_evals:
                break
            trials.append(self._scored(0, "initial", solution, self._initial_known.get(index), index))
            self._record(trials[-1])
        self._initial_known = {}
        self._clock += time.perf_counter() - began
        self._journal_step(0, None, trials, None)

    # -- ask / tell ------------------------------------------------------------------------

    def ask(self) -> Ask:
        """Sample this step's proposals from the model in one request and decode them.

        Until `tell()` receives it, asking again returns the same Ask (no second request).
        """
        self.start()
        if self._pending is not None:
            return self._pending[0]
        self.retry_failed()  # only between steps: a step in progress keeps its own journal
        began = time.perf_counter()
        self.step += 1
        prompt = self.prompt()
        try:
            ask = self._sample(prompt)
        except BaseException as error:  # refused, gone or interrupted: nothing of this step was journaled
            self.step -= 1
            self._clock += time.perf_counter() - began
            self._model_gone = isinstance(error, ServerUnreachable)
            raise
        self._mark_duplicates(ask.proposals)
        if self.recorder is not None:
            self.recorder.write_pending(self._pending_record(ask))
        self._pending = (ask, [None] * len(ask.proposals))
        self._clock += time.perf_counter() - began
        return ask

    def _sample(self, prompt: str) -> Ask:
        """This step's answers, decoded (and repaired when asked); a failed request is a step without any."""
        try:
            generation = self._generate(prompt, self.config.proposals, self.step * self.config.proposals)
        except BackendError as error:
            self.result.counts.failed_requests += 1
            self.result.extra["last_request_error"] = str(error)
            return Ask(self.step, prompt, [], error=str(error))
        limit = generation.max_tokens or self.config.answer_tokens
        ask = Ask(self.step, prompt, [self._proposal(c, limit) for c in generation.completions])
        if self.config.repair:
            self._repair(ask)
        return ask

    def _generate(self, prompt: str, n: int, seed_offset: int) -> Generation:
        config = self.config
        grammar = self.problem.grammar() if config.use_grammar else None
        generation = self.backend.generate(prompt, n=n, temperature=config.temperature,
                                           max_tokens=config.answer_tokens,
                                           seed=config.seed * 1_000_003 + seed_offset, grammar=grammar)
        self.result.counts.add_generation(generation)
        return generation

    def _proposal(self, answer: Any, limit: int) -> Proposal:
        solution, reason = read_completion(self.problem.decode, answer, limit)
        return Proposal(answer.text, solution=solution, reason=reason, reasoning=answer.reasoning,
                        cut_off_at=limit if answer.cut_off else None)

    def _decode(self, raw: str, reasoning: str = "", cut_off_at: int | None = None) -> Proposal:
        solution, reason = read_answer(self.problem.decode, raw, reasoning=reasoning, cut_off_at=cut_off_at)
        return Proposal(raw, solution=solution, reason=reason, reasoning=reasoning, cut_off_at=cut_off_at)

    def _repair(self, ask: Ask) -> None:
        """Send each rejection's reason back once, all concurrently, and decode the new answers."""
        broken = [p for p in ask.proposals if p.reason is not None]
        if not broken:
            return

        def fix(item: tuple[int, Proposal]) -> str | None:
            index, proposal = item
            prompt = (f"{ask.prompt}\nYour answer was:\n{proposal.raw}\n\nIt was rejected: {proposal.reason}. "
                      "Answer again, in the required format.")
            try:
                completions = self._generate(prompt, 1, REPAIR_SEED_OFFSET + ask.step * 1000 + index).completions
            except BackendError as error:
                self.result.counts.failed_requests += 1
                self.result.extra["last_request_error"] = str(error)
                return None
            return completions[0].text if completions else None

        with ThreadPoolExecutor(max_workers=len(broken)) as pool:
            answers = list(pool.map(fix, enumerate(broken)))
        for proposal, answer in zip(broken, answers):
            self.result.counts.repairs += 1
            if answer is None:
                continue
            fixed = self._decode(answer)
            if fixed.reason is None:
                self.result.counts.repairs_valid += 1
                proposal.first_attempt = {"raw": proposal.raw, "reason": proposal.reason or ""}
                proposal.raw, proposal.solution, proposal.reason = fixed.raw, fixed.solution, None

    def _mark_duplicates(self, proposals: list[Proposal]) -> None:
        seen = set(self._history)
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
        if self._pending is not None and self._pending[0] is ask:
            values = [known if given is None else given for known, given in zip(self._pending[1], values)]
        self._pending = None
        trials = [self._tell_one(ask.step, i, p, v) for i, (p, v) in enumerate(zip(ask.proposals, values))]
        self._clock += time.perf_counter() - began
        self._journal_step(ask.step, ask.prompt, trials, ask.error)
        return trials

    def _tell_one(self, step: int, index: int, proposal: Proposal, value: float | None) -> Trial:
        counts = self.result.counts
        counts.proposals += 1
        if proposal.first_attempt is not None:
            counts.add_invalid(proposal.first_attempt["reason"])
        text = None if proposal.reason is not None else self.problem.encode(proposal.solution)
        if proposal.reason is not None:
            trial = Trial(step, "invalid", raw=proposal.raw, reason=proposal.reason)
        elif proposal.duplicate:
            counts.duplicates += 1
            trial = Trial(step, "duplicate", raw=proposal.raw, text=text, solution=proposal.solution)
        elif self.config.max_evals is not None and counts.evals >= self.config.max_evals:
            trial = Trial(step, "skipped", raw=proposal.raw, reason="evaluation budget spent", text=text,
                          solution=proposal.solution)
        else:
            trial = self._scored(step, "ok", proposal.solution, value, index, raw=proposal.raw)
        trial.reasoning = proposal.reasoning or None  # kept apart from the answer, never shown to the model
        self._record(trial)
        return trial

    def retry_failed(self) -> list[Trial]:
        """Evaluate again the failed evaluations of a restored run (once the scorer or objective is back),
        within the evaluation budget; a failure put right no longer counts against `max_failures`."""
        if not self._to_retry:
            return []
        began = time.perf_counter()
        trials = []
        for failed in self._to_retry:
            if self.config.max_evals is not None and self.result.counts.evals >= self.config.max_evals:
                break
            if self.problem.key(failed.solution) not in self._history:
                trials.append(self._scored(self.step, "ok", failed.solution, None, None, failed.raw))
                self._record(trials[-1])
                if trials[-1].status == "ok":
                    self.result.counts.failed_evals -= 1
        self._to_retry = []
        self._clock += time.perf_counter() - began
        self._journal_step(self.step, None, trials, None, retry=True)
        return trials

    # -- journal and resume ----------------------------------------------------------------

    def _journal_step(self, step: int, prompt: str | None, trials: list[Trial], error: str | None,
                      retry: bool = False) -> None:
        if self.recorder is None:
            return
        self.recorder.write_step({
            "step": step, "meta_prompt": prompt, "error": error, "retry": retry, "clock": self._clock,
            "trials": [dataclasses.asdict(t) for t in trials],
            "counts": dataclasses.asdict(self.result.counts), "rng": self.rng.bit_generator.state})

    def _pending_record(self, ask: Ask) -> dict[str, Any]:
        return {"step": ask.step, "meta_prompt": ask.prompt, "error": ask.error,
                "proposals": [{"raw": p.raw, "first_attempt": p.first_attempt, "reasoning": p.reasoning,
                               "cut_off_at": p.cut_off_at} for p in ask.proposals],
                "counts": dataclasses.asdict(self.result.counts), "rng": self.rng.bit_generator.state}

    def restore(self, steps: list[dict[str, Any]], pending: dict[str, Any] | None = None) -> None:
        """Continue a journaled run: rebuild history, counts and clock; an interrupted step resumes where it
        was, and the evaluations that failed are queued for `retry_failed()`."""
        if not steps:
            if pending is not None and pending["step"] == 0:  # killed while scoring the initial points
                self._initial_known = dict(pending.get("evals", []))
            return
        failed = []
        for record in steps:
            for data in record["trials"]:
                trial = Trial(**{**data, "eval_index": None})
                solution = self.problem.decode(trial.text) if trial.text is not None else None
                self._record(dataclasses.replace(trial, solution=solution))
                if trial.status == "failed":
                    failed.append(dataclasses.replace(trial, solution=solution))
        last = steps[-1]
        self._started = True
        self.step = last["step"]
        self._clock = last.get("clock", 0.0)
        self.result.counts = Counts.from_dict(last["counts"])
        self.rng.bit_generator.state = last["rng"]
        self._to_retry = list({self.problem.key(t.solution): t for t in failed
                               if self.problem.key(t.solution) not in self._history}.values())
        if pending is not None and pending["step"] == self.step + 1:
            self._resume_step(pending)

    def _resume_step(self, pending: dict[str, Any]) -> None:
        self.step = pending["step"]
        self.result.counts = Counts.from_dict(pending["counts"])
        self.rng.bit_generator.state = pending["rng"]
        proposals = []
        for item in pending["proposals"]:
            proposal = self._decode(item["raw"], item.get("reasoning", ""), item.get("cut_off_at"))
            proposal.first_attempt = item.get("first_attempt", item.get("repair"))  # "repair" before 0.2
            proposals.append(proposal)
        self._mark_duplicates(proposals)
        known: list[float | None] = [None] * len(proposals)
        for index, value in pending.get("evals", []):
            known[index] = value
        self._pending = (Ask(self.step, pending["meta_prompt"], proposals, pending.get("error")), known)

    # -- stopping and the loop -------------------------------------------------------------

    def stop_reason(self) -> str | None:
        """Why the run should stop now, or None to go on."""
        config, best, counts = self.config, self.result.best_value, self.result.counts
        if self._pending is not None:
            return None
        if config.target is not None and reached(best, config.target, self.problem.direction):
            return "target"
        rules = (
            ("max_evals", config.max_evals, counts.evals),
            ("max_llm_calls", config.max_llm_calls, counts.llm_calls),
            ("max_total_tokens", config.max_total_tokens, counts.tokens),
            ("max_cost", config.max_cost, counts.cost(config.price) or 0.0),
            ("timeout", config.timeout, self._clock),
            ("max_failures", config.max_failures, counts.failed_evals),
            ("patience", config.patience, self.step - self._best_step),
            ("max_steps", config.steps, self.step),
        )
        for reason, limit, spent in rules:
            if limit is not None and spent >= limit:
                return reason
        return None

    def run(self, on_step: Callable[[OPRO], None] | None = None) -> Result:
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
                self.tell(self.ask())
                if on_step is not None:
                    on_step(self)
        except ServerUnreachable as error:
            self.result.extra["error"] = str(error)
            return self.finish("model_unreachable" if self._model_gone else "scorer_unreachable")
        return self.finish(reason)

    def finish(self, reason: str) -> Result:
        """Stamp the stop reason and time on the Result and return it."""
        self.result.stop_reason = reason
        self.result.seconds = self._clock
        self.result.extra["usage"] = usage_since(self.problem, self._usage)
        if self.config.price is not None:
            self.result.extra["price"] = list(self.config.price)
        return self.result
