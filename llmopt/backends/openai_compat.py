"""Any OpenAI-compatible chat endpoint through the official `openai` client.

Faults that may pass (429, 5xx, time-outs, dropped connections, garbled bodies) are retried with
backoff. A refusal that asking again cannot mend (400, 401, 403, 404, 422) raises `ModelRefused`
at once, unless it names a parameter this backend can do without: then the request is adapted once
(`max_completion_tokens` for `max_tokens`, no temperature, no grammar field, ...), the adaptation
is remembered for the run and listed in `adaptations`. A server whose connections fail on every
attempt of a request raises `ServerUnreachable`, and from then on each request tries once.
"""

from __future__ import annotations

import os
import random
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, NamedTuple

from llmopt.backends.activity import ACTIVITY
from llmopt.backends.base import Completion, Generation
from llmopt.backends.limit import REQUESTS
from llmopt.backends.reasoning import (
    DEFAULT_REASONING_TOKENS,
    ReasoningBudget,
    split_reasoning,
    with_room_for_reasoning,
)
from llmopt.core.errors import BackendError, ModelRefused, ServerUnreachable, UsageError, literal

API_KEY_ENV = "OPENAI_API_KEY"
# Servers that take a GBNF grammar in the request body, and the field they read it from (dots nest).
GRAMMAR_FIELDS = {
    "none": None,
    "llama.cpp": "grammar",
    "vllm": "structured_outputs.grammar",
    "vllm-legacy": "guided_grammar",
}
# Refusals that asking again cannot mend; 405 is a server with no such endpoint (e.g. no /v1/completions).
REFUSED = (400, 401, 403, 404, 405, 422)
REASONING_EFFORTS = ("none", "minimal", "low", "medium", "high")
DEFAULT_RETRIES = 4  # attempts after the first for a request that may pass (`max_retries`)
_MAX_RETRY_AFTER = 30.0


class _Try(NamedTuple):
    """One attempt at a request: the response, or why it failed (a connection that failed, the wait a
    server asked for), or that the request was adapted to what the server takes and goes again."""

    response: Any = None
    failure: str = ""
    wait: float = 0.0
    connection: bool = False
    adapted: bool = False


