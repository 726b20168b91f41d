"""OPRO (Yang et al. 2023): the proposer that shows the model its scored history in a meta-prompt, and the
settings every model-driven method of a comparison reads."""

from __future__ import annotations

import dataclasses
import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np

from llmopt import metaprompt
from llmopt.backends.base import Backend
from llmopt.problem import Problem
from llmopt.proposer import Ask, ModelProposer, Proposal

if TYPE_CHECKING:
    from llmopt.driver import Driver
    from llmopt.records import RunRecorder
    from llmopt.stopping import StopRule

NAME = "opro"
RECORD_KEY = NAME  # config.json's key for the settings of a run's methods (OPRO's, when there was only OPRO)
REPAIR_SEED_OFFSET = 500_000


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
    # where evaluations run: how many at once, in threads or processes (or on a Dask scheduler), each cut
    # after `eval_timeout` seconds; the model-driven methods find the same whatever these are (README)
    eval_workers: int = 1
    eval_in: str = "threads"
    eval_timeout: float | None = None
    dask: str | None = None
    metaprompt: metaprompt.MetaPromptConfig = field(default_factory=metaprompt.MetaPromptConfig)

    # the settings a resumed run may change: how long it goes on, never how it proposes
    RESUMABLE = frozenset({"steps", "max_evals", "max_llm_calls", "max_total_tokens", "max_cost", "timeout",
                           "target", "patience", "max_failures", "eval_workers", "eval_in", "eval_timeout", "dask"})

    def to_dict(self) -> dict[str, Any]:
        """Plain data for run records."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> OPROConfig:
        """The config `to_dict` wrote; a setting added since takes its default, a renamed one its new name."""
        data = dict(data)
        if "max_tokens" in data:  # records written before the per-answer limit was renamed
            data["answer_tokens"] = data.pop("max_tokens")
        if data.get("price") is not None:
            data["price"] = tuple(data["price"])
        known = {f.name for f in dataclasses.fields(cls)}
        data["metaprompt"] = metaprompt.MetaPromptConfig(**data.get("metaprompt", {}))
        return cls(**{k: v for k, v in data.items() if k in known})

    def changes_on_resume(self, saved: OPROConfig) -> list[str]:
        """The settings that differ from the recorded run's and may not change when it resumes."""
        ours, theirs = json.loads(json.dumps(self.to_dict())), json.loads(json.dumps(saved.to_dict()))
        return sorted(k for k in ours if k not in self.RESUMABLE and ours[k] != theirs.get(k))

    def evaluation_budget(self) -> int:
        """The budget rule: the number of evaluations (distinct solutions scored) every compared method gets.

        It is `max_evals` when set, else what OPRO could spend at most: initial points plus steps × proposals.
        """
        return self.max_evals or self.initial + self.steps * self.proposals


def evaluation_budget(config: OPROConfig) -> int:
    """`config.evaluation_budget()`, the budget rule of every comparison."""
    return config.evaluation_budget()


class OPROProposer(ModelProposer):
    """One request per step for `proposals` answers to the meta-prompt; rejected answers repaired once when asked."""

    def prompt(self, driver: Driver) -> str:
        """The meta-prompt for the driver's current step."""
        config = self.config.metaprompt
        exemplars = self.problem.exemplars(driver.rng) if config.show_exemplars else None
        # a generator of its own, so that a random variant changes the meta-prompt and nothing else
        shuffle = np.random.default_rng((self.config.seed, driver.step)) if config.random else None
        return metaprompt.render(self.problem, driver.history(), config, exemplars, shuffle)

    def propose(self, driver: Driver) -> Ask:
        """This step's answers to the meta-prompt, decoded (and repaired when asked)."""
        prompt = self.prompt(driver)
        n = self.config.proposals
        generation = self.request(driver, prompt, n, driver.step * n)
        if generation is None:
            return Ask(driver.step, prompt, [], error=driver.result.extra["last_request_error"])
        ask = Ask(driver.step, prompt, self.read_generation(generation))
        if self.config.repair:
            self._repair(driver, ask)
        return ask

    def _repair(self, driver: Driver, ask: Ask) -> None:
        """Send each rejection's reason back once, all concurrently, and decode the new answers."""
        broken = [p for p in ask.proposals if p.reason is not None]
        if not broken:
            return

        def fix(index: int, proposal: Proposal) -> str | None:
            prompt = (f"{ask.prompt}\nYour answer was:\n{proposal.raw}\n\nIt was rejected: {proposal.reason}. "
                      "Answer again, in the required format.")
            generation = self.request(driver, prompt, 1, REPAIR_SEED_OFFSET + ask.step * 1000 + index, repair=True)
            return generation.completions[0].text if generation and generation.completions else None

        with ThreadPoolExecutor(max_workers=len(broken)) as pool:
            answers = list(pool.map(fix, range(len(broken)), broken))
        counts = driver.result.counts
        for proposal, answer in zip(broken, answers):
            counts.repairs += 1
            fixed = self.read(answer) if answer is not None else None
            if fixed is not None and fixed.reason is None:
                counts.repairs_valid += 1
                proposal.first_attempt = {"raw": proposal.raw, "reason": proposal.reason or ""}
                proposal.raw, proposal.solution, proposal.reason = fixed.raw, fixed.solution, None


def methods() -> dict[str, Any]:
    """OPRO as a method of every comparison: the one a comparison is about, run first by default."""
    from llmopt.knobs import OPRO_READS
    from llmopt.method import driven

    def make(problem: Problem, setup: Any, config: OPROConfig) -> OPROProposer:
        return OPROProposer(problem, setup.backend, config, name=NAME)

    return {NAME: driven(NAME, make, reads=OPRO_READS, default=True, under_study=True)}


def OPRO(problem: Problem, backend: Backend | None = None, config: OPROConfig = OPROConfig(),
         recorder: RunRecorder | None = None, stop: Sequence[StopRule] = (), name: str = NAME,
         kind: str = "model") -> Driver:
    """An OPRO run: the driver with the OPRO proposer (the embedded model when no backend is given)."""
    from llmopt.driver import Driver

    if backend is None:
        from llmopt.backends.local import LocalBackend

        backend = LocalBackend()
    return Driver(problem, OPROProposer(problem, backend, config, name=name), config, name=name, kind=kind,
                  recorder=recorder, stop=stop)
