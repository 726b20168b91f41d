"""llmopt: large language models as black-box optimizers (OPRO)."""

from __future__ import annotations

from llmopt.backends import LocalBackend, OpenAIBackend, ScriptedBackend, make_backend
from llmopt.methods import Method, Setup, compared_methods, methods_for, run_methods, setup_for
from llmopt.comparison import compare
from llmopt.driver import Driver
from llmopt.errors import InvalidSolution, ObjectiveError, UsageError
from llmopt.metaprompt import MetaPromptConfig, render
from llmopt.minimize import maximize, minimize
from llmopt.opro import OPRO, OPROConfig, OPROProposer, evaluation_budget
from llmopt.problem import Option, Problem
from llmopt.proposer import Ask, ModelProposer, Proposal, Proposer
from llmopt.registry import get_problem, registry
from llmopt.result import Counts, Result, Trial
from llmopt.report.tables import comparison_table
from llmopt.spaces import Bits, Box, Permutation, Space, Text
from llmopt.stopping import StopRule

__all__ = [
    "OPRO", "Ask", "Bits", "Box", "Counts", "Driver", "InvalidSolution", "LocalBackend", "MetaPromptConfig",
    "Method", "ModelProposer", "OPROConfig", "ObjectiveError", "OPROProposer", "OpenAIBackend", "Option", "Permutation", "Problem",
    "Proposal", "Proposer", "Result", "ScriptedBackend", "Setup", "Space", "StopRule", "Text", "Trial",
    "UsageError", "compare", "compared_methods", "comparison_table", "evaluation_budget", "get_problem", "make_backend",
    "maximize", "methods_for", "minimize", "registry", "render", "run_methods", "setup_for",
]
