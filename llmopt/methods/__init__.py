"""The methods' registry: every method a problem can be compared with, from the families registered under
the `llmopt.methods` entry-point group (the built-ins too), by the space the problem declares.

OPRO comes first; the model-driven methods (`llmopt.methods.model`: OPRO, its ablations, EvoPrompt, LMX) run
on the driver; the classical ones (`llmopt.methods.classical`) are written once per solution space and see
only the objective; references are the problem's own white-box methods.
"""

from __future__ import annotations

import dataclasses
import warnings
from typing import TYPE_CHECKING

import numpy as np

from llmopt.contract.plugins import builtin_names, entry_points
from llmopt.contract.problem import Problem
from llmopt.contract.spaces import Bits, Box, Permutation, Space
from llmopt.core.errors import UsageError, did_you_mean
from llmopt.core.result import Result
from llmopt.core.settings import Setting
from llmopt.engine.config import RUN_SETTINGS
from llmopt.methods.classical.base import Method, Objective, Setup, Stop, black_box, reference
from llmopt.methods.method import Methods, run_method
from llmopt.methods.store import ResultStore

if TYPE_CHECKING:
    from llmopt.backends.base import Backend
    from llmopt.engine.config import RunConfig

__all__ = [
    "Method",
    "Stop",
    "Objective",
    "ResultStore",
    "Setup",
    "black_box",
    "compared_methods",
    "methods_for",
    "reference",
    "resolve",
    "run_methods",
    "setup_for",
    "SPACE_DEFAULTS",
    "CONSTRAINED_DEFAULTS",
]

ENTRY_POINT_GROUP = "llmopt.methods"

# The black-box methods a comparison runs when none are named: the strongest at OPRO's budgets (50 and
# 100 evaluations) by median gap in benchmarks/baselines.py on BBOB, PBO and TSP (docs/comparison.md has
# the table). Every other black-box method of the space, a plugin's too, is there by name.
SPACE_DEFAULTS: dict[type[Space], tuple[str, ...]] = {
    Box: ("powell", "gp-bo", "nevergrad-ngopt", "optuna-tpe", "nelder-mead", "random-search"),
    Bits: ("one-plus-one-ea", "simulated-annealing", "nevergrad-ngopt", "optuna-tpe", "random-search"),
    Permutation: ("local-search", "genetic-algorithm", "random-orderings"),
}
# What joins them for a problem that declares constraints (`Problem.constrained`): of each group, the first
# the space has (scipy's COBYQA, or COBYLA on a scipy before 1.14, and SLSQP), whose libraries take constraints.
CONSTRAINED_DEFAULTS: dict[type[Space], tuple[tuple[str, ...], ...]] = {Box: (("cobyqa", "cobyla"), ("slsqp",))}
# The black-box methods a comparison runs on a problem with several objectives (`Problem.directions`), where only
# the methods marked `multiobjective` are available: Optuna's NSGA-II and multi-objective TPE, random search
# as the floor (benchmarks/multiobjective.py).
MULTI_DEFAULTS: dict[type[Space], tuple[str, ...]] = {
    Box: ("optuna-nsga2", "optuna-motpe", "random-search"),
    Bits: ("optuna-nsga2", "optuna-motpe", "random-search"),
    Permutation: ("optuna-nsga2", "random-orderings"),
}


def families() -> dict[str, Methods]:
    """Every registered family of methods (`llmopt.methods` entry points), by rank: the method under study
    first, then the ablations, the classical methods and the other model-driven ones; plugins after."""
    found = entry_points(ENTRY_POINT_GROUP, _is_family, "methods")
    builtin = builtin_names(ENTRY_POINT_GROUP)
    return dict(sorted(found.items(), key=lambda item: (item[0] not in builtin, item[1].rank, item[0])))


def _is_family(loaded: object) -> bool:
    return isinstance(loaded, Methods)


