"""A real llama.cpp OpenAI-compatible server (`python -m llama_cpp.server`) on 127.0.0.1, for tests,
benchmarks and notebooks that compare in-process sampling with sampling over HTTP."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

ALIAS = "smollm2"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def llama_server(
    model_path: str | os.PathLike[str], log_path: str | os.PathLike[str], alias: str = ALIAS, timeout: float = 120.0
) -> Iterator[str]:
    """Serve the GGUF file at `model_path` under the name `alias`; yields the server's /v1 base URL."""
    port = free_port()
    with open(log_path, "wb") as log:
        # The server logs a lot while loading: a file, not a pipe nobody reads, or it blocks.
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "llama_cpp.server",
                "--model",
                str(model_path),
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--n_ctx",
                "4096",
                "--model_alias",
                alias,
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        base_url = f"http://127.0.0.1:{port}/v1"
        try:
            _wait_until_up(f"{base_url}/models", process, Path(log_path), timeout)
            yield base_url
        finally:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()


def _wait_until_up(url: str, process: subprocess.Popen, log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"llama_cpp.server exited: {log.read_text(errors='replace')[-2000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError("llama_cpp.server did not start in time")
