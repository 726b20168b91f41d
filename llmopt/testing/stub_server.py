"""A stub OpenAI-compatible server on 127.0.0.1 for transport tests and benchmarks.

It answers `/v1/models` and `/v1/chat/completions` with seeded random `[w, b]` pairs after a
fixed latency. It measures the framework, not a model: end-to-end tests use a real model.
"""

from __future__ import annotations

import argparse
import json
import random
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class StubSettings:
    """Behaviour of the stub: latency per request and whether it honours `n`."""

    def __init__(self, latency: float = 0.0, honour_n: bool = True) -> None:
        self.latency = latency
        self.honour_n = honour_n
        self.requests = 0
        self.lock = threading.Lock()


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


def make_handler(settings: StubSettings) -> type[BaseHTTPRequestHandler]:
    """A request handler class bound to `settings`."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True

        def log_message(self, *args: Any) -> None:  # keep test output clean
            pass

        def _send(self, status: int, payload: dict[str, Any]) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            if self.path.rstrip("/").endswith("/models"):
                self._send(200, {"object": "list", "data": [{"id": "stub", "object": "model"}]})
            else:
                self._send(404, {"error": {"message": "not found"}})

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
            with settings.lock:
                settings.requests += 1
            time.sleep(settings.latency)
            self._send(200, _completion(body, settings))

    return Handler


def serve(settings: StubSettings, port: int = 0) -> tuple[ThreadingHTTPServer, str]:
    """Start the stub in a daemon thread; returns the server and its /v1 base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", port), make_handler(settings))
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/v1"


def main() -> None:
    """Run the stub in the foreground: `python -m llmopt.testing.stub_server --latency 0.2`."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--latency", type=float, default=0.0)
    parser.add_argument("--ignore-n", action="store_true")
    args = parser.parse_args()
    server, url = serve(StubSettings(args.latency, not args.ignore_n), args.port)
    print(url, flush=True)
    threading.Event().wait()


if __name__ == "__main__":
    main()
