"""The problem registry: every class in the `llmopt.problems` entry-point group, built-ins included."""

from __future__ import annotations

import sys
import warnings
from functools import lru_cache
from importlib import metadata
from typing import Any

from llmopt.errors import did_you_mean
from llmopt.problem import Problem, UsageError

ENTRY_POINT_GROUP = "llmopt.problems"
BUILTIN = "llmopt.problems."


def registry() -> dict[str, type[Problem]]:
    """Every registered problem class by name, sorted; a plugin that fails to load is skipped with a warning.

    Read once per search path: scanning every installed package's entry points costs a hundred file
    reads, which hundreds of bench jobs in threads would pay in turn.
    """
    return dict(_registry(tuple(sys.path)))


@lru_cache(maxsize=8)
def _registry(search_path: tuple[str, ...]) -> dict[str, type[Problem]]:
    found: dict[str, type[Problem]] = {}
    # built-ins first, so that a plugin cannot shadow one by taking its name
    entries = sorted(metadata.entry_points(group=ENTRY_POINT_GROUP), key=lambda e: not e.value.startswith(BUILTIN))
    for entry in entries:
        try:
            cls = entry.load()
        except Exception as error:  # a broken plugin must not take the others down
            warnings.warn(f"skipping problem plugin {entry.name!r}: {error}", stacklevel=2)
            continue
        if not (isinstance(cls, type) and issubclass(cls, Problem)):
            warnings.warn(f"skipping problem plugin {entry.name!r}: not a Problem subclass", stacklevel=2)
        elif found.setdefault(getattr(cls, "name", entry.name), cls) is not cls:
            warnings.warn(f"skipping problem plugin {entry.name!r}: its name is taken", stacklevel=2)
    return dict(sorted(found.items()))


def get_problem(name: str) -> type[Problem]:
    """The problem class registered under `name`, or a usage error listing the choices."""
    problems = registry()
    if name not in problems:
        raise UsageError(f"unknown problem {name!r}{did_you_mean(name, problems)}; choose from {', '.join(problems)} "
                         "(`llmopt problems` lists them)")
    return problems[name]


def build_problem(name: str, options: dict[str, Any]) -> Problem:
    """The problem `name` built from its options (keys are `Option.dest`); a bad value is a usage error."""
    try:
        return get_problem(name).from_options(**options)
    except (ValueError, OSError) as error:
        raise UsageError(str(error)) from None
