"""Backends: where completions come from. `make_backend` picks one from CLI-style settings."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from llmopt.backends.base import Backend, BackendError, Completion, Generation
from llmopt.backends.cache import CachedBackend
from llmopt.backends.limit import request_limit
from llmopt.backends.local import LocalBackend
from llmopt.backends.openai_compat import OpenAIBackend
from llmopt.backends.reasoning import DEFAULT_REASONING_TOKENS
from llmopt.backends.scripted import ScriptedBackend
from llmopt.contract.plugins import entry_points

__all__ = [
    "Backend",
    "BackendError",
    "CachedBackend",
    "Completion",
    "Generation",
    "LocalBackend",
    "OpenAIBackend",
    "ScriptedBackend",
    "make_backend",
    "request_limit",
    "response_cache",
]

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


def make_backend(
    model: str = "local",
    *,
    base_url: str | None = None,
    model_path: str | None = None,
    server_grammar: str = "auto",
    check: bool = True,
    cache: str | None = SCOPED,
    reasoning_effort: str | None = None,
    reasoning_tokens: int = DEFAULT_REASONING_TOKENS,
    flag_prefix: str = "--",
    max_retries: int = 4,
) -> Backend:
    """`local` (the embedded model or --model-path) or an OpenAI-compatible model by name.

    `cache` is a path, "default" for the per-user cache, None for none, or (by default) the one that
    `response_cache` set for the block, none outside one. `server_grammar` "auto" sends a grammar only to a
    server known to read one, in the field it reads (see `llmopt.backends.probe`). `flag_prefix` names the flags in
    messages (`--scorer-` for prompt search's scorer).
    """
    backend = _make(
        model, base_url, model_path, server_grammar, check, reasoning_effort, reasoning_tokens, flag_prefix, max_retries
    )
    cache = _scoped_cache[-1] if cache == SCOPED else cache
    if cache is None:
        return backend
    return CachedBackend(backend, None if cache == "default" else cache)


ENTRY_POINT_GROUP = "llmopt.backends"
WEB_SCHEMES = ("http", "https")


def backends() -> dict[str, Any]:
    """Every registered backend factory by name (`llmopt.backends` entry points): `local`, `openai` and plugins."""
    return entry_points(ENTRY_POINT_GROUP, callable, "backend")


def _make(
    model: str,
    base_url: str | None,
    model_path: str | None,
    server_grammar: str,
    check: bool,
    reasoning_effort: str | None,
    reasoning_tokens: int,
    flag_prefix: str,
    max_retries: int,
) -> Backend:
    """The backend a registered factory makes: `model` names one (`local`; a plugin's name, when no base URL
    is given), or the scheme of `base_url` does (a plugin's `NAME://...`; http and https always mean an
    OpenAI-compatible server); any other model is one on an OpenAI-compatible server."""
    factories = backends()
    scheme = base_url.partition("://")[0] if base_url and "://" in base_url else None
    by_model = model == "local" or (model in factories and base_url is None)
    by_scheme = scheme in factories and scheme not in WEB_SCHEMES
    name = model if by_model else scheme if by_scheme else "openai"
    return factories[name](
        model,
        base_url=base_url,
        model_path=model_path,
        server_grammar=server_grammar,
        check=check,
        reasoning_effort=reasoning_effort,
        reasoning_tokens=reasoning_tokens,
        flag_prefix=flag_prefix,
        max_retries=max_retries,
    )
