"""The Backend protocol: a prompt in, n completions out; nothing about problems."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from llmopt.core.errors import BackendError

__all__ = ["Backend", "BackendError", "Completion", "Generation"]


@dataclass(frozen=True)
class Completion:
    """One sampled answer with the tokens it cost (prompt tokens are shared per request).

    `text` is the answer alone; the model's reasoning, from a think block or a field of its own, is
    `reasoning`, and `reasoning_tokens` counts what the server reports of hidden reasoning. A
    `finish_reason` of "length" means the token limit cut the answer off. `cached_tokens` are the
    prompt tokens the server reports it took from its prompt cache (billed at the cached price).
    """

    text: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    reasoning: str = ""
    reasoning_tokens: int = 0
    finish_reason: str | None = None
    cached_tokens: int = 0  # of `prompt_tokens`, those the server read from its prompt cache

    @property
    def cut_off(self) -> bool:
        """Whether the token limit ended this answer."""
        return self.finish_reason == "length"


@dataclass(frozen=True)
class Generation:
    """The completions of one `generate` call and how many model calls it took."""

    completions: list[Completion]
    calls: int
    max_tokens: int | None = None  # the limit the requests were sent with (answer and reasoning)

    @property
    def prompt_tokens(self) -> int:
        """Prompt tokens over all calls."""
        return sum(c.prompt_tokens for c in self.completions)

    @property
    def completion_tokens(self) -> int:
        """Completion tokens over all calls."""
        return sum(c.completion_tokens for c in self.completions)

    @property
    def reasoning_tokens(self) -> int:
        """Hidden reasoning tokens over all calls (part of the completion tokens)."""
        return sum(c.reasoning_tokens for c in self.completions)

    @property
    def cached_tokens(self) -> int:
        """Prompt tokens the server took from its prompt cache, over all calls (part of the prompt tokens)."""
        return sum(c.cached_tokens for c in self.completions)


@runtime_checkable
class Backend(Protocol):
    """Anything that samples completions for a prompt."""

    name: str

    def generate(
        self,
        prompt: str,
        *,
        n: int,
        temperature: float,
        max_tokens: int,
        seed: int | None = None,
        grammar: str | None = None,
    ) -> Generation:
        """Sample n completions of `prompt`, all requested together; `max_tokens` limits the answer (a
        backend that knows its model reasons adds room for the reasoning)."""
        ...

    def complete(
        self,
        prompt: str,
        *,
        n: int,
        temperature: float,
        max_tokens: int,
        seed: int | None = None,
        grammar: str | None = None,
    ) -> Generation:
        """Continue `prompt` as raw text to the end of its line, n times (language-model crossover uses this)."""
        ...

    def describe(self) -> dict[str, object]:
        """Backend identity for run records (never secrets)."""
        ...