class OpenAIBackend:
    """Chat completions with n>1 where the server honours it, else n concurrent requests."""

    name = "openai"

    def __init__(
        self,
        model: str,
        *,
        base_url: str | None = None,
        grammar_field: str | None = None,
        timeout: float = 120.0,
        max_retries: int = DEFAULT_RETRIES,
        backoff: float = 0.5,
        reasoning_effort: str | None = None,
        reasoning_tokens: int = DEFAULT_REASONING_TOKENS,
        scope: str = "",
    ) -> None:
        from openai import OpenAI

        api_key = os.environ.get(API_KEY_ENV)
        if not api_key and base_url is None:
            raise UsageError.about(
                f"set {API_KEY_ENV} to use OpenAI, or pass {{base_url}} for a local server", scope=scope
            )
        self.model, self.base_url, self.grammar_field = model, base_url, grammar_field
        self.reasoning_effort = reasoning_effort
        # `scope`: whose model this is, for the settings its errors name ("scorer": prompt search's scorer)
        self.max_retries, self.backoff, self.scope = max_retries, backoff, scope
        # Retries are this backend's own, so that it can tell a refusal from a fault and a dead server.
        self._client = OpenAI(
            api_key=api_key or "no-key",
            base_url=base_url,
            timeout=timeout,
            max_retries=0,
            http_client=shared_http_client(),
        )
        self.budget = ReasoningBudget(reasoning_tokens, reasons=reasoning_effort not in (None, "none"))
        self.adaptations: list[str] = []
        self._limit_field = "max_tokens"
        self._dropped: set[str] = set()
        self._honours_n: bool | None = None
        self._serves_text = True
        self._down: str | None = None
        self._lock = threading.Lock()

    @property
    def where(self) -> str:
        """The server, as messages name it."""
        return self.base_url or "the OpenAI API"

    def check(self) -> None:
        """Fail fast with a usage error when the server cannot be reached or refuses the key."""
        import openai

        try:
            self._client.with_options(max_retries=1, timeout=10.0).models.list()
        except (openai.AuthenticationError, openai.PermissionDeniedError) as error:
            raise ModelRefused(
                f"{self.where} rejected the API key ({_server_message(error)}); check {API_KEY_ENV}"
            ) from None
        except openai.APIConnectionError:
            raise UsageError.about(
                f"cannot reach {literal(self.where)}; start the server or fix {{base_url}}", scope=self.scope
            ) from None
        except openai.APIError:  # some servers list no models; the first request will tell
            pass

    # -- one request ---------------------------------------------------------------------------

    def _body(
        self,
        prompt: str,
        n: int,
        temperature: float,
        max_tokens: int,
        seed: int | None,
        grammar: str | None,
        text: bool = False,
    ) -> dict[str, Any]:
        said = {"prompt": prompt, "stop": ["\n"]} if text else {"messages": [{"role": "user", "content": prompt}]}
        body: dict[str, Any] = {"model": self.model, **said, self._limit_field: self.budget.limit(max_tokens)}
        optional = {
            "n": n if n > 1 else None,
            "temperature": temperature,
            "seed": seed,
            "reasoning_effort": self.reasoning_effort,
        }
        body |= {key: value for key, value in optional.items() if value is not None and key not in self._dropped}
        extra: dict[str, Any] = {}
        if grammar and self.grammar_field and self.grammar_field.split(".")[0] not in self._dropped:
            outer, _, inner = self.grammar_field.partition(".")
            extra[outer] = {inner: grammar} if inner else grammar
        if extra:
            body["extra_body"] = extra
        return body

    def _request(
        self,
        prompt: str,
        n: int,
        temperature: float,
        max_tokens: int,
        seed: int | None,
        grammar: str | None,
        text: bool = False,
    ) -> Any:
        """One chat request, retried on faults, adapted on a refused parameter; see the module's notes."""
        attempts = 1 if self._down else self.max_retries + 1
        last, connection_failures, attempt, wait = "no attempt", 0, 0, 0.0
        while attempt < attempts:
            if attempt:
                time.sleep(wait or self.backoff * 2 ** (attempt - 1) * (0.5 + random.random()))
            attempt, wait = attempt + 1, 0.0
            body = self._body(prompt, n, temperature, max_tokens, seed, grammar, text)
            tried = self._try(body, text)
            if tried.adapted:
                attempt -= 1  # the same request in a form the server takes: not a retry
            elif tried.response is not None:
                return tried.response
            else:
                last, wait = tried.failure, tried.wait
                connection_failures += tried.connection
        if connection_failures == attempt:
            self._down = last
            raise ServerUnreachable(
                f"{self.where} stopped answering ({last}, {attempt} attempt{'s' if attempt > 1 else ''} in a row)"
            )
        raise BackendError(f"request failed after {attempt} attempts ({last})")

    def _try(self, body: dict[str, Any], text: bool) -> _Try:
        """One attempt at a request: its response, or why it failed and how long the server asked to wait; a
        refusal llmopt cannot adapt to raises."""
        import openai

        endpoint = self._client.completions if text else self._client.chat.completions
        try:
            with REQUESTS, ACTIVITY.request():  # the process-wide limit, shared with every backend and thread
                response = endpoint.create(**body)
        except openai.APIConnectionError as error:  # refused, dropped or timed out
            return _Try(failure=f"{type(error).__name__}: {_one_line(str(error))}", connection=True)
        except openai.APIStatusError as error:
            if error.status_code in REFUSED:
                if self._adapt(error, body):
                    return _Try(adapted=True)
                raise ModelRefused.about(self._refusal(error), error.status_code, scope=self.scope) from None
            return _Try(failure=f"HTTP {error.status_code}: {_server_message(error)}", wait=_retry_after(error))
        except (openai.APIResponseValidationError, ValueError) as error:  # garbled body
            return _Try(failure=f"{type(error).__name__}: {_one_line(str(error))}")
        if not getattr(response, "choices", None):
            return _Try(failure="response without choices")
        self._down = None
        usage = getattr(response, "usage", None)
        ACTIVITY.answered(len(response.choices), int(getattr(usage, "total_tokens", 0) or 0))
        return _Try(response=response)

    def _adapt(self, error: Any, body: dict[str, Any]) -> bool:
        """Change the request for good where the server says it does not support a parameter it names, and
        llmopt can do without it; True if the request should go again (adapted by this or another thread)."""
        message = _server_message(error)
        if error.status_code not in (400, 422) or not _UNSUPPORTED.search(f"{getattr(error, 'code', '')} {message}"):
            return False  # a bad value (too long, out of range) is not mended by dropping the field
        sent = [
            key
            for key in (*body, *body.get("extra_body", {}))
            if key not in ("model", "messages", "prompt", "stop", "extra_body")
        ]
        named = {key for key in sent if key == getattr(error, "param", None) or re.search(rf"\b{key}\b", message)}
        with self._lock:
            if "max_tokens" in named:
                if self._limit_field == "max_tokens" and "max_tokens" in body:
                    self._limit_field = "max_completion_tokens"
                    self.budget.reasons = True  # the field of OpenAI's reasoning models, whose reasoning spends it
                    self._note("max_completion_tokens sent for max_tokens, with room for reasoning: the model wants it")
                return "max_tokens" in body and self._limit_field != "max_tokens"
            droppable = named - {"max_completion_tokens"}
            if not droppable:
                return False
            for key in sorted(droppable - self._dropped):
                self._dropped.add(key)
                self._note(
                    _DROP_NOTES.get(key, "{key} not sent: the server does not take it").format(
                        key=key, default=_default_in(message)
                    )
                )
            return True  # dropped now, or by a concurrent request refused for the same field

    def _note(self, text: str) -> None:
        if text not in self.adaptations:
            self.adaptations.append(text)

    def _refusal(self, error: Any) -> str:
        """One line: who refused, the server's own words, and the fix."""
        fixes = {
            401: f"check {API_KEY_ENV}",
            403: f"check {API_KEY_ENV} and {{model}}",
            404: "check {model} (the name the server serves) and {base_url} (it usually ends in /v1)",
        }
        fix = fixes.get(error.status_code, "check {model} and the settings the message names")
        return (
            f"{literal(self.where)} refused the request for model '{literal(self.model)}' (HTTP {error.status_code}: "
            f"{literal(_server_message(error))}); {fix}"
        )

    # -- n answers -----------------------------------------------------------------------------

    def _sample(
        self,
        prompt: str,
        n: int,
        temperature: float,
        max_tokens: int,
        seed: int | None,
        grammar: str | None,
        text: bool = False,
    ) -> Generation:
        responses = []
        if self._honours_n is not False:
            first = self._request(prompt, n, temperature, max_tokens, seed, grammar, text)
            responses.append(first)
            if n > 1:
                self._honours_n = len(first.choices) >= n
        missing = n - sum(len(r.choices) for r in responses)
        if missing > 0:
            offset = n - missing
            seeds = [None if seed is None else seed + offset + i for i in range(missing)]
            with ThreadPoolExecutor(max_workers=missing) as pool:
                responses += pool.map(
                    lambda s: self._request(prompt, 1, temperature, max_tokens, s, grammar, text), seeds
                )
        return Generation(_completions(responses)[:n], calls=len(responses), max_tokens=self.budget.limit(max_tokens))

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
        """Sample n completions in one request, or n concurrent ones if the server ignores n.

        The first answers that show the model reasons, cut off by the answer's limit, are asked for
        again once with room for the reasoning (their cost is kept).
        """
        return with_room_for_reasoning(
            lambda: self._sample(prompt, n, temperature, max_tokens, seed, grammar), self.budget
        )

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
        """Continue `prompt` as raw text up to the end of its line (`/v1/completions`, for base models); a
        server that serves chat only gets the same text in a chat message asking for one more line."""
        if self._serves_text:
            try:
                return self._sample(prompt, n, temperature, max_tokens, seed, grammar, text=True)
            except ModelRefused as refused:
                if refused.status not in (400, 404, 405):  # a bad key is no reason to try the other endpoint
                    raise
                self._serves_text = False
                self._note("raw completion not served: the few-shot list was sent in a chat message")
        return self.generate(
            CONTINUE_IN_CHAT + prompt, n=n, temperature=temperature, max_tokens=max_tokens, seed=seed, grammar=grammar
        )

    def describe(self) -> dict[str, object]:
        """Identity for run records; the API key is never part of it."""
        return {
            "backend": self.name,
            "model": self.model,
            "base_url": self.base_url,
            "grammar_field": self.grammar_field,
            "reasoning_effort": self.reasoning_effort,
            "reasoning_tokens": self.budget.extra,
        }


