"""The plugin contract: problems, their spaces, the parsing and grammar helpers their decoders use, the
registry of plugins, and the checks every problem passes (`check_problem`)."""

from __future__ import annotations

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
