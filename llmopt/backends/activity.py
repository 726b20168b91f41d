"""What the model is doing in this process right now: loading, requests in flight, answers and tokens so
far; the progress bar reads it so that a slow model shows life between steps."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


class Activity:
    """Counts that only grow (answers, tokens) and what is under way (models loading, requests in flight)."""

    def __init__(self) -> None:
        self.loading = self.in_flight = self.answers = self.tokens = 0
        self._lock = threading.Lock()

    def load(self) -> Any:
        """A model file being loaded inside the block."""
        return self._under_way("loading")

    def request(self) -> Any:
        """A request to a model in flight inside the block."""
        return self._under_way("in_flight")

    @contextmanager
    def _under_way(self, what: str) -> Iterator[None]:
        with self._lock:
            setattr(self, what, getattr(self, what) + 1)
        try:
            yield
        finally:
            with self._lock:
                setattr(self, what, getattr(self, what) - 1)

    def answered(self, answers: int, tokens: int) -> None:
        """Count answers that arrived and their tokens (prompt and completion, as every table counts them)."""
        with self._lock:
            self.answers += answers
            self.tokens += tokens

    def status(self) -> dict[str, object]:
        """What a progress bar shows: "loading" while a model loads, else requests in flight, answers and tokens."""
        if self.loading:
            return {"model": "loading"}
        return {"in_flight": self.in_flight, "answers": self.answers, "tokens": self.tokens}


ACTIVITY = Activity()
