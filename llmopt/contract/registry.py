"""The problem registry: every class in the `llmopt.problems` entry-point group, built-ins included."""

from __future__ import annotations

import warnings
from typing import Any

from llmopt.contract.plugins import entry_points
from llmopt.contract.problem import Problem, UsageError
from llmopt.core.errors import did_you_mean

ENTRY_POINT_GROUP = "llmopt.problems"


def registry() -> dict[str, type[Problem]]:
    """Every registered problem class by its name, sorted; a plugin that fails to load is skipped with a warning."""
    classes = entry_points(ENTRY_POINT_GROUP, _is_problem, "problem")
    found: dict[str, type[Problem]] = {}
    for entry, cls in classes.items():
        if found.setdefault(getattr(cls, "name", entry), cls) is not cls:
            warnings.warn(f"skipping problem plugin {entry!r}: its name is taken", stacklevel=2)
    return dict(sorted(found.items()))


def _is_problem(loaded: Any) -> bool:
    return isinstance(loaded, type) and issubclass(loaded, Problem)


def get_problem(name: str) -> type[Problem]:
    """The problem class registered under `name`, or a usage error listing the choices."""
    problems = registry()
    if name not in problems:
        raise UsageError(
            f"unknown problem {name!r}{did_you_mean(name, problems)}; choose from {', '.join(problems)} "
            "(`llmopt problems` lists them)"
        )
    return problems[name]


def build_problem(name: str, options: dict[str, Any]) -> Problem:
    """The problem `name` built from its options (keys are `Option.dest`); a bad value is a usage error."""
    try:
        return get_problem(name).from_options(**options)
    except UsageError:  # as it is: it may name settings, which the CLI names as flags
        raise
    except (ValueError, OSError) as error:
        raise UsageError(str(error)) from None
