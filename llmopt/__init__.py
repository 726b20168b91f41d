"""llmopt: large language models as black-box optimizers (OPRO)."""

from __future__ import annotations

from llmopt.backends import LocalBackend, OpenAIBackend, ScriptedBackend, make_backend
from llmopt.baselines import run_baselines
from llmopt.metaprompt import MetaPromptConfig, render
from llmopt.minimize import minimize
from llmopt.opro import OPRO, Ask, OPROConfig, Proposal
from llmopt.problem import Budget, InvalidSolution, Option, Problem, UsageError
from llmopt.result import Counts, Result, Trial, comparison_table

__all__ = [
    "OPRO", "Ask", "Budget", "Counts", "InvalidSolution", "LocalBackend", "MetaPromptConfig", "OPROConfig",
    "OpenAIBackend", "Option", "Problem", "Proposal", "Result", "ScriptedBackend", "Trial", "UsageError",
    "comparison_table", "make_backend", "minimize", "render", "run_baselines",
]
