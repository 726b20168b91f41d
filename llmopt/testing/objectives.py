"""Objectives for tests and benchmarks that must travel to worker processes: importable by name, so a
fork server's workers unpickle them as any user's module-level function."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any


def bowl(x: Any) -> float:
    """(x1 - 3)^2 + (x2 - 7)^2, and on for more dimensions with the same centre pattern."""
    return float(sum((v - c) ** 2 for v, c in zip(x, (3, 7, 3, 7, 3, 7, 3, 7, 3, 7))))


def pid(x: Any) -> float:
    """The process that evaluated: tells a test where evaluations ran."""
    return float(os.getpid())


def hang_at_origin(x: Any, pid_file: str) -> float:
    """Sums x, but never ends at the origin (after writing its pid to `pid_file`)."""
    if all(v == 0 for v in x):
        Path(pid_file).write_text(str(os.getpid()))
        time.sleep(600)
    return float(sum(x))


class Slow:
    """`bowl` that takes `seconds` per call, as a simulation waits."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    def __call__(self, x: Any) -> float:
        """The value, after the wait."""
        time.sleep(self.seconds)
        return bowl(x)


def die(x: Any) -> float:
    """Ends its process at once, as a crash in C code or a user's `os._exit(1)` does: no exception, no answer."""
    os._exit(1)


class DiesOnArrival:
    """An objective whose unpickling ends the process (exit code 3): a worker that dies while it starts."""

    def __call__(self, x: Any) -> float:
        """Never called in a worker: it dies first."""
        return 0.0

    def __reduce__(self) -> tuple:
        return os._exit, (3,)
