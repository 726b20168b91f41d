"""Backends: where completions come from. `make_backend` picks one from CLI-style settings."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

from llmopt.backends.base import Backend, BackendError, Completion, Generation
from llmopt.backends.cache import CachedBackend
from llmopt.backends.limit import request_limit
from llmopt.backends.local import LocalBackend
from llmopt.backends.openai_compat import GRAMMAR_FIELDS, REASONING_EFFORTS, OpenAIBackend
from llmopt.backends.probe import grammar_support
from llmopt.backends.reasoning import DEFAULT_REASONING_TOKENS
from llmopt.backends.scripted import ScriptedBackend
from llmopt.errors import UsageError

__all__ = ["Backend", "BackendError", "CachedBackend", "Completion", "Generation", "LocalBackend",
           "OpenAIBackend", "ScriptedBackend", "make_backend", "request_limit", "response_cache"]

# The cache of backends made without one named (a problem's scorer, say), set for a block by `response_cache`.
_scoped_cache: list[str | None] = [None]
SCOPED = "scoped"  # `make_backend(cache=SCOPED)`: the cache `response_cache` set, if any


@contextmanager
def response_cache(setting: str | None) -> Iterator[None]:
    """Inside the block, backends made without a cache of their own cache in `setting` (a path, "default"
    for the per-user cache, or None for none); the previous setting is put back after."""
    _scoped_cache.append(setting)
    try:
        yield
    finally:
        _scoped_cache.pop()


def make_backend(model: str = "local", *, base_url: str | None = None, model_path: str | None = None,
                 server_grammar: str = "auto", check: bool = True, cache: str | None = SCOPED,
                 reasoning_effort: str | None = None, reasoning_tokens: int = DEFAULT_REASONING_TOKENS,
                 flag_prefix: str = "--", max_retries: int = 4) -> Backend:
    """`local` (the embedded model or --model-path) or an OpenAI-compatible model by name.

    `cache` is a path, "default" for the per-user cache, None for none, or (by default) the one that
    `response_cache` set for the block, none outside one. `server_grammar` "auto" sends a grammar only to a server known to read one,
    in the field it reads (see `llmopt.backends.probe`). `flag_prefix` names the flags in messages
    (`--scorer-` for prompt search's scorer).
    """
    backend = _make(model, base_url, model_path, server_grammar, check, reasoning_effort, reasoning_tokens,
                    flag_prefix, max_retries)
    cache = _scoped_cache[-1] if cache == SCOPED else cache
    if cache is None:
        return backend
    return CachedBackend(backend, None if cache == "default" else cache)


def _make(model: str, base_url: str | None, model_path: str | None, server_grammar: str, check: bool,
          reasoning_effort: str | None, reasoning_tokens: int, flag_prefix: str, max_retries: int) -> Backend:
    if model == "local":
        if base_url:
            raise UsageError(f"{flag_prefix}base-url needs {flag_prefix}model NAME (the model the server serves)")
        if reasoning_effort is not None:
            raise UsageError("--reasoning-effort is for model servers; the embedded model takes none")
        return LocalBackend(model_path)
    if model_path:
        raise UsageError(f"{flag_prefix}model-path is for the local backend; drop {flag_prefix}model or use "
                         f"{flag_prefix}model local")
    if base_url and "://" not in base_url:  # the client would read it as a path and report the server gone
        raise UsageError(f"{flag_prefix}base-url {base_url} names no scheme; write http://{base_url}")
    if server_grammar not in ("auto", *GRAMMAR_FIELDS):
        raise UsageError(f"--server-grammar must be one of auto, {', '.join(GRAMMAR_FIELDS)}")
    if reasoning_effort is not None and reasoning_effort not in REASONING_EFFORTS:
        raise UsageError(f"--reasoning-effort must be one of {', '.join(REASONING_EFFORTS)}")
    backend = OpenAIBackend(model, base_url=base_url, reasoning_effort=reasoning_effort,
                            reasoning_tokens=reasoning_tokens, flag_prefix=flag_prefix, max_retries=max_retries)
    if check:
        backend.check()
    if server_grammar == "auto":
        server_grammar = grammar_support(base_url) if base_url else "none"
    backend.grammar_field = GRAMMAR_FIELDS[server_grammar]
    return backend
