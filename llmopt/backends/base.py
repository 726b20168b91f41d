"""The Backend protocol: a prompt in, n completions out; nothing about problems."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable


class BackendError(RuntimeError):
    """A request that still failed after every retry; the step records it and the run goes on."""


@dataclass(frozen=True)
class Completion:
    """One sampled answer with the tokens it cost (prompt tokens are shared per request)."""

    text: str
    prompt_tokens: int = 0
    completion_tokens: int = 0


@dataclass(frozen=True)
class Generation:
    """The completions of one `generate` call and how many model calls it took."""

    completions: list[Completion]
    calls: int

    @property
    def prompt_tokens(self) -> int:
        """Prompt tokens over all calls."""
        return sum(c.prompt_tokens for c in self.completions)

    @property
    def completion_tokens(self) -> int:
        """Completion tokens over all calls."""
        return sum(c.completion_tokens for c in self.completions)


@runtime_checkable
class Backend(Protocol):
    """Anything that samples completions for a prompt."""

    name: str

    def generate(self, prompt: str, *, n: int, temperature: float, max_tokens: int,
                 seed: int | None = None, grammar: str | None = None) -> Generation:
        """Sample n completions of `prompt`, all requested together."""
        ...

    def describe(self) -> dict[str, object]:
        """Backend identity for run records (never secrets)."""
        ...
