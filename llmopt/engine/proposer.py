"""What a model-driven method is to the driver: a proposer that turns the study's history into proposals."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

import numpy as np

from llmopt.core.result import Result, Spent, Trial

if TYPE_CHECKING:
    from llmopt.engine.stopping import StopRule


class Seen(NamedTuple):
    """One evaluated solution as a proposer sees it: its text, value, and the feedback, constraint values and
    per-case scores the objective gave with it (None when it gave none); with several objectives, `values`
    holds them and `value` is NaN."""

    text: str
    value: float
    feedback: str | dict[str, Any] | None = None
    constraints: tuple[float, ...] | None = None
    cases: tuple[float, ...] | None = None
    values: tuple[float, ...] | None = None

    @classmethod
    def of(cls, item: Seen | tuple[Any, ...]) -> Seen:
        """A Seen from a Seen or a (text, value) pair (what `Study.history()` holds)."""
        return item if isinstance(item, Seen) else cls(*item)


class Study(Protocol):
    """What a proposer reads of the run it proposes for (the run's ledger is one): the step, the history, how
    many answers and evaluations are left, the Result so far, and the run's generator (which it may draw from)."""

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

    def seen(self) -> list[Seen]:
        """Every evaluated solution with its feedback and constraint values, first seen first."""
        ...


@dataclass
class Proposal:
    """One model answer and what it decoded to; `first_attempt` keeps a rejected answer that was repaired,
    `prompt` the request of a proposal that had one of its own (EvoPrompt's operators), `parent` the member
    it was built on (EvoPrompt-DE's base; the trial keeps it)."""

    raw: str
    solution: Any = None
    reason: str | None = None
    duplicate: bool = False
    first_attempt: dict[str, str] | None = None
    reasoning: str = ""
    cut_off_at: int | None = None
    prompt: str | None = None
    parent: str | None = None

    @property
    def needs_value(self) -> bool:
        """Whether it wants a value: it decoded, and repeats no evaluated solution."""
        return self.reason is None and not self.duplicate


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
        return [p.solution for p in self.proposals if p.needs_value]


class Proposer(Protocol):
    """A model-driven method: it proposes solutions from the history; the driver scores and journals them.

    `propose` lets a refusal or an unreachable server propagate (they end the run); a request that failed
    in a way the run survives (`BackendError`) is counted, and the step goes on without its answers.
    """

    stop_rules: list[StopRule]
    starts: tuple[Any, ...]  # a comparison's shared start points, set before the run (`Method.driver`)

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
