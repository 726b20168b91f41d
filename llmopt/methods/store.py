"""Stored Results of the compared methods that sample no model, so a rerun replays instead of recomputing."""

from __future__ import annotations

import importlib
import inspect
import json
import os
import sys
import time
from collections.abc import Callable
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import Any

from llmopt.backends.cache import SQLiteStore
from llmopt.contract.problem import Problem, digest
from llmopt.core.result import Result
from llmopt.methods.classical.base import Method, Setup

LIBRARIES = ("numpy", "scipy", "cma", "elkai", "python-sat", "networkx", "optuna", "nevergrad", "scikit-learn")
ENGINE = "llmopt"
PLUGINS = "llmopt.problems"  # a problem's code is keyed on its own (`_problem_code`)


def _libraries() -> list[str]:
    versions = []
    for name in LIBRARIES:
        try:
            versions.append(f"{name}={metadata.version(name)}")
        except metadata.PackageNotFoundError:
            versions.append(f"{name}=-")
    return versions


def _roots(function: Callable[..., Any]) -> set[str]:
    """The engine modules a method's `run` is written in: its own, and those of the functions it closes over."""
    found, todo, seen = set(), [function], set()
    while todo:
        item = todo.pop()
        if id(item) in seen:
            continue
        seen.add(id(item))
        module = getattr(item, "__module__", None) or ""
        if module.startswith(ENGINE + "."):
            found.add(module)
        for cell in getattr(item, "__closure__", None) or ():
            value = cell.cell_contents
            if callable(value):
                todo.append(value)
    return found


def _imports(names: set[str]) -> set[str]:
    """`names` and every engine module they import, at any depth (the code their results can depend on)."""
    found, todo = set(), list(names)
    while todo:
        name = todo.pop()
        if name in found or name not in sys.modules:
            continue
        found.add(name)
        for value in vars(sys.modules[name]).values():
            module = value.__name__ if inspect.ismodule(value) else getattr(value, "__module__", None)
            if isinstance(module, str) and module.startswith(ENGINE + ".") and not module.startswith(PLUGINS):
                todo.append(module)
    return found


@cache
def _method_code(method: Method) -> str:
    """The source of the engine modules that compute the method's Result, and the numeric libraries'
    versions: a change in either replays nothing old, and an edit elsewhere (the CLI, reports) keeps it all."""
    importlib.import_module("llmopt.engine.driver")  # the loop of a method with a proposer, imported where it runs

    roots = _roots(method.run) | (_roots(method.proposer) | {"llmopt.engine.driver"} if method.proposer else set())
    files = sorted(Path(inspect.getsourcefile(sys.modules[name]) or "") for name in _imports(roots))
    return digest(*(f"{f.name}:".encode() + f.read_bytes() for f in files if f.is_file()), *_libraries())


@cache
def _problem_code(cls: type) -> str:
    """The source of the problem's module, and of its whole package when it has one."""
    module = sys.modules[cls.__module__]
    path = Path(inspect.getsourcefile(module) or "")
    files = sorted(path.parent.glob("*.py")) if module.__package__ and "." in cls.__module__ else [path]
    return digest(*(f.read_bytes() for f in files if f.is_file()))


class ResultStore:
    """Results keyed by the method, the problem's fingerprint, the Setup, and the code of the method and the problem."""

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        self._store = SQLiteStore(path, "results")
        self.path = self._store.path
        self.hits = self.misses = 0

    def key(self, method: Method, problem: Problem, setup: Setup) -> str:
        """A digest of everything that decides the method's Result."""
        terms = {
            "method": method.name,
            "problem": problem.fingerprint(),
            "max_evals": setup.max_evals,
            "seed": setup.seed,
            "starts": [problem.encode(s) for s in setup.starts],
            "target": setup.target,
            "max_failures": setup.max_failures,
            "code": [_method_code(method), _problem_code(type(problem))],
            # a round's size shapes Nevergrad's and Optuna's search and every method's rounds
            "timeout": setup.timeout,
            "workers": setup.evaluation.workers,
            "eval_timeout": setup.evaluation.timeout,
            # a method on the driver reads the comparison's settings (steps, proposals, its own settings)
            "settings": setup.config.to_dict() if method.proposer is not None else None,
        }
        if problem.directions is not None:  # one objective's keys stay as they were
            # the point every hypervolume is measured against: a derived one follows the problem's data, which its
            # fingerprint may not pin down
            terms["reference"] = problem.reference_point()
        return digest(json.dumps(terms, sort_keys=True))

    def replay(self, method: Method, problem: Problem, setup: Setup) -> Result:
        """The stored Result, or the method's (then stored, unless an evaluation failed: that may pass)."""
        began = time.perf_counter()
        key = self.key(method, problem, setup)
        stored = self._store.get(key)
        if stored is not None:
            self.hits += 1
            result = Result.from_json(stored)
            # seconds are what this run spent, as for a model's cached answers; the first run's are kept
            result.extra["seconds_computed"] = result.extra.get("seconds_computed", result.seconds)
            result.seconds = time.perf_counter() - began
            return result
        self.misses += 1
        result = method.run(problem, setup)
        if not result.counts.failed_evals:
            self._store.put(key, result.to_json())
        return result
