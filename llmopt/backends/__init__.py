"""Backends: where completions come from. `make_backend` picks one from CLI-style settings."""

from __future__ import annotations

from llmopt.backends.base import Backend, Completion, Generation
from llmopt.backends.local import LocalBackend
from llmopt.backends.openai_compat import GRAMMAR_FIELDS, OpenAIBackend
from llmopt.backends.scripted import ScriptedBackend
from llmopt.problem import UsageError

__all__ = ["Backend", "Completion", "Generation", "LocalBackend", "OpenAIBackend", "ScriptedBackend",
           "make_backend"]


def make_backend(model: str = "local", *, base_url: str | None = None, model_path: str | None = None,
                 server_grammar: str = "auto", check: bool = True, instances: int = 1,
                 max_concurrency: int = 16) -> Backend:
    """`local` (the embedded model or --model-path) or an OpenAI-compatible model by name."""
    if model == "local":
        if base_url:
            raise UsageError("--base-url needs --model NAME (the model the server serves)")
        return LocalBackend(model_path, instances=instances)
    if model_path:
        raise UsageError("--model-path is for the local backend; drop --model or use --model local")
    if server_grammar == "auto":
        server_grammar = "llama.cpp" if base_url else "none"
    if server_grammar not in GRAMMAR_FIELDS:
        raise UsageError(f"--server-grammar must be one of auto, {', '.join(GRAMMAR_FIELDS)}")
    backend = OpenAIBackend(model, base_url=base_url, grammar_field=GRAMMAR_FIELDS[server_grammar],
                            max_concurrency=max_concurrency)
    if check:
        backend.check()
    return backend
