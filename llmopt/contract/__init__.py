"""The plugin contract: problems, their spaces, the parsing and grammar helpers their decoders use, the
registry of plugins, and the checks every problem passes (`check_problem`)."""

from __future__ import annotations

import importlib
import warnings
from typing import Any

from llmopt.contract.checks import check_problem

__all__ = ["check_problem"]


def __getattr__(name: str) -> Any:
    """`llmopt.contract.check_method`, as 0.5 had it: now `llmopt.methods.checks.check_method`."""
    if name == "check_method":
        warnings.warn(
            "llmopt.contract.check_method moved to llmopt.methods.checks.check_method; the old name goes in 0.7",
            DeprecationWarning,
            stacklevel=2,
        )
        return importlib.import_module("llmopt.methods.checks").check_method
    raise AttributeError(f"module 'llmopt.contract' has no attribute {name!r}")
