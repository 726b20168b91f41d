"""Any OpenAI-compatible chat endpoint through the official `openai` client."""

from __future__ import annotations

import os
import random
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from llmopt.backends.base import BackendError, Completion, Generation
from llmopt.backends.limit import REQUESTS
from llmopt.problem import UsageError

API_KEY_ENV = "OPENAI_API_KEY"
# Servers that take a GBNF grammar in the request body, and the field they read it from.
GRAMMAR_FIELDS = {"none": None, "llama.cpp": "grammar", "vllm": "guided_grammar"}


class OpenAIBackend:
    """Chat completions with n>1 where the server honours it, else n concurrent requests."""

    name = "openai"

    def __init__(self, model: str, *, base_url: str | None = None, grammar_field: str | None = None,
                 timeout: float = 120.0, max_retries: int = 4, backoff: float = 0.5) -> None:
        from openai import OpenAI

        api_key = os.environ.get(API_KEY_ENV)
        if not api_key and base_url is None:
            raise UsageError(f"set {API_KEY_ENV} to use OpenAI, or pass --base-url for a local server")
        self.model = model
        self.base_url = base_url
        self.grammar_field = grammar_field
        self.max_retries, self.backoff = max_retries, backoff
        # The client retries 429 (honouring Retry-After), 5xx and dropped connections with backoff.
        self._client = OpenAI(api_key=api_key or "no-key", base_url=base_url, timeout=timeout,
                              max_retries=max_retries)
        self._honours_n: bool | None = None

    def check(self) -> None:
        """Fail fast with a usage error when the server cannot be reached."""
        import openai

        try:
            self._client.with_options(max_retries=1, timeout=10.0).models.list()
        except openai.AuthenticationError:
            raise UsageError(f"the server rejected the API key; check {API_KEY_ENV}") from None
        except openai.APIConnectionError:
            where = self.base_url or "the OpenAI API"
            raise UsageError(f"cannot reach {where}; start the server or fix --base-url") from None

    def _request(self, prompt: str, n: int, temperature: float, max_tokens: int,
                 seed: int | None, grammar: str | None) -> Any:
        """One chat request; the client retries HTTP faults, this loop also garbled or empty answers."""
        import openai

        extra = {self.grammar_field: grammar} if grammar and self.grammar_field else None
        last = "no attempt"
        for attempt in range(self.max_retries + 1):
            if attempt:
                time.sleep(self.backoff * 2 ** (attempt - 1) * (0.5 + random.random()))  # jittered backoff
            try:
                with REQUESTS:  # the process-wide limit, shared with every other backend and thread
                    response = self._client.chat.completions.create(
                        model=self.model, messages=[{"role": "user", "content": prompt}], n=n,
                        temperature=temperature, max_tokens=max_tokens, seed=seed, extra_body=extra)
            except (openai.APIResponseValidationError, ValueError) as error:  # garbled body
                last = f"{type(error).__name__}: {str(error)[:200]}"
                continue
            except openai.APIError as error:  # the client has already retried what is retryable
                raise BackendError(f"{type(error).__name__}: {str(error)[:200]}") from None
            if getattr(response, "choices", None):
                return response
            last = "response without choices"
        raise BackendError(f"request failed after {self.max_retries + 1} attempts ({last})")

    def generate(self, prompt: str, *, n: int, temperature: float, max_tokens: int,
                 seed: int | None = None, grammar: str | None = None) -> Generation:
        """Sample n completions in one request, or n concurrent ones if the server ignores n."""
        responses = []
        if self._honours_n is not False:
            first = self._request(prompt, n, temperature, max_tokens, seed, grammar)
            responses.append(first)
            if n > 1:
                self._honours_n = len(first.choices) >= n
        missing = n - sum(len(r.choices) for r in responses)
        if missing > 0:
            offset = n - missing
            seeds = [None if seed is None else seed + offset + i for i in range(missing)]
            with ThreadPoolExecutor(max_workers=missing) as pool:
                responses += pool.map(
                    lambda s: self._request(prompt, 1, temperature, max_tokens, s, grammar), seeds)
        return Generation(_completions(responses)[:n], calls=len(responses))

    def describe(self) -> dict[str, object]:
        """Identity for run records; the API key is never part of it."""
        return {"backend": self.name, "model": self.model, "base_url": self.base_url,
                "grammar_field": self.grammar_field}


def _completions(responses: list[Any]) -> list[Completion]:
    out = []
    for response in responses:
        usage = response.usage
        for i, choice in enumerate(response.choices):
            out.append(Completion(
                text=(choice.message.content or "") if choice.message else "",
                prompt_tokens=(usage.prompt_tokens if usage and i == 0 else 0),
                completion_tokens=(usage.completion_tokens if usage and i == 0 else 0)))
    return out
