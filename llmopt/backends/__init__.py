"""Backends: where completions come from. `make_backend` picks one from CLI-style settings."""

from __future__ import annotations

from llmopt.backends.base import Backend, BackendError, Completion, Generation
from llmopt.backends.cache import CachedBackend
from llmopt.backends.limit import set_max_concurrency
from llmopt.backends.local import LocalBackend
from llmopt.backends.openai_compat import GRAMMAR_FIELDS, OpenAIBackend
from llmopt.backends.scripted import ScriptedBackend
from llmopt.problem import UsageError

__all__ = ["Backend", "BackendError", "CachedBackend", "Completion", "Generation", "LocalBackend",
           "OpenAIBackend", "ScriptedBackend", "default_cache_setting", "make_backend", "set_default_cache",
           "set_max_concurrency"]

_default_cache: str | None = None


def default_cache_setting() -> str | None:
    """Where `make_backend` caches responses when not told (see `set_default_cache`)."""
    return _default_cache


def set_default_cache(path: str | None) -> None:
    """Where `make_backend` caches responses when not told: a path, "default" (per-user), or None (off)."""
    global _default_cache
    _default_cache = path


def make_backend(model: str = "local", *, base_url: str | None = None, model_path: str | None = None,
                 server_grammar: str = "auto", check: bool = True, cache: str | None = "unset") -> Backend:
    """`local` (the embedded model or --model-path) or an OpenAI-compatible model by name.

    `cache` is a path, "default" for the per-user cache, or None for none; unset, it follows
    `set_default_cache`.
    """
    backend = _make(model, base_url, model_path, server_grammar, check)
    cache = _default_cache if cache == "unset" else cache
    if cache is None:
        return backend
    return CachedBackend(backend, None if cache == "default" else cache)


def _make(model: str, base_url: str | None, model_path: str | None, server_grammar: str, check: bool) -> Backend:
    if model == "local":
        if base_url:
            raise UsageError("--base-url needs --model NAME (the model the server serves)")
        return LocalBackend(model_path)
    if model_path:
        raise UsageError("--model-path is for the local backend; drop --model or use --model local")
    if server_grammar == "auto":
        server_grammar = "llama.cpp" if base_url else "none"
    if server_grammar not in GRAMMAR_FIELDS:
        raise UsageError(f"--server-grammar must be one of auto, {', '.join(GRAMMAR_FIELDS)}")
    backend = OpenAIBackend(model, base_url=base_url, grammar_field=GRAMMAR_FIELDS[server_grammar])
    if check:
        backend.check()
    return backend
