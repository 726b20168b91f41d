"""Backends: where completions come from. `make_backend` makes the one a `BackendSpec` names, whose fields
are the settings `BACKEND_SETTINGS` declares (the CLI's flags)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from llmopt.backends.base import Backend, BackendError, Completion, Generation
from llmopt.backends.cache import CachedBackend
from llmopt.backends.limit import request_limit
from llmopt.backends.local import LocalBackend
from llmopt.backends.openai_compat import DEFAULT_RETRIES, GRAMMAR_FIELDS, REASONING_EFFORTS, OpenAIBackend
from llmopt.backends.reasoning import DEFAULT_REASONING_TOKENS
from llmopt.backends.scripted import ScriptedBackend
from llmopt.contract.plugins import entry_points
from llmopt.core import values
from llmopt.core.errors import UsageError
from llmopt.core.settings import Setting

__all__ = [
    "BACKEND_SETTINGS",
    "Backend",
    "BackendError",
    "BackendSpec",
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


@dataclass(frozen=True)
class BackendSpec:
    """Which backend to make and how (`make_backend`): `model` (`local`, a plugin's name, or a model on an
    OpenAI-compatible server at `base_url`), `model_path` (a GGUF file for `local`), how a server is sent
    the grammar (`server_grammar` "auto" asks it, see `llmopt.backends.probe`), whether it is reached once
    first (`check`), the response `cache` (a path, "default" for the per-user cache, None for none, or by
    default the one `response_cache` set for the block), reasoning (`reasoning_effort`, `reasoning_tokens`),
    retries, and `scope`: whose model it is, for the settings its errors name ("" the optimizer's,
    "scorer" prompt search's scorer's). Each field holds its default once; its flag (`BACKEND_SETTINGS`)
    reads it from here."""

    model: str = "local"
    base_url: str | None = None
    model_path: str | None = None
    server_grammar: str = "auto"
    check: bool = True
    cache: str | None = SCOPED
    reasoning_effort: str | None = None
    reasoning_tokens: int = DEFAULT_REASONING_TOKENS
    max_retries: int = DEFAULT_RETRIES
    scope: str = ""


_MODEL = "optimizer model"

# The optimizer model's settings, in the order the CLI shows them (a problem's model, such as prompt
# search's scorer, declares copies of some under its own prefix).
BACKEND_SETTINGS: tuple[Setting, ...] = (
    Setting(
        "model",
        str,
        BackendSpec.model,
        "'local' for the embedded model, else a model name on an OpenAI-compatible server",
        group=_MODEL,
    ),
    Setting(
        "base_url",
        str,
        BackendSpec.base_url,
        "OpenAI-compatible server URL, e.g. http://127.0.0.1:8000/v1",
        group=_MODEL,
    ),
    Setting("model_path", str, BackendSpec.model_path, "a GGUF file for the local backend", group=_MODEL),
    Setting(
        "server_grammar",
        str,
        BackendSpec.server_grammar,
        "how to pass the problem's grammar to a server: auto asks the server (llama.cpp: "
        "grammar; vLLM >= 0.12: structured_outputs; vllm-legacy: guided_grammar) and sends "
        "none where it cannot tell",
        group=_MODEL,
        choices=("auto", *GRAMMAR_FIELDS),
    ),
    Setting(
        "reasoning_effort",
        str,
        BackendSpec.reasoning_effort,
        "how hard a reasoning model thinks, sent where the server takes it (OpenAI, Ollama, vLLM for gpt-oss)",
        group=_MODEL,
        choices=REASONING_EFFORTS,
    ),
    Setting(
        "reasoning_tokens",
        values.positive_int,
        BackendSpec.reasoning_tokens,
        "tokens a model that reasons may spend on it, on top of --answer-tokens",
        group=_MODEL,
    ),
    Setting(
        "max_retries",
        values.non_negative_int,
        BackendSpec.max_retries,
        "attempts after the first for a request that failed in a way that may pass (429, 5xx, "
        "time-outs, dropped connections), with backoff from 0.5 s",
        group=_MODEL,
    ),
)


def make_backend(model: str | BackendSpec = "local", **settings: Any) -> Backend:
    """The backend a `BackendSpec` names, with its response cache; `make_backend("NAME", base_url=...)`
    spells the spec's fields as keywords, and keywords given with a spec change it."""
    spec = dataclasses.replace(model if isinstance(model, BackendSpec) else BackendSpec(model), **settings)
    backend = _make(spec)
    cache = _scoped_cache[-1] if spec.cache == SCOPED else spec.cache
    if cache is None:
        return backend
    return CachedBackend(backend, None if cache == "default" else cache)


ENTRY_POINT_GROUP = "llmopt.backends"
WEB_SCHEMES = ("http", "https")


def backends() -> dict[str, Any]:
    """Every registered backend factory by name (`llmopt.backends` entry points): `local`, `openai` and plugins."""
    return entry_points(ENTRY_POINT_GROUP, callable, "backend")


def _make(spec: BackendSpec) -> Backend:
    """The backend a registered factory makes: `model` names one (`local`; a plugin's name, when no base URL
    is given), or the scheme of `base_url` does (a plugin's `NAME://...`; http and https always mean an
    OpenAI-compatible server); any other model is one on an OpenAI-compatible server. The factory is called
    with the model and the spec's other fields as keywords; an error it raises about a setting is the
    spec's `scope`'s."""
    factories, base_url = backends(), spec.base_url
    scheme = base_url.partition("://")[0] if base_url and "://" in base_url else ""  # "": none, no factory's name
    by_model = spec.model == "local" or (spec.model in factories and base_url is None)
    by_scheme = scheme in factories and scheme not in WEB_SCHEMES
    name = spec.model if by_model else scheme if by_scheme else "openai"
    settings = {f.name: getattr(spec, f.name) for f in dataclasses.fields(spec) if f.name not in ("model", "cache")}
    try:
        return factories[name](spec.model, **settings)
    except UsageError as error:
        if error.template and not error.scope:
            error.scope = spec.scope
        raise
