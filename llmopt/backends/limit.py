"""One limit per process on the requests in flight to model servers: optimizer, repairs and scorer alike."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

# A GPU server (vLLM, SGLang) answers dozens of requests at once at nearly the latency of one.
DEFAULT_MAX_CONCURRENCY = 64


class RequestLimit:
    """A counting gate whose limit can be changed while requests wait on it."""

    def __init__(self, limit: int = DEFAULT_MAX_CONCURRENCY) -> None:
        self.limit, self.in_flight = limit, 0
        self._changed = threading.Condition()

    def set(self, limit: int) -> None:
        """Allow `limit` requests in flight from now on."""
        if limit < 1:
            raise ValueError("the request limit must be at least 1")
        with self._changed:
            self.limit = limit
            self._changed.notify_all()

    def __enter__(self) -> RequestLimit:
        with self._changed:
            self._changed.wait_for(lambda: self.in_flight < self.limit)
            self.in_flight += 1
        return self

    def __exit__(self, *exc: Any) -> None:
        with self._changed:
            self.in_flight -= 1
            self._changed.notify()


REQUESTS = RequestLimit()


@contextmanager
def request_limit(limit: int | None) -> Iterator[RequestLimit]:
    """At most `limit` requests of this process in flight to model servers inside the block
    (`--max-concurrency`; None leaves the limit as it is); the previous limit is put back after."""
    previous = REQUESTS.limit
    if limit is not None:
        REQUESTS.set(limit)
    try:
        yield REQUESTS
    finally:
        REQUESTS.set(previous)