def declared_settings() -> list[Setting]:
    """The run's settings and every family's own, each once: what `llmopt run` makes its flags from."""
    found = {setting.key: setting for setting in RUN_SETTINGS}
    for family in families().values():
        for setting in family.settings:
            found.setdefault(setting.key, setting)
    return list(found.values())


def _defaults(
    space: Space | None, found: dict[str, Method], constrained: bool = False, multiobjective: bool = False
) -> dict[str, Method]:
    """The space's default black-box methods marked as such (the others by name only), with those that take
    constraints when the problem has them; with several objectives, those of `MULTI_DEFAULTS`."""
    defaults = MULTI_DEFAULTS if multiobjective else SPACE_DEFAULTS
    chosen = next((names for cls, names in defaults.items() if isinstance(space, cls)), None)
    if chosen is None:
        return found
    if constrained and not multiobjective:
        groups = next((groups for cls, groups in CONSTRAINED_DEFAULTS.items() if isinstance(space, cls)), ())
        for group in groups:
            chosen += tuple(name for name in group if name in found)[:1]
    return {
        name: dataclasses.replace(method, default=name in chosen) if method.kind == "black-box" else method
        for name, method in found.items()
    }


def methods_for(problem: Problem) -> dict[str, Method]:
    """Every method available for `problem`: OPRO, the ablations, every family's methods for its space, and
    its references. A plugin's methods come after the built-ins, never take a built-in's name, and run by
    name only (the defaults are chosen by benchmark). A problem with several objectives has only the methods
    marked `multiobjective` (no reference: a white-box method finds one solution, not a front)."""
    found = _space_methods(problem)
    if problem.objectives > 1:
        return _defaults(problem.space, {n: m for n, m in found.items() if m.multiobjective}, multiobjective=True)
    found = _defaults(problem.space, found, problem.constrained)
    found.update({name: reference(name, solve) for name, solve in problem.references().items()})
    return found


def _space_methods(problem: Problem) -> dict[str, Method]:
    """Every family's methods for the problem's space, the built-ins first."""
    found: dict[str, Method] = {}
    builtin = builtin_names(ENTRY_POINT_GROUP)
    for family_name, family in families().items():  # the built-ins first: a plugin never shadows one
        for name, method in family.make(problem.space).items():
            if family_name not in builtin:
                if name in found:
                    warnings.warn(
                        f"skipping method {name!r} of plugin {family_name!r}: its name is taken", stacklevel=2
                    )
                    continue
                method = dataclasses.replace(method, default=False, under_study=False)  # by name only
            found[name] = method  # a later built-in family may refine an earlier one's (text's no-history ablation)
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
    single = [name for name in unknown if problem.objectives > 1 and name in _space_methods(problem)]
    if single:
        raise UsageError(
            f"{', '.join(single)} takes one objective and {label or problem.name} has {problem.objectives}; "
            f"choose from {', '.join(available)}"
        )
    if unknown:
        hint = did_you_mean(unknown[0], available)
        raise UsageError(
            f"unknown method {', '.join(unknown)}{hint} for {label or problem.name}; choose from {', '.join(available)}"
        )
    return [available[name] for name in names]


def run_methods(
    problem: Problem, setup: Setup, names: list[str] | None = None, store: ResultStore | None = None
) -> list[Result]:
    """Run the named methods (the compared ones when None), each under the same Setup.

    With a `store`, a method that samples no model replays its stored Result for the same task,
    Setup and method code instead of running again.
    """
    names = compared_methods(problem) if names is None else names
    return [run_method(method, problem, setup, store) for method in resolve(problem, names)]


def setup_for(problem: Problem, config: RunConfig, backend: Backend | None = None) -> Setup:
    """The Setup of a comparison with an OPRO run of `config`: its budget, seed and initial points."""
    starts = problem.initial(np.random.default_rng(config.seed), config.initial)
    return Setup(config=config, starts=starts, backend=backend)
