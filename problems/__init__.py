"""The problem registry: built-in problems plus plugins from the `llmopt.problems` entry-point group."""

from __future__ import annotations

import warnings
from importlib import metadata

from llmopt.problem import Problem, UsageError
from problems.functions import TEST_FUNCTIONS
from problems.linear_regression import LinearRegression
from problems.numeric import NumericProblem
from problems.prompt_search import PromptSearch
from problems.tsp import TSP

ENTRY_POINT_GROUP = "llmopt.problems"
BUILTINS: dict[str, type[Problem]] = {
    cls.name: cls for cls in (LinearRegression, TSP, PromptSearch, NumericProblem, *TEST_FUNCTIONS)}


def registry() -> dict[str, type[Problem]]:
    """Every available problem class by name; built-ins win over plugins with the same name."""
    found: dict[str, type[Problem]] = {}
    for entry in metadata.entry_points(group=ENTRY_POINT_GROUP):
        try:
            cls = entry.load()
        except Exception as error:  # a broken plugin must not take the others down
            warnings.warn(f"skipping problem plugin {entry.name!r}: {error}", stacklevel=2)
            continue
        if isinstance(cls, type) and issubclass(cls, Problem):
            found[getattr(cls, "name", entry.name)] = cls
        else:
            warnings.warn(f"skipping problem plugin {entry.name!r}: not a Problem subclass", stacklevel=2)
    return {**found, **BUILTINS}


def get_problem(name: str) -> type[Problem]:
    """The problem class registered under `name`, or a usage error listing the choices."""
    problems = registry()
    if name not in problems:
        raise UsageError(f"unknown problem {name!r}; run `llmopt problems` to list them")
    return problems[name]
