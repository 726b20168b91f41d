"""llmopt: large language models as black-box optimizers (OPRO)."""

from __future__ import annotations

from llmopt.backends import LocalBackend, OpenAIBackend, ScriptedBackend, make_backend
from llmopt.comparators import Method, Setup, methods_for, run_methods, setup_for
from llmopt.metaprompt import MetaPromptConfig, render
from llmopt.minimize import minimize
from llmopt.opro import OPRO, Ask, OPROConfig, Proposal, evaluation_budget
from llmopt.problem import InvalidSolution, Option, Problem, UsageError
from llmopt.registry import get_problem, registry
from llmopt.result import Counts, Result, Trial, comparison_table
from llmopt.spaces import Bits, Box, Permutation, Space, Text

__all__ = [
    "OPRO", "Ask", "Bits", "Box", "Counts", "InvalidSolution", "LocalBackend", "MetaPromptConfig", "Method",
    "OPROConfig", "OpenAIBackend", "Option", "Permutation", "Problem", "Proposal", "Result", "ScriptedBackend",
    "Setup", "Space", "Text", "Trial", "UsageError", "comparison_table", "evaluation_budget", "get_problem",
    "make_backend", "methods_for", "minimize", "registry", "render", "run_methods", "setup_for",
]
