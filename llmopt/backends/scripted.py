"""A backend that replays given completions; for unit tests of parsing and control flow only."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable

from llmopt.backends.base import Completion, Generation
from llmopt.backends.reasoning import split_reasoning


class ScriptedBackend:
    """Hands out the scripted texts in order, n per call; records every prompt it saw.

    A text is content as a server would send it (a think block comes apart from the answer); a
    `Completion` is handed out as it is.
    """

    name = "scripted"

    def __init__(self, texts: Iterable[str | Completion]) -> None:
        self._texts = deque(texts)
        self.prompts: list[str] = []
        self.requests: list[dict[str, object]] = []

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
        """Pop the next n scripted texts (fewer if the script runs out)."""
        self.prompts.append(prompt)
        self.requests.append({"n": n, "temperature": temperature, "seed": seed, "grammar": grammar})
        taken = [self._texts.popleft() for _ in range(min(n, len(self._texts)))]
        prompt_tokens = len(prompt.split())
        completions = [
            t if isinstance(t, Completion) else _completion(t, prompt_tokens if i == 0 else 0)
            for i, t in enumerate(taken)
        ]
        return Generation(completions, calls=1, max_tokens=max_tokens)

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
        """As `generate`: the script stands for raw continuations too (recorded as such)."""
        generation = self.generate(
            prompt, n=n, temperature=temperature, max_tokens=max_tokens, seed=seed, grammar=grammar
        )
        self.requests[-1]["complete"] = True
        return generation

    def describe(self) -> dict[str, object]:
        """Identity for run records."""
        return {"backend": self.name}


def _completion(content: str, prompt_tokens: int) -> Completion:
    answer, reasoning = split_reasoning(content)
    return Completion(answer, prompt_tokens, len(content.split()), reasoning=reasoning, finish_reason="stop")
