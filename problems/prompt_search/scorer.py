"""The scorer: answers (instruction, question) prompts with a model, concurrently and never twice."""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from llmopt.backends.base import Backend


class Scorer:
    """Wraps a backend at temperature 0; caches answers by (scorer, prompt) and counts its own cost."""

    def __init__(self, backend: Backend, *, max_tokens: int = 32, concurrency: int = 4) -> None:
        self.backend = backend
        self.max_tokens = max_tokens
        self.concurrency = concurrency
        self.identity = json.dumps(backend.describe(), sort_keys=True)
        self._answers: dict[str, str] = {}  # one scorer, so the prompt alone is the key
        self._lock = threading.Lock()
        self.calls = self.prompt_tokens = self.completion_tokens = 0

    def _ask(self, prompt: str) -> str:
        generation = self.backend.generate(prompt, n=1, temperature=0.0, max_tokens=self.max_tokens, seed=0)
        with self._lock:
            self.calls += generation.calls
            self.prompt_tokens += generation.prompt_tokens
            self.completion_tokens += generation.completion_tokens
        return generation.completions[0].text if generation.completions else ""

    def answer_all(self, prompts: list[str], progress: Any = None) -> list[str]:
        """The answer to every prompt; only prompts never seen before reach the model, concurrently."""
        fresh = list(dict.fromkeys(p for p in prompts if p not in self._answers))
        if fresh:
            with ThreadPoolExecutor(max_workers=max(1, min(self.concurrency, len(fresh)))) as pool:
                for prompt, answer in zip(fresh, pool.map(self._ask, fresh)):
                    self._answers[prompt] = answer
                    if progress is not None:
                        progress.update(1)
        return [self._answers[p] for p in prompts]

    def usage(self) -> dict[str, int]:
        """Scorer calls and tokens so far."""
        return {"scorer_calls": self.calls, "scorer_tokens": self.prompt_tokens + self.completion_tokens}
