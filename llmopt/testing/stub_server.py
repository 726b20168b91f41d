"""An OpenAI-compatible test server on 127.0.0.1 that can inject faults.

It either answers `/v1/chat/completions` itself with seeded random `[w, b]` pairs after a fixed
latency (a stub, to measure the framework), or forwards every request to a real server
(`upstream`, e.g. llama_cpp.server) — and in both modes fails a configurable share of requests
with HTTP 500/502/503, 429 with Retry-After, a stall past the client's timeout, a dropped
connection, a truncated or non-JSON body, or an empty `choices` list.
"""

from __future__ import annotations

import argparse
import json
import random
import socket
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


FAULTS = ("500", "502", "503", "429", "stall", "drop", "truncated", "non_json", "empty_choices")


class StubSettings:
    """Behaviour of the server: latency, `n` support, upstream, and the share and kinds of faults."""

    def __init__(self, latency: float = 0.0, honour_n: bool = True, *, failure_rate: float = 0.0,
                 faults: tuple[str, ...] = FAULTS, upstream: str | None = None, stall: float = 5.0,
                 seed: int = 0) -> None:
        self.latency, self.honour_n, self.upstream, self.stall = latency, honour_n, upstream, stall
        self.failure_rate, self.faults = failure_rate, faults
        self.random = random.Random(seed)
        self.requests = 0
        self.in_flight = self.max_in_flight = 0
        self.injected: dict[str, int] = {}
        self.lock = threading.Lock()

    def draw_fault(self) -> str | None:
        """The fault for the next request, or None to answer it properly."""
        with self.lock:
            self.requests += 1
            if self.random.random() >= self.failure_rate:
                return None
            fault = self.random.choice(self.faults)
            self.injected[fault] = self.injected.get(fault, 0) + 1
            return fault


def _completion(body: dict[str, Any], settings: StubSettings) -> dict[str, Any]:
    n = int(body.get("n") or 1) if settings.honour_n else 1
    rng = random.Random(body.get("seed"))
    choices = [{"index": i, "finish_reason": "stop",
                "message": {"role": "assistant", "content": f"[{rng.randint(0, 30)}, {rng.randint(0, 30)}]"}}
               for i in range(n)]
    prompt_tokens = sum(len(str(m.get("content", "")).split()) for m in body.get("messages", []))
    return {"id": "stub", "object": "chat.completion", "created": int(time.time()),
            "model": body.get("model", "stub"), "choices": choices,
            "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": 4 * n,
                      "total_tokens": prompt_tokens + 4 * n}}


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
        if self.path.rstrip("/").endswith("/models"):
            self._send(200, {"object": "list", "data": [{"id": "stub", "object": "model"}]})
        else:
            self._send(404, {"error": {"message": "not found"}})

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
        fault = settings.draw_fault()
        time.sleep(settings.latency)
        if settings.upstream:
            request = urllib.request.Request(settings.upstream.rstrip("/") + self.path.removeprefix("/v1"),
                                             data=raw, headers={"Content-Type": "application/json"})
            with urllib.request.urlopen(request, timeout=600) as answer:
                good = answer.read()
        else:
            good = json.dumps(_completion(json.loads(raw or b"{}"), settings)).encode()
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
    args = parser.parse_args()
    settings = StubSettings(args.latency, not args.ignore_n, failure_rate=args.failure_rate,
                            upstream=args.upstream)
    server, url = serve(settings, args.port)
    print(url, flush=True)
    threading.Event().wait()


if __name__ == "__main__":
    main()
