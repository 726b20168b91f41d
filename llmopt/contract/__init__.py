"""The plugin contract: problems, their spaces, the parsing and grammar helpers their decoders use, the
registry of plugins, and the checks every problem passes (`check_problem`)."""

from __future__ import annotations

import importlib
import warnings
from typing import TYPE_CHECKING, Any

from llmopt.contract.checks import (
    CHECKS,
    GARBAGE,
    check_evaluate_is_deterministic,
    check_garbage_is_rejected,
    check_grammar_admits_every_encoding,
    check_initial_is_seeded,
    check_labels,
    check_problem,
    check_round_trip,
)

__all__ = [
    "CHECKS",
    "GARBAGE",
    "check_evaluate_is_deterministic",
    "check_garbage_is_rejected",
    "check_grammar_admits_every_encoding",
    "check_initial_is_seeded",
    "check_labels",
    "check_problem",
    "check_round_trip",
]

if not TYPE_CHECKING:  # so that a type checker still flags a name this package does not have

    def __getattr__(name: str) -> Any:
        """`llmopt.contract.check_method`, as 0.5 had it: now `llmopt.methods.checks.check_method`."""
        if name == "check_method":
            warnings.warn(
                "llmopt.contract.check_method moved to llmopt.methods.checks.check_method; the old name goes in 0.8",
                DeprecationWarning,
                stacklevel=2,
            )
            found = importlib.import_module("llmopt.methods.checks").check_method
            globals()[name] = found  # one warning: `from llmopt.contract import check_method` reads it twice
            return found
        raise AttributeError(f"module 'llmopt.contract' has no attribute {name!r}")
