"""The n answers of one request decoded together: n sequences of one llama.cpp batch that share the prompt.

llama-cpp-python's `create_completion` samples one answer at a time: each token of each answer is a
pass over the weights. Here the prompt is evaluated once into a KV cache whose cells every answer reads,
and each step decodes the next token of every answer under way in one batch, one pass over the weights
for all (on two cores a step of 8 sequences took about 3 times as long as a step of one). The module
drives llama.cpp's batch API beneath the high-level one, on a context of its own over the same loaded
weights. Each answer gets the sampler chain `create_completion` builds (grammar, top-k, top-p, min-p,
temperature) with its own seed, and ends on its own end-of-sequence token, stop string or token limit.

The same request gives the same answers whatever ran before it: the part of its prompt kept from the
last request holds what evaluating it afresh would, and it decodes the same batches. They are not always
the answers the sequential path gave: llama.cpp computes a one-token batch a little differently from a
larger one (logits apart by up to 0.5 here), that path decodes one token at a time after the prompt, and
where two tokens are nearly tied the draws part. The distribution sampled from is the same.
"""

from __future__ import annotations

import ctypes
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import llama_cpp
import numpy as np
from llama_cpp import Llama
from llama_cpp import _internals as internals

# Sequence 0 holds the prompt and never generates; the answers under way are sequences 1, 2, ...
PROMPT_SEQ = 0
MAX_SEQUENCES = 64
# The prompt is evaluated in chunks of this many tokens from its start, so that a chunk kept from the
# last request holds exactly what evaluating the new prompt from scratch would put there (llama.cpp
# computes a batch of one token differently from a larger one, so a prompt's chunks must not depend on
# where the last request's prompt parted from it).
CHUNK = 256
# What `create_chat_completion` samples with when LocalBackend leaves a setting at its default.
SAMPLING_DEFAULTS = {
    "top_k": 40,
    "top_p": 0.95,
    "min_p": 0.05,
    "typical_p": 1.0,
    "repeat_penalty": 1.0,
    "frequency_penalty": 0.0,
    "presence_penalty": 0.0,
}
# What `create_completion` does that this module does not; a request that asks for one goes the old way.
_UNSUPPORTED = ("logits_processor", "logit_bias", "logprobs", "suffix")
# How many of the likeliest tokens the grammar is asked about first, then next (see `_Sampler`).
_WINDOWS = (64, 512, 4096)
# False: the grammar is asked about every token, as in llama.cpp's own chain (a test compares the two).
WINDOWED = True
_TOKEN_DATA = np.dtype([("id", np.int32), ("logit", np.float32), ("p", np.float32)])


@dataclass(frozen=True)
class Request:
    """What every answer of a request is sampled from: what a chat handler hands `create_completion`."""

    tokens: list[int]
    max_tokens: int
    temperature: float
    stop: tuple[bytes, ...] = ()
    grammar: Any = None  # a LlamaGrammar
    sampling: dict[str, float] = field(default_factory=lambda: dict(SAMPLING_DEFAULTS))


@dataclass(frozen=True)
class Answer:
    """One decoded answer: its text, the tokens it generated and why it ended ("stop" or "length")."""

    text: str
    completion_tokens: int
    finish_reason: str


class _Prompted(Exception):
    """Raised in place of sampling; carries what the chat handler would have sampled from."""

    def __init__(self, kwargs: dict[str, Any]) -> None:
        super().__init__("prompted")
        self.kwargs = kwargs


class _Recorder:
    """A Llama whose `create_completion` records its arguments instead of sampling."""

    def __init__(self, llama: Llama) -> None:
        self._llama = llama

    def __getattr__(self, name: str) -> Any:
        return getattr(self._llama, name)

    def create_completion(self, *args: Any, **kwargs: Any) -> Any:
        """Stop the chat handler where it would sample, with what it would sample from."""
        raise _Prompted(dict(zip(("prompt",), args)) | kwargs)


