"""`llmopt.minimize` and `llmopt.maximize`: the scipy-style front doors for a user's function."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from llmopt.backends import make_backend
from llmopt.backends.base import Backend
from llmopt.contract.constraints import from_scipy
from llmopt.contract.problem import Problem
from llmopt.contract.spaces import Bits, Permutation, parse_space
from llmopt.core.result import Result
from llmopt.engine.config import RunConfig, evaluation_budget
from llmopt.methods.model.opro import OPRO


def minimize(
    fun: Callable[[np.ndarray], float],
    bounds: Sequence[tuple[float, float]] | None = None,
    *,
    space: str | Bits | Permutation | None = None,
    model: str | Backend | None = None,
    base_url: str | None = None,
    steps: int = RunConfig.steps,
    proposals: int = RunConfig.proposals,
    seed: int = RunConfig.seed,
    integer: bool = False,
    initial: int = RunConfig.initial,
    max_evals: int | None = None,
    target: float | None = None,
    maximize: bool = False,
    constraints: Any = None,
    directions: Sequence[str] | None = None,
    reference: Sequence[float] | None = None,
) -> Result:
    """Minimise `fun` with OPRO, like `scipy.optimize.minimize`: over the box `bounds`, or over `space`
    ("bits:N", "permutation:N", or a Bits or Permutation space), `fun` receiving a numpy array.

    `constraints` takes scipy's forms: a dict `{'type': 'ineq' | 'eq', 'fun': g, 'args': (...)}` (an 'ineq'
    is met where g(x) >= 0, an 'eq' where |h(x)| <= `EQ_TOLERANCE`, 1e-3), a `NonlinearConstraint` or
    `LinearConstraint` (lb <= fun(x) <= ub), or a list of them. They become constraint values in Optuna's
    convention (`llmopt.contract.constraints.from_scipy`), and the Result's best is its best feasible point
    (none, `result.no_feasible`, when no point met them all).

    `model` is 'local' (the embedded model, default), a model name on an OpenAI-compatible server
    (with `base_url`), or any Backend object. The run spends at most `evaluation_budget` evaluations.
    `maximize=True` maximises `fun` instead (as `llmopt.maximize` does): the model sees its true values.
    With `directions` (one "min" or "max" per objective) `fun` returns one value per objective, and
    `result.front()` is the Pareto front found, `result.fun` its hypervolume against `reference`."""
    from llmopt.contract.registry import get_problem

    if (bounds is None) == (space is None):
        raise ValueError("give minimize() either bounds (a box) or a space, not both and not neither")
    space = parse_space(space) if isinstance(space, str) else space
    # each problem class takes its own arguments: the registry's type[Problem] cannot say which
    function_problem: Callable[..., Problem] = get_problem("function")
    label = getattr(fun, "__name__", "f")
    goal = {"maximize": maximize, "directions": directions, "reference": reference}
    scipy = {"constraints": None if constraints is None else from_scipy(constraints), "constraints_label": "scipy"}
    problem = function_problem(fun, bounds, integer=integer, label=label, space=space, **goal, **scipy)
    backend = (
        model if model is not None and not isinstance(model, str) else make_backend(model or "local", base_url=base_url)
    )
    config = RunConfig(steps=steps, proposals=proposals, seed=seed, initial=initial, max_evals=max_evals, target=target)
    config = dataclasses.replace(config, max_evals=evaluation_budget(config))
    return OPRO(problem, backend, config).run()


def maximize(
    fun: Callable[[np.ndarray], float], bounds: Sequence[tuple[float, float]] | None = None, **options: Any
) -> Result:
    """Maximise `fun` with OPRO: `minimize(fun, bounds, ..., maximize=True)`, the model seeing the values
    as they are, with "higher is better"."""
    return minimize(fun, bounds, **options, maximize=True)
