"""llmopt: large language models as black-box optimizers (OPRO)."""

from __future__ import annotations

from llmopt.backends import BackendSpec, LocalBackend, OpenAIBackend, ScriptedBackend, make_backend
from llmopt.contract.evaluation import Evaluation
from llmopt.contract.problem import Option, Problem
from llmopt.contract.registry import get_problem, registry
from llmopt.contract.spaces import Bits, Box, Permutation, Space, Text
from llmopt.core.errors import InvalidSolution, ObjectiveError, UsageError
from llmopt.core.result import Counts, Result, Trial
from llmopt.engine.config import MetaPromptConfig
from llmopt.engine.driver import Driver
from llmopt.engine.proposer import Ask, Proposal, Proposer
from llmopt.engine.stopping import StopRule
from llmopt.methods import Method, Setup, compared_methods, methods_for, run_methods, setup_for
from llmopt.methods.comparison import compare
from llmopt.methods.model.metaprompt import render
from llmopt.methods.model.proposer import ModelProposer
from llmopt.minimize import maximize, minimize
from llmopt.opro import OPRO, OPROConfig, OPROProposer, RunConfig, evaluation_budget
from llmopt.report.tables import comparison_table

__all__ = [
    "OPRO",
    "Ask",
    "BackendSpec",
    "Bits",
    "Box",
    "Counts",
    "Driver",
    "Evaluation",
    "InvalidSolution",
    "LocalBackend",
    "MetaPromptConfig",
    "Method",
    "ModelProposer",
    "OPROConfig",
    "ObjectiveError",
    "OPROProposer",
    "OpenAIBackend",
    "Option",
    "Permutation",
    "Problem",
    "Proposal",
    "Proposer",
    "Result",
    "RunConfig",
    "ScriptedBackend",
    "Setup",
    "Space",
    "StopRule",
    "Text",
    "Trial",
    "UsageError",
    "compare",
    "compared_methods",
    "comparison_table",
    "evaluation_budget",
    "get_problem",
    "make_backend",
    "maximize",
    "methods_for",
    "minimize",
    "registry",
    "render",
    "run_methods",
    "setup_for",
]
