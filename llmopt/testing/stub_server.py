"""An OpenAI-compatible test server on 127.0.0.1 that can inject faults.

It either answers `/v1/chat/completions` itself with seeded random `[w, b]` pairs after a fixed
latency (a stub, to measure the framework), or forwards every request to a real server
(`upstream`, e.g. llama_cpp.server) — and in both modes fails a configurable share of requests
with HTTP 500/502/503, 429 with Retry-After, a stall past the client's timeout, a dropped
connection, a truncated or non-JSON body, or an empty `choices` list.

An `answer` function writes the stub's answers from the prompt instead (`follow_feedback`: a "model" that
reads only the feedback under the best solution shown, to test that channel without a model; `front_points`:
one that proposes points of ZDT1's true front where the shown front is thinnest).

A `family` makes it behave as one kind of server does today (see `FAMILIES`): OpenAI's reasoning
models, a provider that checks the body, vLLM from 0.12 with a reasoning parser, llama.cpp's
server, a thinking model served by Ollama, or a server that refuses every request.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import random
import re
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

FAULTS = ("500", "502", "503", "429", "stall", "drop", "truncated", "non_json", "empty_choices")
ERRORS_ONLY = ("500", "502", "503", "429", "drop", "non_json")
FAMILIES = {
    "plain": "takes any field, reads no grammar",
    "llama.cpp": "answers GET /props, reads `grammar`",
    "vllm": "vLLM >= 0.12: answers GET /version, reads `structured_outputs.grammar` (ignores `guided_grammar`), "
    "reasoning in `message.reasoning`, counted against the limit",
    "strict": "a hosted provider: 400 for any body field OpenAI's API does not know",
    "openai-reasoning": "OpenAI's reasoning models: strict, 400 for max_tokens and for a temperature other than 1, "
    "hidden reasoning spent out of max_completion_tokens",
    "thinking": "a thinking model on Ollama: ignores n, writes <think>...</think> (with decoy solutions) before "
    "the answer, counted against the limit",
    "refuse-401": "every request: 401 (a bad key)",
    "refuse-404": "every chat request: 404 (no such model)",
    "refuse-400": "every chat request: 400 (a bad request)",
    "refuse-403": "every chat request: 403 (the key may not use the model)",
    "refuse-422": "every chat request: 422 (a body the server cannot process)",
    "chat-only": "serves chat completions only: 404 for /v1/completions, as OpenAI's chat models do",
    "chat-only-405": "serves chat completions only: 405 for /v1/completions, as a server without that route does",
}
# The fields OpenAI's chat API takes; a body-checking provider refuses any other.
OPENAI_FIELDS = frozenset(
    {
        "model",
        "messages",
        "n",
        "temperature",
        "top_p",
        "max_tokens",
        "max_completion_tokens",
        "seed",
        "stream",
        "stop",
        "reasoning_effort",
        "response_format",
        "tools",
        "tool_choice",
        "user",
        "logprobs",
        "top_logprobs",
        "frequency_penalty",
        "presence_penalty",
        "logit_bias",
        "stream_options",
        "metadata",
        "store",
        "service_tier",
        "parallel_tool_calls",
        "modalities",
        "prediction",
        "audio",
        "verbosity",
    }
)
# What a thinking model reasons before it answers: this many words (one token each), with decoys.
REASONING_WORDS = 300
DECOY = "[-77, -77]"
GRAMMAR_FIELD = {"llama.cpp": ("grammar",), "vllm": ("structured_outputs", "grammar")}
Answer = Callable[[str, random.Random], str]  # (the prompt, the request's seeded generator) -> one answer
_SHOWN = re.compile(r"^[^:\n]+: (\[[^\]\n]*\])\s*$")  # a meta-prompt's line "label: [x1, x2]"
_MOVE = re.compile(r"move (\w+) (up|down) by about (-?[0-9.]+)")


def follow_feedback(names: Sequence[str], guess: float = 3.0) -> Answer:
    """An `answer` that reads only the feedback: the last solution the meta-prompt lists (the best, in OPRO's
    default order) moved as its feedback says ("move x up by about 3"; the names are the box's variables);
    without feedback, that solution with each variable moved by a random step of up to `guess` (a blind guess)."""

    def answer(prompt: str, rng: random.Random) -> str:
        lines = prompt.splitlines()
        shown = [(at, match) for at, line in enumerate(lines) if (match := _SHOWN.match(line))]
        if not shown:
            return "[" + ", ".join("0" for _ in names) + "]"
        at, match = shown[-1]
        point = [float(v) for v in match.group(1).strip("[]").split(",")]
        told = "\n".join(itertools.takewhile(bool, lines[at + 1 :]))  # the lines under it, to the blank line
        moves = {name: (1 if way == "up" else -1) * float(by) for name, way, by in _MOVE.findall(told)}
        if moves:
            point = [v + moves.get(name, 0.0) for v, name in zip(point, names)]
        else:
            point = [v + rng.uniform(-guess, guess) for v in point]
        return "[" + ", ".join(f"{v:.2f}" for v in point) + "]"

    return answer


def front_points(dim: int, grid: int = 21, label: str = "f1", width: int = 3) -> Answer:
    """An `answer` that proposes points of ZDT1's true front (x1 on a grid of `grid` values in [0, 1], the
    other `dim - 1` variables 0), reading the front the meta-prompt shows: x1 is drawn among the `width` grid
    values farthest from every shown front member's `label` (its first objective, which is x1), so that the
    front fills its ends and its widest gaps first."""
    values = [i / (grid - 1) for i in range(grid)]

    def answer(prompt: str, rng: random.Random) -> str:
        _, _, front = prompt.partition("Pareto front")
        shown = [float(line.split(": ", 1)[1]) for line in front.splitlines() if line.startswith(f"{label}: ")]
        far = sorted(values, key=lambda v: -min((abs(v - s) for s in shown), default=1.0))
        x1 = rng.choice(far[:width])
        return "[" + ", ".join([f"{x1:g}", *["0"] * (dim - 1)]) + "]"

    return answer


class StubSettings:
    """Behaviour of the server: latency, `n` support, upstream, and the share and kinds of faults."""

    def __init__(
        self,
        latency: float = 0.0,
        honour_n: bool = True,
        *,
        failure_rate: float = 0.0,
        faults: tuple[str, ...] = FAULTS,
        upstream: str | None = None,
        stall: float = 5.0,
        seed: int = 0,
        family: str = "plain",
        die_after: int | None = None,
        capacity: int | None = None,
        fail_after: int | None = None,
        hold_at: int | None = None,
        gather: int | None = None,
        prefix_cache: bool = False,
        answer: Answer | None = None,
    ) -> None:
        if family not in FAMILIES:
            raise ValueError(f"unknown family {family!r}; choose from {', '.join(FAMILIES)}")
        self.latency, self.honour_n, self.upstream, self.stall = latency, honour_n, upstream, stall
        self.failure_rate, self.faults, self.family, self.die_after = failure_rate, faults, family, die_after
        self.fail_after = fail_after  # every request after this many answered gets the first fault
        # The `hold_at`-th POST is held unanswered until `release` is set, with `holding` set meanwhile: a
        # client is then at a known point of its work (a test kills it there).
        self.hold_at, self.holding, self.release = hold_at, threading.Event(), threading.Event()
        self.posts = 0
        # No POST is answered before `gather` are in flight at once (or 20 s went by): a client that can keep
        # that many in flight is seen to, whatever the timing of its threads.
        self.gather, self.gathered = gather, threading.Event()
        if family == "thinking":
            self.honour_n = False
        # At most `capacity` requests are worked on at once (a server's batch); the rest queue for a place.
        self.capacity = threading.BoundedSemaphore(capacity) if capacity else None
        # With `prefix_cache`, a prompt's words that start as the previous prompt's did are reported as
        # cached (`usage.prompt_tokens_details.cached_tokens`), as OpenAI, vLLM and llama.cpp's server do.
        self.prefix_cache, self.last_prompt = prefix_cache, list[str]()
        self.answer = answer  # writes each answer from the prompt, in place of a random [w, b]
        self._start_counting(seed)

    def _start_counting(self, seed: int) -> None:
        self.keep_bodies = True
        self.bodies: list[dict[str, Any]] = []  # every chat request body as it came
        self.grammars = 0  # requests whose grammar arrived in the field this family reads
        self.random = random.Random(seed)
        self.requests = 0
        self.in_flight = self.max_in_flight = 0
        self.injected: dict[str, int] = {}
        self.lock = threading.Lock()

    def draw_fault(self) -> str | None:
        """The fault for the next request, or None to answer it properly."""
        with self.lock:
            self.requests += 1
            if self.fail_after is not None and self.requests > self.fail_after:
                return self.faults[0]
            if self.random.random() >= self.failure_rate:
                return None
            fault = self.random.choice(self.faults)
            self.injected[fault] = self.injected.get(fault, 0) + 1
            return fault


def _wait_as_told(settings: StubSettings, held: bool) -> None:
    """Hold the request a test asked to hold, and every request until `gather` are in flight."""
    if held:
        settings.holding.set()
        settings.release.wait()
    if settings.gather is not None:
        with settings.lock:
            if settings.in_flight >= settings.gather:
                settings.gathered.set()
        settings.gathered.wait(timeout=20)


def _reasoning(rng: random.Random) -> list[str]:
    words: list[str] = []
    while len(words) < REASONING_WORDS:
        words += f"Let me try w = {rng.randint(0, 30)} ... maybe {DECOY}? no, the loss grows, so".split()
    return words[:REASONING_WORDS]


def _choice(
    index: int, rng: random.Random, limit: int, family: str, answer: str | None = None
) -> tuple[dict[str, Any], int, int]:
    """One answer (`answer`, or a random [w, b]) as the family writes it, cut off at `limit` tokens: (choice,
    completion, reasoning tokens)."""
    answer = f"[{rng.randint(0, 30)}, {rng.randint(0, 30)}]" if answer is None else answer
    thought = _reasoning(rng) if family in ("thinking", "vllm", "openai-reasoning") else []
    spent = min(limit, len(thought))
    room = limit - spent
    cut = room < len(answer.split())
    answer = "" if cut else answer
    message: dict[str, Any] = {"role": "assistant", "content": answer}
    if family == "thinking":
        message["content"] = "<think>" + " ".join(thought[:spent]) + ("" if cut else "</think>\n" + answer)
    elif family == "vllm":
        message["reasoning"] = " ".join(thought[:spent])
        message["content"] = answer or None
    choice = {"index": index, "finish_reason": "length" if cut else "stop", "message": message}
    return choice, spent + len(answer.split()), spent if family == "openai-reasoning" else 0


def _completion(body: dict[str, Any], settings: StubSettings) -> dict[str, Any]:
    n = int(body.get("n") or 1) if settings.honour_n else 1
    rng = random.Random(body.get("seed"))
    limit = int(body.get("max_completion_tokens") or body.get("max_tokens") or 10**6)
    prompt = str(body.get("prompt") or (body.get("messages") or [{}])[-1].get("content", ""))
    write = settings.answer
    made = [_choice(i, rng, limit, settings.family, write(prompt, rng) if write else None) for i in range(n)]
    prompt_tokens = sum(len(str(m.get("content", "")).split()) for m in body.get("messages", []))
    completion_tokens, hidden = sum(m[1] for m in made), sum(m[2] for m in made)
    usage: dict[str, Any] = {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
    }
    if settings.prefix_cache:
        usage["prompt_tokens_details"] = {"cached_tokens": _cached_words(body, settings)}
    if settings.family == "openai-reasoning":
        usage["completion_tokens_details"] = {"reasoning_tokens": hidden}
    return {
        "id": "stub",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": body.get("model", "stub"),
        "choices": [m[0] for m in made],
        "usage": usage,
    }


def _cached_words(body: dict[str, Any], settings: StubSettings) -> int:
    """The prompt's leading words that the previous prompt began with (the stub's prefix cache)."""
    words = " ".join(str(m.get("content", "")) for m in body.get("messages", [])).split()
    with settings.lock:
        shared = next(
            (i for i, (a, b) in enumerate(zip(words, settings.last_prompt)) if a != b),
            min(len(words), len(settings.last_prompt)),
        )
        settings.last_prompt = words
    return shared


def _as_text(chat: dict[str, Any]) -> dict[str, Any]:
    """A chat completion in the shape of a raw text completion (`/v1/completions`)."""
    choices = [
        {"index": c["index"], "text": c["message"].get("content") or "", "finish_reason": c["finish_reason"]}
        for c in chat["choices"]
    ]
    return {**chat, "object": "text_completion", "choices": choices}


# The families that refuse every request: (status, message, param, code), as the real servers word them.
_REFUSES_EVERYTHING: dict[str, tuple[int, str, str | None, str | None]] = {
    "refuse-401": (
        401,
        "Incorrect API key provided: no-key. You can find your API key in your account settings.",
        None,
        "invalid_api_key",
    ),
    "refuse-404": (404, "The model `{model}` does not exist or you do not have access to it.", None, "model_not_found"),
    "refuse-400": (400, "Invalid 'messages[0].content': string too long.", None, "string_above_max_length"),
    "refuse-403": (403, "You are not allowed to use this model.", None, "model_not_allowed"),
    "refuse-422": (422, "Unprocessable request.", None, None),
}


def _refusal(body: dict[str, Any], family: str, text: bool = False) -> tuple[int, dict[str, Any]] | None:
    """The status and error body with which this family refuses the request, or None to answer it."""

    def error(status: int, message: str, param: str | None = None, code: str | None = None) -> tuple[int, dict]:
        return status, {"error": {"message": message, "type": "invalid_request_error", "param": param, "code": code}}

    if text and family == "chat-only-405":
        return error(405, "Method Not Allowed")
    if text and family in ("chat-only", "strict", "openai-reasoning"):
        return error(
            404,
            "This is a chat model and not supported in the v1/completions endpoint. "
            "Did you mean to use v1/chat/completions?",
        )
    if family in _REFUSES_EVERYTHING:
        status, message, param, code = _REFUSES_EVERYTHING[family]
        return error(status, message.format(model=body.get("model")), param, code)
    if family in ("strict", "openai-reasoning"):
        unknown = sorted(set(body) - OPENAI_FIELDS)
        if unknown:
            return error(400, f"Unrecognized request argument supplied: {unknown[0]}")
    if family == "openai-reasoning":
        if "max_tokens" in body:
            return error(
                400,
                "Unsupported parameter: 'max_tokens' is not supported with this model. "
                "Use 'max_completion_tokens' instead.",
                "max_tokens",
                "unsupported_parameter",
            )
        if body.get("temperature", 1) != 1:
            return error(
                400,
                f"Unsupported value: 'temperature' does not support {body['temperature']} with this "
                "model. Only the default (1) value is supported.",
                "temperature",
                "unsupported_value",
            )
    return None


def _note(settings: StubSettings, body: dict[str, Any]) -> bool:
    """Count a POST and keep its body; True if it is the one to hold. A server told to die does so here."""
    with settings.lock:
        if settings.keep_bodies:
            settings.bodies.append(body)
        settings.grammars += _grammar_arrived(body, settings.family)
        settings.posts += 1
        if settings.die_after is not None and settings.requests >= settings.die_after:
            os._exit(0)  # the server is killed: deterministic, by the count of requests it served
        return settings.posts == settings.hold_at


def _grammar_arrived(body: dict[str, Any], family: str) -> bool:
    value: Any = body
    for key in GRAMMAR_FIELD.get(family, ("-",)):
        value = value.get(key) if isinstance(value, dict) else None
    return isinstance(value, str) and bool(value)


class StubServer(ThreadingHTTPServer):
    """A threading HTTP server that carries the stub's settings."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], settings: StubSettings) -> None:
        super().__init__(address, StubHandler)
        self.settings = settings


