"""The problem plugin contract: what every optimization task supplies to the engine."""

from __future__ import annotations

import abc
import argparse
from dataclasses import dataclass, field
from typing import Any, Callable, ClassVar, Literal

import numpy as np

Direction = Literal["min", "max"]


class InvalidSolution(ValueError):
    """A proposal that cannot be decoded or is not a feasible solution; `reason` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class UsageError(ValueError):
    """A user mistake (bad option, missing file, unreachable server) that ends with exit code 2."""


@dataclass(frozen=True)
class Option:
    """One problem-specific command-line option, e.g. ``--w-true`` for linear regression."""

    flag: str
    type: Callable[[str], Any]
    default: Any
    help: str
    choices: tuple[Any, ...] | None = None

    @property
    def dest(self) -> str:
        """The keyword argument name the option maps to."""
        return self.flag.lstrip("-").replace("-", "_")

    def add_to(self, parser: argparse.ArgumentParser) -> None:
        """Register this option on an argparse parser."""
        if self.type is bool:
            parser.add_argument(self.flag, dest=self.dest, action=argparse.BooleanOptionalAction,
                                default=self.default, help=self.help)
            return
        parser.add_argument(self.flag, dest=self.dest, type=self.type, default=self.default,
                            choices=self.choices, help=f"{self.help} (default: {self.default})")


@dataclass(frozen=True)
class Budget:
    """What a baseline may spend: the same evaluation count and start points as the OPRO run."""

    max_evals: int
    seed: int = 0
    starts: tuple[Any, ...] = field(default_factory=tuple)
    backend: Any = None  # the OPRO run's model, for baselines that sample from it
    temperature: float = 1.0


class Problem(abc.ABC):
    """Base class of every problem plugin; one instance is one concrete task."""

    name: ClassVar[str]
    summary: ClassVar[str]
    direction: ClassVar[Direction] = "min"
    solution_label: ClassVar[str] = "solution"
    value_label: ClassVar[str] = "value"
    options: ClassVar[tuple[Option, ...]] = ()

    @classmethod
    def from_options(cls, **kwargs: Any) -> Problem:
        """Build an instance from parsed command-line options (keys are `Option.dest`)."""
        return cls(**kwargs)

    @abc.abstractmethod
    def describe(self) -> str:
        """The problem-specific opening of the meta-prompt."""

    @abc.abstractmethod
    def format_hint(self) -> str:
        """How the answer must be written, the closing instruction of the meta-prompt."""

    @abc.abstractmethod
    def encode(self, solution: Any) -> str:
        """The text form of a solution, exactly as the model should write it."""

    @abc.abstractmethod
    def decode(self, text: str) -> Any:
        """Parse a model completion into a solution; raise `InvalidSolution` otherwise."""

    @abc.abstractmethod
    def evaluate(self, solution: Any) -> float:
        """The score the optimizer sees; deterministic."""

    @abc.abstractmethod
    def initial(self, rng: np.random.Generator, k: int) -> list[Any]:
        """k starting solutions."""

    def final_evaluate(self, solution: Any) -> float:
        """The held-out score where one exists; by default the same as `evaluate`."""
        return self.evaluate(solution)

    def key(self, solution: Any) -> str:
        """Identity used for the duplicate check."""
        return self.encode(solution)

    def exemplars(self, rng: np.random.Generator) -> str | None:
        """Task examples shown in the meta-prompt, if the problem has any."""
        return None

    def grammar(self) -> str | None:
        """A GBNF grammar that forces well-formed answers, if the problem has one."""
        return None

    def optimum(self) -> float | None:
        """The best achievable value when it is known."""
        return None

    def baselines(self) -> dict[str, Callable[[Budget], Any]]:
        """Classical methods, each taking a `Budget` and returning a `Result`."""
        return {}

    def usage(self) -> dict[str, int]:
        """Running totals of what evaluation itself costs (e.g. scorer-model calls and tokens)."""
        return {}

    def extra_columns(self, result: Any) -> dict[str, Any]:
        """Problem-specific fields for a result's summary row (e.g. TSP's `gap_pct`)."""
        return {}

    def better(self, a: float, b: float) -> bool:
        """True when value a is strictly better than value b for this direction."""
        return a < b if self.direction == "min" else a > b

    def config(self) -> dict[str, Any]:
        """The options that define this instance, for run records."""
        return {}