def chat_request(
    llama: Llama, messages: list[dict[str, str]], *, temperature: float, max_tokens: int, grammar: Any = None
) -> Request | None:
    """What `llama.create_chat_completion` would sample from (its chat template, stop strings and all), or
    None when that asks for something this module does not do."""
    # The model's own chat handler runs up to the point it samples, so the prompt is the one it builds.
    try:
        Llama.create_chat_completion(
            _Recorder(llama),  # type: ignore[arg-type]  # a Llama in all but create_completion, by __getattr__
            messages=messages,  # type: ignore[arg-type]
            temperature=temperature,
            max_tokens=max_tokens,
            grammar=grammar,
        )
        return None  # a handler that samples some other way
    except _Prompted as prompted:
        kwargs = prompted.kwargs
    except Exception:  # noqa: BLE001 - the sequential path meets the same error and reports it
        return None
    if (
        any(kwargs.get(key) is not None for key in _UNSUPPORTED)
        or kwargs.get("mirostat_mode")
        or kwargs.get("stream")
        or not isinstance(kwargs.get("prompt"), list)
    ):
        return None
    stop = kwargs.get("stop") or []
    # A chat template's own stopping criterion stops on its end-of-sequence token, which ends every answer here.
    return Request(
        tokens=list(kwargs["prompt"]),
        max_tokens=kwargs.get("max_tokens") or -1,
        temperature=kwargs.get("temperature", temperature),
        grammar=kwargs.get("grammar"),
        stop=tuple(s.encode("utf-8") for s in ([stop] if isinstance(stop, str) else stop)),
        sampling={key: kwargs.get(key, default) for key, default in SAMPLING_DEFAULTS.items()},
    )


def _common_prefix(a: list[int], b: list[int]) -> int:
    """How many tokens `a` and `b` share from their start."""
    return next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))


def token_limit(max_tokens: int, prompt: int, n_ctx: int) -> int:
    """The limit `create_completion` answers with: none means up to the context's end; never past it."""
    if max_tokens <= 0:
        max_tokens = n_ctx - prompt
    return max_tokens if max_tokens + prompt < n_ctx else n_ctx - prompt


