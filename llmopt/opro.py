"""OPRO, the method a comparison is about: `OPRO(...)`, a driver that runs it, with its settings `OPROConfig`
(the proposer itself lives with the other model-driven methods, in `llmopt.methods.model.opro`)."""

from __future__ import annotations

from llmopt.engine.config import OPROConfig, evaluation_budget
from llmopt.methods.model.opro import METHODS, NAME, OPRO, READS, RECORD_KEY, SETTINGS, OPROProposer, methods

__all__ = [
    "METHODS",
    "NAME",
    "OPRO",
    "OPROConfig",
    "OPROProposer",
    "READS",
    "RECORD_KEY",
    "SETTINGS",
    "evaluation_budget",
    "methods",
]