# How servers say a parameter is not supported at all (as opposed to a value being out of range).
_UNSUPPORTED = re.compile(
    r"unsupported|unrecognized|not supported|unknown (field|parameter|argument)|"
    r"extra (fields|inputs) not permitted|only the default",
    re.IGNORECASE,
)
CONTINUE_IN_CHAT = "Continue this list with one more line in the same format. Write only that line.\n\n"
_DROP_NOTES = {
    "temperature": "temperature {default} used: the model accepts no other",
    "reasoning_effort": "reasoning effort not sent: the server does not take it",
    "n": "n not sent: the server takes one answer per request, so they are asked for concurrently",
    "grammar": "grammar not sent: the server does not take the field 'grammar'",
    "structured_outputs": "grammar not sent: the server does not take the field 'structured_outputs'",
    "guided_grammar": "grammar not sent: the server does not take the field 'guided_grammar'",
}


_http_clients: dict[int, Any] = {}
_http_lock = threading.Lock()


def shared_http_client() -> Any:
    """One HTTP connection pool per process for every backend: a client of its own costs each backend ~20 ms
    of TLS set-up, which hundreds of bench jobs in threads would pay in turn (a forked worker makes its own)."""
    import os

    from openai import DefaultHttpxClient

    with _http_lock:
        client = _http_clients.get(os.getpid())
        if client is None:
            client = _http_clients[os.getpid()] = DefaultHttpxClient()
        return client