class BatchDecoder:
    """Decodes many sequences at once on a context of its own over a loaded model's weights.

    Its KV cache has the model's `n_ctx` cells in all, shared by the prompt (evaluated once, its cells
    shared by every answer) and the answers under way; answers that do not fit start as others finish.
    The prompt's cells stay for the next request, which keeps the whole chunks it shares from the start.
    """

    def __init__(self, llama: Llama) -> None:
        self.llama = llama
        params = type(llama.context_params).from_buffer_copy(llama.context_params)
        params.n_seq_max = MAX_SEQUENCES
        params.kv_unified = True  # one pool of cells, so that every sequence reads the prompt's cells
        # Its threads are the model's: llama.cpp decodes a batch of one token on `n_threads` (the cores the
        # machine's load leaves free) and a larger one on `n_threads_batch` (every core). A step of 8
        # answers has 8 times the work between two waits of the threads: measured on 2 cores under a load
        # of 1.5, a 50-city TSP step of 8 answers took 44 ms on 2 threads and 67 to 91 ms on one.
        self.context = internals.LlamaContext(model=llama._model, params=params, verbose=False)
        self.batch = internals.LlamaBatch(n_tokens=max(CHUNK, MAX_SEQUENCES), embd=0, n_seq_max=1, verbose=False)
        self.held: list[int] = []  # what sequence 0 holds: the last request's prompt, all but its last token

    def close(self) -> None:
        """Free the batch and the context."""
        self.batch.close()
        self.context.close()

    def forget(self) -> None:
        """Empty the cache: the next prompt is evaluated from its first token."""
        self.context.kv_cache_clear()
        self.held = []

    def sample(
        self, request: Request, n: int, seed: int | None, answered: Callable[[Answer], None] = lambda answer: None
    ) -> list[Answer]:
        """n answers to `request`, answer i sampled with seed `seed + i` (unseeded when `seed` is None);
        `answered` hears of each as it ends."""
        prompt, n_ctx = request.tokens, min(self.llama.n_ctx(), self.context.n_ctx())
        if len(prompt) >= n_ctx:  # create_completion's own words
            raise ValueError(f"Requested tokens ({len(prompt)}) exceed context window of {n_ctx}")
        limit = token_limit(request.max_tokens, len(prompt), n_ctx)
        self._hold(prompt[:-1])
        # An answer takes a cell for the prompt's last token and one for each token it samples but the last.
        free = list(range(1, 1 + max(1, min(n, MAX_SEQUENCES - 1, (n_ctx - len(prompt) + 1) // limit))))
        waiting, active, answers = list(range(n)), list[_Sequence](), dict[int, Answer]()
        held, self.held = self.held, []  # until every answer's cells are gone again
        try:
            while waiting or active:
                while waiting and free:
                    index = waiting.pop(0)
                    active.append(_Sequence(index, free.pop(0), _Sampler(self.llama, request, seed, index)))
                    self.context.kv_cache_seq_cp(PROMPT_SEQ, active[-1].seq_id, -1, -1)
                self._step(active, len(prompt), request, limit)
                for sequence in [s for s in active if s.finish]:
                    answers[sequence.index] = sequence.end()
                    answered(answers[sequence.index])
                    self.context.kv_cache_seq_rm(sequence.seq_id, -1, -1)
                    free.append(sequence.seq_id)
                active = [s for s in active if not s.finish]
        finally:
            for sequence in active:
                sequence.sampler.close()
        self.held = held
        return [answers[i] for i in range(n)]

    def _step(self, active: list[_Sequence], prompt: int, request: Request, limit: int) -> None:
        """Decode each active sequence's last token in one batch, then sample each one's next token.

        A new answer decodes the prompt's last token itself, so that an answer that starts once another
        has ended begins as the first ones did.
        """
        self._decode(
            [(s.tokens[-1] if s.tokens else request.tokens[-1], prompt - 1 + len(s.tokens), s.seq_id) for s in active],
            logits=True,
        )
        for slot, sequence in enumerate(active):
            self._advance(sequence, slot, request.stop, limit)

    def _hold(self, tokens: list[int]) -> None:
        """Make sequence 0 hold `tokens`, keeping the whole chunks it holds already.

        What a request computes depends only on the request: the kept chunks hold what evaluating
        `tokens` from scratch would put there, in the same cells, and the rest is evaluated as from
        scratch. The chunk that held the last token is always evaluated again, so that llama.cpp places
        it in the cells just freed, where it would have gone in an empty cache.
        """
        keep = min(_common_prefix(self.held, tokens), len(self.held) - 1) // CHUNK * CHUNK
        if keep <= 0:
            keep = 0
            self.forget()
        else:
            self.context.kv_cache_seq_rm(PROMPT_SEQ, keep, -1)
        self.held = []  # until the chunks are all in
        for start in range(keep, len(tokens), CHUNK):
            chunk = tokens[start : start + CHUNK]
            self._decode([(token, start + i, PROMPT_SEQ) for i, token in enumerate(chunk)], logits=False)
        self.held = list(tokens)

    def _decode(self, items: list[tuple[int, int, int]], logits: bool) -> None:
        """Decode (token, position, sequence) items as one batch, with logits for each when asked."""
        batch = self.batch.batch
        batch.n_tokens = len(items)
        for i, (token, pos, seq_id) in enumerate(items):
            batch.token[i], batch.pos[i], batch.n_seq_id[i], batch.logits[i] = token, pos, 1, logits
            batch.seq_id[i][0] = seq_id
        self.context.decode(self.batch)

    def _advance(self, sequence: _Sequence, slot: int, stop: tuple[bytes, ...], limit: int) -> None:
        """Sample the sequence's next token from its slot's logits; end it on EOS, a stop string or the limit."""
        token = sequence.sampler.sample(self.context.ctx, slot)
        if llama_cpp.llama_vocab_is_eog(self.llama._model.vocab, token):
            sequence.finish = "stop"
            return
        sequence.tokens.append(token)
        sequence.text += self.llama._model.detokenize([token])
        found = [s for s in stop if s in sequence.text]
        if found:  # cut at the first stop string listed, as create_completion does
            sequence.text = sequence.text[: sequence.text.index(found[0])]
            sequence.finish = "stop"
        elif len(sequence.tokens) >= limit:
            sequence.finish = "length"


class _Sequence:
    """One answer under way: its sequence id, sampler, tokens and text so far."""

    def __init__(self, index: int, seq_id: int, sampler: _Sampler) -> None:
        self.index, self.seq_id, self.sampler = index, seq_id, sampler
        self.tokens: list[int] = []
        self.text = b""
        self.finish: str | None = None

    def end(self) -> Answer:
        """The finished answer; its sampler is freed."""
        self.sampler.close()
        return Answer(self.text.decode("utf-8", errors="ignore"), len(self.tokens), self.finish or "length")


class _Sampler:
    """One answer's sampler: the chain `Llama._init_sampler` builds, seeded with the answer's own seed.

    With a grammar, llama.cpp checks every token of the vocabulary against it before top-k keeps the 40
    likeliest allowed ones: 49,152 checks a token, most of a small model's sampling time. The same
    choice follows from asking about the likeliest tokens first (64, then 512, ...) and stopping once the
    tokens not yet asked about can no longer change what top-k, top-p and min-p keep: the 40 best allowed
    tokens are known, or none left can pass min-p nor move top-p's cut. The rest of the chain then runs on
    the allowed tokens found, and the grammar learns the chosen token, as in the full chain.
    """

    def __init__(self, llama: Llama, request: Request, seed: int | None, index: int) -> None:
        self.llama, self.request = llama, request
        self.n_vocab = llama.n_vocab()
        self.seed = llama_cpp.LLAMA_DEFAULT_SEED if seed is None else (seed + index) & 0xFFFFFFFF
        s = request.sampling
        # Without a grammar the full chain is the quicker; the windowed search reproduces only the chain
        # LocalBackend asks for, and anything else samples in full.
        self.windowed = (
            WINDOWED
            and request.grammar is not None
            and request.temperature >= 0
            and s["typical_p"] >= 1
            and s["top_k"] > 0
            and (s["repeat_penalty"], s["frequency_penalty"], s["presence_penalty"]) == (1, 0, 0)
        )
        self.grammar = self._grammar() if self.windowed else None
        self.chain = self._chain(with_grammar=not self.windowed)

    def close(self) -> None:
        """Free the samplers."""
        for sampler in (self.chain, self.grammar):
            if sampler is not None:
                llama_cpp.llama_sampler_free(sampler)
        self.chain = self.grammar = None

    def _grammar(self) -> Any:
        grammar = self.request.grammar
        return llama_cpp.llama_sampler_init_grammar(
            self.llama._model.vocab, grammar._grammar.encode("utf-8"), grammar._root.encode("utf-8")
        )

    def _chain(self, with_grammar: bool) -> Any:
        request, s, llama = self.request, self.request.sampling, self.llama
        chain = llama_cpp.llama_sampler_chain_init(llama_cpp.llama_sampler_chain_default_params())

        def add(sampler: Any) -> None:
            llama_cpp.llama_sampler_chain_add(chain, sampler)

        if with_grammar:
            add(
                llama_cpp.llama_sampler_init_penalties(
                    self.n_vocab,
                    llama.last_n_tokens_size,
                    s["repeat_penalty"],
                    s["frequency_penalty"],
                    s["presence_penalty"],
                )
            )
            if request.grammar is not None:
                add(self._grammar())
        if request.temperature < 0:
            add(llama_cpp.llama_sampler_init_dist(self.seed))
        elif request.temperature == 0:
            add(llama_cpp.llama_sampler_init_greedy())
        else:
            add(llama_cpp.llama_sampler_init_top_k(int(s["top_k"])))
            add(llama_cpp.llama_sampler_init_typical(s["typical_p"], 1))
            add(llama_cpp.llama_sampler_init_top_p(s["top_p"], 1))
            add(llama_cpp.llama_sampler_init_min_p(s["min_p"], 1))
            add(llama_cpp.llama_sampler_init_temp(request.temperature))
            add(llama_cpp.llama_sampler_init_dist(self.seed))
        return chain

    def sample(self, ctx: Any, slot: int) -> int:
        """The next token from the logits of batch output `slot`, accepted by the samplers."""
        if not self.windowed:
            return llama_cpp.llama_sampler_sample(self.chain, ctx, slot)
        logits = np.ctypeslib.as_array(llama_cpp.llama_get_logits_ith(ctx, slot), shape=(self.n_vocab,))
        ids, values = self._allowed(logits)
        if not len(ids):
            raise RuntimeError("the grammar allows no token here")
        data = np.zeros(len(ids), dtype=_TOKEN_DATA)
        data["id"], data["logit"] = ids, values
        array = _token_array(data)
        llama_cpp.llama_sampler_apply(self.chain, ctypes.byref(array))
        token = int(data["id"][array.selected])
        llama_cpp.llama_sampler_accept(self.grammar, token)
        llama_cpp.llama_sampler_accept(self.chain, token)
        return token

    def _allowed(self, logits: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The allowed tokens among the likeliest, enough of them to decide the sample, best first."""
        asked = np.zeros(self.n_vocab, dtype=bool)
        ids, values = np.empty(0, np.int32), np.empty(0, np.float32)
        for window in (*[w for w in _WINDOWS if w < self.n_vocab], self.n_vocab):
            top = (
                np.argpartition(logits, self.n_vocab - window)[self.n_vocab - window :]
                if window < self.n_vocab
                else np.arange(self.n_vocab)
            )
            new = top[~asked[top]].astype(np.int32)
            asked[new] = True
            kept = self._grammar_keeps(new, logits[new])
            ids, values = np.concatenate([ids, new[kept]]), np.concatenate([values, logits[new][kept]])
            order = np.argsort(-values, kind="stable")
            ids, values = ids[order], values[order]
            rest = -math.inf if window >= self.n_vocab else float(logits[top].min())  # the best not yet asked
            if self._decided(values, rest):
                break
        return ids, values

    def _grammar_keeps(self, ids: np.ndarray, values: np.ndarray) -> np.ndarray:
        """Which of `ids` the grammar allows next."""
        data = np.zeros(len(ids), dtype=_TOKEN_DATA)
        data["id"], data["logit"] = ids, values
        llama_cpp.llama_sampler_apply(self.grammar, ctypes.byref(_token_array(data)))
        return data["logit"] != -np.inf

    def _decided(self, values: np.ndarray, rest: float) -> bool:
        """Whether allowed tokens not yet found, each with a logit at most `rest`, cannot change the sample."""
        if not len(values):
            return rest == -math.inf
        if self.request.temperature == 0:  # greedy: the best allowed token found beats every one not asked
            return values[0] >= rest
        s = self.request.sampling
        k = int(s["top_k"])
        if len(values) >= k or rest == -math.inf:
            return True  # top-k's 40 are all known, or every allowed token is
        best = float(values[0])
        floor = float(np.float32(best) + np.float32(math.log(s["min_p"]))) if s["min_p"] > 0 else -math.inf
        if rest >= floor - 1e-3:  # with room for llama.cpp's own rounding of the floor
            return False  # a token not asked may pass min-p
        # min-p keeps the first `passing`; top-p keeps a prefix that can only grow with the probability of the
        # allowed tokens not yet found (at most k - found of them, each at most exp(rest)).
        passing = int(np.count_nonzero(values >= floor))
        weights = np.exp(values.astype(np.float64) - best)
        low = weights.sum()
        high = low + (k - len(values)) * math.exp(rest - best)
        return min(_top_p_cut(weights, low, s["top_p"] - 1e-5), passing) == min(
            _top_p_cut(weights, high, s["top_p"] + 1e-5), passing
        )


def _top_p_cut(weights: np.ndarray, total: float, p: float) -> int:
    """How many tokens top-p keeps when the tokens' weights sum to `total` with the ones unseen."""
    if p >= 1:
        return len(weights)
    reached = np.nonzero(np.cumsum(weights) / total >= p)[0]
    return int(reached[0]) + 1 if len(reached) else len(weights)


def _token_array(data: np.ndarray) -> Any:
    """A llama_token_data_array over `data` (not sorted), which must outlive it."""
    return llama_cpp.llama_token_data_array(
        data=data.ctypes.data_as(llama_cpp.llama_token_data_p), size=len(data), selected=-1, sorted=False
    )
