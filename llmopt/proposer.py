"""What a model-driven method is to the driver: a proposer that turns the study's history into proposals."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from llmopt.answers import answer_tokens_for, read_answer, read_completion
from llmopt.backends.base import Backend, Generation
from llmopt.errors import BackendError, UsageError
from llmopt.result import Result, Spent, Trial
from llmopt.settings import OPROConfig

if TYPE_CHECKING:
    from llmopt.stopping import StopRule


class Study(Protocol):
    """What a proposer reads of the run it proposes for (the driver is one): the step, the history, how many
    answers and evaluations are left, the Result so far, and the run's generator (which it may draw from)."""

    rng: np.random.Generator

    @property
    def step(self) -> int:
        """The step being proposed (0 for the initial points)."""
        ...

    @property
    def answers_left(self) -> int:
        """How many more model answers the run may draw."""
        ...

    @property
    def evals_left(self) -> int | float:
        """How many more evaluations the budget allows."""
        ...

    @property
    def result(self) -> Result:
        """The run's Result as it stands (to read, never to write)."""
        ...

    def history(self) -> list[tuple[str, float]]:
        """Every evaluated (solution text, value), first seen first."""
        ...


@dataclass
class Proposal:
    """One model answer and what it decoded to; `first_attempt` keeps a rejected answer that was repaired,
    `prompt` the request of a proposal that had one of its own (EvoPrompt's operators)."""

    raw: str
    solution: Any = None
    reason: str | None = None
    duplicate: bool = False
    first_attempt: dict[str, str] | None = None
    reasoning: str = ""
    cut_off_at: int | None = None
    prompt: str | None = None


@dataclass
class Ask:
    """What `Driver.ask()` hands out: the step, its prompt (if the step had one), decoded proposals, the error
    of a request that failed, and what the step's requests cost (`spent`, which the driver counts)."""

    step: int
    prompt: str | None
    proposals: list[Proposal]
    error: str | None = None
    spent: Spent = field(default_factory=Spent)

    @property
    def to_evaluate(self) -> list[Any]:
        """The solutions that want a value: the valid proposals that repeat no evaluated solution."""
        return [p.solution for p in self.proposals if p.reason is None and not p.duplicate]


class Proposer(Protocol):
    """A model-driven method: it proposes solutions from the history; the driver scores and journals them.

    `propose` lets a refusal or an unreachable server propagate (they end the run); a request that failed
    in a way the run survives (`BackendError`) is counted, and the step goes on without its answers.
    """

    stop_rules: list[StopRule]

    def initial(self, rng: np.random.Generator) -> list[Any]:
        """The solutions of step 0, scored before the first proposal."""
        ...

    def propose(self, study: Study) -> Ask:
        """This step's proposals, decoded, with what their requests cost (the driver marks duplicates, scores
        them and counts the spending)."""
        ...

    def observe(self, trials: list[Trial]) -> None:
        """Learn from a finished step's trials (live, and again when a journal is replayed)."""
        ...

    def reread(self, item: dict[str, Any]) -> Proposal:
        """A journaled proposal decoded again, as `propose` decoded it (for a step resumed mid-way)."""
        ...


@dataclass
class ModelProposer:
    """What most proposers share: the problem, the model, the settings, and a strict answer reader."""

    problem: Any
    backend: Backend | None
    config: OPROConfig
    name: str = "model"
    stop_rules: list[StopRule] = field(default_factory=list)
    starts: tuple[Any, ...] = ()  # a comparison's shared start points, when it has them
    _answer_limit: int | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.backend is None:
            raise UsageError(f"{self.name} samples from the optimizer model; give the comparison a backend")

    def answer_limit(self) -> int:
        """The token limit of one answer: `answer_tokens` when set, else sized on the problem's space (its
        longest answer in the model's tokens, see `answer_tokens_for`), worked out once."""
        if self.config.answer_tokens is not None:
            return self.config.answer_tokens
        if self._answer_limit is None:
            space = getattr(self.problem, "space", None)
            longest = self.problem.encode(space.longest()) if hasattr(space, "longest") else None
            self._answer_limit = answer_tokens_for(longest, getattr(self.backend, "count_tokens", None))
        return self._answer_limit

    def initial(self, rng: np.random.Generator) -> list[Any]:
        """The comparison's start points, else the problem's own initial points (drawn either way, so the
        generator's stream after step 0 does not depend on where the points came from)."""
        drawn = self.problem.initial(rng, self.config.initial)
        return list(self.starts) or drawn

    def observe(self, trials: list[Trial]) -> None:
        """Nothing to learn beyond the driver's history."""

    def reread(self, item: dict[str, Any]) -> Proposal:
        """Decode the journaled answer with the problem's decoder."""
        return self.read(item["raw"], item.get("reasoning", ""), item.get("cut_off_at"), item.get("prompt"))

    def read(self, raw: str, reasoning: str = "", cut_off_at: int | None = None, prompt: str | None = None,
             text: str | None = None) -> Proposal:
        """A Proposal from an answer (or `text` taken from it), decoded strictly."""
        solution, reason = read_answer(self.problem.decode, raw if text is None else text, reasoning=reasoning,
                                       cut_off_at=cut_off_at)
        return Proposal(raw, solution=solution, reason=reason, reasoning=reasoning, cut_off_at=cut_off_at,
                        prompt=prompt)

    def read_generation(self, generation: Generation, prompt: str | None = None) -> list[Proposal]:
        """Each completion of a generation as a Proposal, naming the token limit when it cut one off."""
        limit = generation.max_tokens or self.answer_limit()
        proposals = []
        for answer in generation.completions:
            solution, reason = read_completion(self.problem.decode, answer, limit, self.answer_text(answer.text))
            proposals.append(Proposal(answer.text, solution=solution, reason=reason, reasoning=answer.reasoning,
                                      cut_off_at=limit if answer.cut_off else None, prompt=prompt))
        return proposals

    def answer_text(self, raw: str) -> str:
        """The part of an answer that holds the solution (all of it, unless a proposer reads less)."""
        return raw

    def request(self, prompt: str, n: int, seed_offset: int, spent: Spent, raw: bool = False,
                repair: bool = False) -> Generation | None:
        """One model request, its cost added to `spent` (its n answers against the answers a run may ask for,
        unless it is a `repair`); None when it failed in a way the run survives (its error in `spent`)."""
        config = self.config
        send = self.backend.complete if raw else self.backend.generate
        if not repair:
            spent.asked += n
        try:
            generation = send(prompt, n=n, temperature=config.temperature, max_tokens=self.answer_limit(),
                              seed=config.seed * 1_000_003 + seed_offset,
                              grammar=self.problem.grammar() if config.use_grammar else None)
            if not generation.completions:
                raise BackendError("the server answered with no completion")
        except BackendError as error:
            spent.failed_requests += 1
            spent.last_error = str(error)
            return None
        spent.add_generation(generation)
        return generation
