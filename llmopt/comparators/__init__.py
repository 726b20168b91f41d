"""The comparator registry: every method a problem can be compared with, by the space it declares.

OPRO comes first; black-box methods are written once per solution space and see only the objective;
ablations are OPRO with another meta-prompt; LMX and EvoPrompt are further proposers on the driver;
references are the problem's own white-box methods.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any, Callable

import numpy as np

from llmopt import opro
from llmopt.comparators import ablations, bits, box, library, lmx, permutation, text
from llmopt.comparators.base import Method, Objective, Setup, Stop, black_box, reference
from llmopt.comparators.store import ResultStore
from llmopt.errors import UsageError, did_you_mean
from llmopt.problem import Problem
from llmopt.result import Result
from llmopt.spaces import Bits, Box, Permutation, Space, Text

if TYPE_CHECKING:
    from llmopt.backends.base import Backend
    from llmopt.opro import OPROConfig

__all__ = ["Method", "Stop", "Objective", "ResultStore", "Setup", "black_box", "compared_methods",
           "methods_for", "reference", "resolve", "run_methods", "setup_for", "SPACE_METHODS"]

SPACE_METHODS: dict[type[Space], Callable[[Any], dict[str, Method]]] = {
    Box: lambda space: {**box.methods(space), **library.box_methods(space)}, Permutation: permutation.methods,
    Bits: lambda space: {**bits.methods(space), **library.bits_methods(space)}, Text: text.methods}


# The black-box methods a comparison runs when none are named: the strongest at OPRO's budgets (50 and
# 100 evaluations) by median gap in benchmarks/baselines.py (the README has the table). Every other
# method of the space is there by name.
SPACE_DEFAULTS: dict[type[Space], tuple[str, ...]] = {
    Box: ("powell", "gp-bo", "nevergrad-ngopt", "optuna-tpe", "nelder-mead", "random-search"),
    Bits: ("one-plus-one-ea", "simulated-annealing", "nevergrad-ngopt", "optuna-tpe", "random-search"),
    Permutation: ("local-search", "genetic-algorithm", "random-orderings"),
}


def _space_methods(space: Space | None) -> dict[str, Method]:
    for cls in type(space).__mro__:
        if cls in SPACE_METHODS:
            found = SPACE_METHODS[cls](space)
            if cls not in SPACE_DEFAULTS:
                return found
            return {name: dataclasses.replace(method, default=name in SPACE_DEFAULTS[cls])
                    for name, method in found.items()}
    return {}


def methods_for(problem: Problem) -> dict[str, Method]:
    """Every method available for `problem`: OPRO, its space's black-box methods, ablations, its references."""
    found = {**opro.methods(), **ablations.methods(), **_space_methods(problem.space),
             **(lmx.methods(problem.space) if problem.space is not None else {})}
    found.update({name: reference(name, solve) for name, solve in problem.references().items()})
    return found


def default_methods(problem: Problem) -> list[str]:
    """The methods a comparison runs when none are named."""
    return [name for name, method in methods_for(problem).items() if method.default]


def compared_methods(problem: Problem) -> list[str]:
    """The default methods but the one under study (OPRO): what `llmopt baselines` runs."""
    found = methods_for(problem)
    return [name for name in default_methods(problem) if not found[name].under_study]


def resolve(problem: Problem, names: list[str] | None = None, label: str | None = None) -> list[Method]:
    """The named methods (the defaults when None); an unknown name is a usage error listing the choices
    (for the task `label`, the problem's name unless given)."""
    available = methods_for(problem)
    names = default_methods(problem) if names is None else names
    unknown = [name for name in names if name not in available]
    if unknown:
        hint = did_you_mean(unknown[0], available)
        raise UsageError(f"unknown method {', '.join(unknown)}{hint} for {label or problem.name}; "
                         f"choose from {', '.join(available)}")
    return [available[name] for name in names]


def run_methods(problem: Problem, setup: Setup, names: list[str] | None = None,
                store: ResultStore | None = None) -> list[Result]:
    """Run the named methods (the compared ones when None), each under the same Setup.

    With a `store`, a method that samples no model replays its stored Result for the same task,
    Setup and method code instead of running again.
    """
    from llmopt.comparison import _run

    names = compared_methods(problem) if names is None else names
    return [_run(method, problem, setup, store) for method in resolve(problem, names)]


def setup_for(problem: Problem, config: OPROConfig, backend: Backend | None = None) -> Setup:
    """The Setup of a comparison with an OPRO run of `config`: its budget, seed and initial points."""
    from llmopt.driver import evaluation_of

    starts = tuple(problem.initial(np.random.default_rng(config.seed), config.initial))
    return Setup(config.evaluation_budget(), config.seed, starts, backend, config, config.target,
                 config.max_failures, config.timeout, evaluation_of(config))
