"""Stored Results of the compared methods that sample no model, so a rerun replays instead of recomputing."""

from __future__ import annotations

import json
import os
from functools import cache
from pathlib import Path

from llmopt.backends.cache import SQLiteStore
from llmopt.comparators.base import Method, Setup
from llmopt.problem import Problem, digest
from llmopt.result import Result


@cache
def _methods_code() -> str:
    """The source of every compared method and the engine types they fill: a change there replays nothing old."""
    engine = Path(__file__).resolve().parents[1]
    files = sorted([*engine.joinpath("comparators").glob("*.py"), engine / "result.py", engine / "spaces.py"])
    return digest(*(path.read_bytes() for path in files))


class ResultStore:
    """Results keyed by the method, the problem's fingerprint, the Setup and the methods' code."""

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        self._store = SQLiteStore(path, "results")
        self.path = self._store.path
        self.hits = self.misses = 0

    def key(self, method: Method, problem: Problem, setup: Setup) -> str:
        """A digest of everything that decides the method's Result."""
        terms = {"method": method.name, "problem": problem.fingerprint(), "max_evals": setup.max_evals,
                 "seed": setup.seed, "starts": [problem.encode(s) for s in setup.starts], "target": setup.target,
                 "max_failures": setup.max_failures, "code": _methods_code()}
        return digest(json.dumps(terms, sort_keys=True))

    def replay(self, method: Method, problem: Problem, setup: Setup) -> Result:
        """The stored Result, or the method's (then stored)."""
        key = self.key(method, problem, setup)
        stored = self._store.get(key)
        if stored is not None:
            self.hits += 1
            return Result.from_json(stored)
        self.misses += 1
        result = method.run(problem, setup)
        self._store.put(key, result.to_json())
        return result