class StubHandler(BaseHTTPRequestHandler):
    """Answers (or forwards) chat completions and injects the faults of `server.settings`."""

    server: StubServer

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def log_message(self, *args: Any) -> None:  # keep test output clean
        pass

    def _send(self, status: int, payload: dict[str, Any]) -> None:
        self._raw(status, json.dumps(payload).encode())

    def do_GET(self) -> None:
        settings, path = self.server.settings, self.path.rstrip("/")
        if path == "/stats":  # for a benchmark that runs the stub in a process of its own
            with settings.lock:
                self._send(
                    200,
                    {
                        "requests": settings.requests,
                        "in_flight": settings.in_flight,
                        "max_in_flight": settings.max_in_flight,
                    },
                )
        elif settings.upstream:
            self._forward_get()
        elif settings.family == "refuse-401":
            self._send(*_refusal({}, "refuse-401"))  # type: ignore[misc]
        elif path.endswith("/models"):
            self._send(200, {"object": "list", "data": [{"id": "stub", "object": "model"}]})
        elif path == "/props" and settings.family == "llama.cpp":
            self._send(200, {"default_generation_settings": {"n_ctx": 4096}, "total_slots": 4})
        elif path == "/version" and settings.family == "vllm":
            self._send(200, {"version": "0.12.1"})
        else:
            self._send(404, {"error": {"message": "not found"}})

    def _forward_get(self) -> None:
        root = self.server.settings.upstream.rstrip("/")  # type: ignore[union-attr]
        url = (
            root + self.path.removeprefix("/v1")
            if self.path.startswith("/v1")
            else root.removesuffix("/v1") + self.path
        )
        try:
            with urllib.request.urlopen(url, timeout=30) as answer:
                self._raw(answer.status, answer.read())
        except urllib.error.HTTPError as error:
            self._raw(error.code, error.read())

    def _raw(self, status: int, data: bytes, length: int | None = None, extra: dict | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data) if length is None else length))
        for key, value in (extra or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    def _inject(self, fault: str, good: bytes) -> None:
        if fault in ("500", "502", "503"):
            self._send(int(fault), {"error": {"message": f"injected {fault}"}})
        elif fault == "429":
            self._raw(429, b'{"error": {"message": "slow down"}}', extra={"Retry-After": "0.2"})
        elif fault == "stall":
            time.sleep(self.server.settings.stall)
            self._raw(200, good)
        elif fault == "drop":
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
        elif fault == "truncated":
            self._raw(200, good[: len(good) // 2], length=len(good))
            self.close_connection = True
        elif fault == "non_json":
            self._raw(200, b"<html>upstream error</html>")
        else:  # empty_choices
            payload = json.loads(good)
            payload["choices"] = []
            self._raw(200, json.dumps(payload).encode())

    def do_POST(self) -> None:
        raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        settings = self.server.settings
        with settings.lock:
            settings.in_flight += 1
            settings.max_in_flight = max(settings.max_in_flight, settings.in_flight)
        self._counted = True
        try:
            self._answer(raw)
        finally:
            self._leave()

    def _leave(self) -> None:
        """Stop counting this request as in flight (before its answer goes out, so counts never run high)."""
        if self._counted:
            self._counted = False
            with self.server.settings.lock:
                self.server.settings.in_flight -= 1

    def _answer(self, raw: bytes) -> None:
        settings = self.server.settings
        body = json.loads(raw or b"{}")
        _wait_as_told(settings, _note(settings, body))
        text = self.path.rstrip("/").endswith("/completions") and "/chat/" not in self.path
        refused = _refusal(body, settings.family, text)
        if refused is not None:
            self._leave()
            self._send(*refused)
            return
        fault = settings.draw_fault()
        if settings.capacity is not None:
            with settings.capacity:
                time.sleep(settings.latency)
        else:
            time.sleep(settings.latency)
        if fault in ERRORS_ONLY:  # an error needs no answer: the upstream model is not asked
            self._leave()
            self._inject(fault, b"")
            return
        if settings.upstream:
            request = urllib.request.Request(
                settings.upstream.rstrip("/") + self.path.removeprefix("/v1"),
                data=raw,
                headers={"Content-Type": "application/json"},
            )
            with urllib.request.urlopen(request, timeout=600) as answer:
                good = answer.read()
        else:
            good = json.dumps(_as_text(_completion(body, settings)) if text else _completion(body, settings)).encode()
        self._leave()
        if fault is None:
            self._raw(200, good)
        else:
            self._inject(fault, good)


def serve(settings: StubSettings, port: int = 0) -> tuple[ThreadingHTTPServer, str]:
    """Start the stub in a daemon thread; returns the server and its /v1 base URL."""
    server = StubServer(("127.0.0.1", port), settings)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/v1"


def main() -> None:
    """Run the stub in the foreground: `python -m llmopt.testing.stub_server --latency 0.2`."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--latency", type=float, default=0.0)
    parser.add_argument("--ignore-n", action="store_true")
    parser.add_argument("--failure-rate", type=float, default=0.0)
    parser.add_argument("--upstream", help="forward requests to this /v1 URL instead of answering")
    parser.add_argument("--family", default="plain", choices=list(FAMILIES), help="which kind of server to imitate")
    parser.add_argument("--die-after", type=int, help="exit (as if killed) on the request after this many")
    parser.add_argument("--capacity", type=int, help="requests worked on at once; the rest queue")
    args = parser.parse_args()
    settings = StubSettings(
        args.latency,
        not args.ignore_n,
        failure_rate=args.failure_rate,
        upstream=args.upstream,
        family=args.family,
        die_after=args.die_after,
        capacity=args.capacity,
    )
    settings.keep_bodies = False
    server, url = serve(settings, args.port)
    print(url, flush=True)
    threading.Event().wait()


if __name__ == "__main__":
    main()