def _completions(responses: list[Any]) -> list[Completion]:
    out = []
    for response in responses:
        usage = response.usage
        details = getattr(usage, "completion_tokens_details", None) if usage else None
        hidden = int(getattr(details, "reasoning_tokens", 0) or 0)
        cached = int(getattr(getattr(usage, "prompt_tokens_details", None), "cached_tokens", 0) or 0) if usage else 0
        for i, choice in enumerate(response.choices):
            message = getattr(choice, "message", None)  # a chat answer; a raw completion has `text`
            content = (message.content or "") if message else (getattr(choice, "text", None) or "")
            answer, thought = split_reasoning(content)
            # vLLM and SGLang with a reasoning parser put it in a field of its own (the name varies)
            field = (
                (getattr(message, "reasoning_content", None) or getattr(message, "reasoning", None))
                if message
                else None
            )
            first = usage is not None and i == 0
            out.append(
                Completion(
                    text=answer,
                    reasoning="\n".join(t for t in (field, thought) if isinstance(t, str) and t),
                    prompt_tokens=usage.prompt_tokens if first else 0,
                    completion_tokens=usage.completion_tokens if first else 0,
                    reasoning_tokens=hidden if first else 0,
                    finish_reason=choice.finish_reason,
                    cached_tokens=cached if first else 0,
                )
            )
    return out


def _one_line(text: str, limit: int = 300) -> str:
    return " ".join(text.split())[:limit]


def _server_message(error: Any) -> str:
    """The server's own words from an error body (OpenAI's `error.message`, or the body as it came)."""
    body = getattr(error, "body", None)
    if isinstance(body, dict):
        inner = body.get("error", body)
        text = inner.get("message") if isinstance(inner, dict) else inner
        if text is None:
            text = body.get("detail") or body.get("message") or body
    else:
        text = body or getattr(error, "message", "") or str(error)
    return _one_line(str(text))


def _default_in(message: str) -> str:
    found = re.search(r"default \(([^)]+)\)", message)
    return found.group(1) if found else "its default"


def _retry_after(error: Any) -> float:
    try:
        return min(float(error.response.headers.get("retry-after", 0)), _MAX_RETRY_AFTER)
    except (AttributeError, TypeError, ValueError):
        return 0.0


def make(
    model: str,
    *,
    base_url: str | None,
    model_path: str | None,
    server_grammar: str,
    check: bool,
    reasoning_effort: str | None,
    reasoning_tokens: int,
    max_retries: int,
    scope: str,
    **_: Any,
) -> OpenAIBackend:
    """The `openai` backend factory (entry point `llmopt.backends`): a model on OpenAI or any OpenAI-compatible
    server at `base_url`, reached once (`check`) and its grammar field found (`server_grammar` "auto"); the
    settings are a `BackendSpec`'s fields, their defaults its own."""
    from llmopt.backends.probe import grammar_support

    if model_path:
        raise UsageError.about("{model_path} is for the local backend; drop {model} or set {model} to local")
    if base_url and "://" not in base_url:  # the client would read it as a path and report the server gone
        raise UsageError.about(f"{{base_url}} {literal(base_url)} names no scheme; write http://{literal(base_url)}")
    if server_grammar not in ("auto", *GRAMMAR_FIELDS):
        raise UsageError.about(f"{{server_grammar}} must be one of auto, {', '.join(GRAMMAR_FIELDS)}")
    if reasoning_effort is not None and reasoning_effort not in REASONING_EFFORTS:
        raise UsageError.about(f"{{reasoning_effort}} must be one of {', '.join(REASONING_EFFORTS)}")
    backend = OpenAIBackend(
        model,
        base_url=base_url,
        reasoning_effort=reasoning_effort,
        reasoning_tokens=reasoning_tokens,
        max_retries=max_retries,
        scope=scope,
    )
    if check:
        backend.check()
    if server_grammar == "auto":
        server_grammar = grammar_support(base_url) if base_url else "none"
    backend.grammar_field = GRAMMAR_FIELDS[server_grammar]
    return backend
