"""What most model-driven proposers share: the problem, the model, the settings, and a strict answer reader."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from llmopt.backends.base import Backend, Generation
from llmopt.core.errors import BackendError, UsageError
from llmopt.core.result import Spent, Trial
from llmopt.engine.config import RunConfig
from llmopt.engine.proposer import Proposal
from llmopt.methods.model.answers import answer_tokens_for, read_answer, read_completion

if TYPE_CHECKING:
    from llmopt.engine.stopping import StopRule


def longest_text(problem: Any) -> str | None:
    """The problem's encoding of its space's longest solution, when the space knows it (has `longest`)."""
    longest = getattr(getattr(problem, "space", None), "longest", None)
    return None if longest is None else problem.encode(longest())


@dataclass
class ModelProposer:
    """What most proposers share: the problem, the model, the settings, and a strict answer reader."""

    problem: Any
    backend: Backend | None
    config: RunConfig
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
            longest = longest_text(self.problem)
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
        proposal = self.read(item["raw"], item.get("reasoning", ""), item.get("cut_off_at"), item.get("prompt"))
        proposal.parent = item.get("parent")
        return proposal

    def read(
        self,
        raw: str,
        reasoning: str = "",
        cut_off_at: int | None = None,
        prompt: str | None = None,
        text: str | None = None,
    ) -> Proposal:
        """A Proposal from an answer (or `text` taken from it), decoded strictly."""
        solution, reason = read_answer(
            self.problem.decode, raw if text is None else text, reasoning=reasoning, cut_off_at=cut_off_at
        )
        return Proposal(
            raw, solution=solution, reason=reason, reasoning=reasoning, cut_off_at=cut_off_at, prompt=prompt
        )

    def read_generation(self, generation: Generation, prompt: str | None = None) -> list[Proposal]:
        """Each completion of a generation as a Proposal, naming the token limit when it cut one off."""
        limit = generation.max_tokens or self.answer_limit()
        proposals = []
        for answer in generation.completions:
            solution, reason = read_completion(self.problem.decode, answer, limit, self.answer_text(answer.text))
            proposals.append(
                Proposal(
                    answer.text,
                    solution=solution,
                    reason=reason,
                    reasoning=answer.reasoning,
                    cut_off_at=limit if answer.cut_off else None,
                    prompt=prompt,
                )
            )
        return proposals

    def answer_text(self, raw: str) -> str:
        """The part of an answer that holds the solution (all of it, unless a proposer reads less)."""
        return raw

    def request(
        self, prompt: str, n: int, seed_offset: int, spent: Spent, raw: bool = False, repair: bool = False
    ) -> Generation | None:
        """One model request, its cost added to `spent` (its n answers against the answers a run may ask for,
        unless it is a `repair`); None when it failed in a way the run survives (its error in `spent`)."""
        config, backend = self.config, self.backend
        assert backend is not None  # __post_init__ refuses a proposer without a model
        send = backend.complete if raw else backend.generate
        if not repair:
            spent.asked += n
        try:
            generation = send(
                prompt,
                n=n,
                temperature=config.temperature,
                max_tokens=self.answer_limit(),
                seed=config.seed * 1_000_003 + seed_offset,
                grammar=self.problem.grammar() if config.use_grammar else None,
            )
            if not generation.completions:
                raise BackendError("the server answered with no completion")
        except BackendError as error:
            spent.failed_requests += 1
            spent.last_error = str(error)
            return None
        spent.add_generation(generation)
        return generation
