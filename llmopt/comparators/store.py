"""Stored Results of the compared methods that sample no model, so a rerun replays instead of recomputing."""

from __future__ import annotations

import inspect
import json
import os
import sys
from functools import cache
from importlib import metadata
from pathlib import Path

from llmopt.backends.cache import SQLiteStore
from llmopt.comparators.base import Method, Setup
from llmopt.problem import Problem, digest
from llmopt.result import Result


LIBRARIES = ("numpy", "scipy", "cma", "elkai", "python-sat", "networkx")


@cache
def _engine_code() -> str:
    """The engine's source and the numeric libraries' versions: a change in either replays nothing old."""
    engine = Path(__file__).resolve().parents[1]
    versions = []
    for name in LIBRARIES:
        try:
            versions.append(f"{name}={metadata.version(name)}")
        except metadata.PackageNotFoundError:
            versions.append(f"{name}=-")
    return digest(*(path.read_bytes() for path in sorted(engine.rglob("*.py"))), *versions)


@cache
def _problem_code(cls: type) -> str:
    """The source of the problem's module, and of its whole package when it has one."""
    module = sys.modules[cls.__module__]
    path = Path(inspect.getsourcefile(module) or "")
    files = sorted(path.parent.glob("*.py")) if module.__package__ and "." in cls.__module__ else [path]
    return digest(*(f.read_bytes() for f in files if f.is_file()))


class ResultStore:
    """Results keyed by the method, the problem's fingerprint, the Setup, and the engine's and the problem's code."""

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        self._store = SQLiteStore(path, "results")
        self.path = self._store.path
        self.hits = self.misses = 0

    def key(self, method: Method, problem: Problem, setup: Setup) -> str:
        """A digest of everything that decides the method's Result."""
        terms = {"method": method.name, "problem": problem.fingerprint(), "max_evals": setup.max_evals,
                 "seed": setup.seed, "starts": [problem.encode(s) for s in setup.starts], "target": setup.target,
                 "max_failures": setup.max_failures, "code": [_engine_code(), _problem_code(type(problem))]}
        return digest(json.dumps(terms, sort_keys=True))

    def replay(self, method: Method, problem: Problem, setup: Setup) -> Result:
        """The stored Result, or the method's (then stored, unless an evaluation failed: that may pass)."""
        key = self.key(method, problem, setup)
        stored = self._store.get(key)
        if stored is not None:
            self.hits += 1
            return Result.from_json(stored)
        self.misses += 1
        result = method.run(problem, setup)
        if not result.counts.failed_evals:
            self._store.put(key, result.to_json())
        return result
