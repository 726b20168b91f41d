"""OPRO, the method a comparison is about: `OPRO(...)`, a driver that runs it, with its settings `RunConfig`
(`OPROConfig`, its name before 0.6; the proposer itself lives with the other model-driven methods, in
`llmopt.methods.model.opro`)."""

from __future__ import annotations

from llmopt.engine.config import OPROConfig, RunConfig, evaluation_budget
from llmopt.methods.model.opro import METHODS, NAME, OPRO, READS, RECORD_KEY, SETTINGS, OPROProposer, methods

__all__ = [
    "METHODS",
    "NAME",
    "OPRO",
    "OPROConfig",
    "OPROProposer",
    "READS",
    "RECORD_KEY",
    "RunConfig",
    "SETTINGS",
    "evaluation_budget",
    "methods",
]
