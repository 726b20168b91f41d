"""Black-box methods for boxes of continuous or integer variables, each written once for every box problem."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from llmopt.contract.spaces import DECIMALS, Box
from llmopt.methods.classical.base import (
    Method,
    Methods,
    Objective,
    Search,
    Setup,
    best_start,
    black_box,
    constraints_of,
    random_sampling,
)


def has_cobyqa() -> bool:
    """Whether the installed scipy has COBYQA (1.14 and later), read without importing scipy."""
    from importlib import metadata

    major, minor = (int(part) for part in metadata.version("scipy").split(".")[:2])
    return (major, minor) >= (1, 14)


def _loss(space: Box, f: Objective) -> Callable[[np.ndarray], float]:
    """The search's view of the problem: any real vector, snapped into the box, at the Objective's cost."""
    return lambda x: f.loss(space.snap(x))


def _raw_loss(space: Box, f: Objective) -> Callable[[np.ndarray], float]:
    """The view of a search that takes constraints itself: the loss without Deb's penalty."""
    return lambda x: f.evaluations([space.snap(x)])[0][0]


def _constraint_values(space: Box, f: Objective) -> Callable[[np.ndarray], np.ndarray]:
    """x -> the constraint values (Optuna's convention, c(x) <= 0 met) of the snapped point, from the same
    one evaluation as its value, as many as the first call found (`constraints_of`)."""
    constraints = constraints_of(f)

    def values(x: np.ndarray) -> np.ndarray:
        point = space.snap(x)
        f.evaluations([point])
        return constraints(point)

    return values


def scipy_constrained(method: str, options: Callable[[Objective], dict[str, Any]]) -> Search:
    """scipy's `minimize` with a method that takes constraints (COBYLA, COBYQA, SLSQP) from the best start
    point (Deb's rules), over the box's bounds, the problem's constraints given as scipy's 'ineq' (met where
    -c(x) >= 0) and the objective as it is: a point's value and constraints come from one evaluation."""

    def search(space: Box, f: Objective, setup: Setup) -> None:
        from scipy import optimize

        x0 = np.array(best_start(space, f, setup), dtype=float)
        ineq = _constraint_values(space, f)
        constraints = [{"type": "ineq", "fun": lambda x: -ineq(x)}] if f.constraint_count() else []
        solve: Any = optimize.minimize  # scipy-stubs want a literal method name; this one is chosen at run time
        solve(_raw_loss(space, f), x0, method=method, bounds=space.bounds, constraints=constraints, options=options(f))

    return search


# SLSQP's finite-difference step: ten times the resolution a box's point is written at (DECIMALS places),
# so that a step moves the point the objective sees (scipy's default, 1.5e-8, is rounded away).
SLSQP_STEP = 10.0 ** (1 - DECIMALS)

# The methods whose libraries take constraints, by how their options spend the budget (evaluations).
CONSTRAINED_SEARCHES: dict[str, Search] = {
    "cobyqa": scipy_constrained("COBYQA", lambda f: {"maxfev": 10 * f.max_evals}),
    "cobyla": scipy_constrained("COBYLA", lambda f: {"maxiter": 10 * f.max_evals}),
    "slsqp": scipy_constrained("SLSQP", lambda f: {"maxiter": 10 * f.max_evals, "eps": SLSQP_STEP}),
}


def nelder_mead(space: Box, f: Objective, setup: Setup) -> None:
    """scipy's Nelder-Mead from the best start point, its simplex spanning 5 % of each side (sequential:
    each point depends on the last)."""
    from scipy import optimize

    x0 = np.array(best_start(space, f, setup), dtype=float)
    step = np.maximum(0.05 * (space.highs - space.lows), 1.0 if space.integer else 0.0)
    step = np.where(x0 + step <= space.highs, step, -step)
    simplex = np.vstack([x0, x0 + np.diag(step)])
    optimize.minimize(
        _loss(space, f),
        x0,
        method="Nelder-Mead",
        bounds=space.bounds,
        options={"initial_simplex": simplex, "maxfev": 10 * f.max_evals, "xatol": 1e-10, "fatol": 1e-14},
    )


def powell(space: Box, f: Objective, setup: Setup) -> None:
    """scipy's Powell from the best start point (sequential: each line search depends on the last point)."""
    from scipy import optimize

    x0 = np.array(best_start(space, f, setup), dtype=float)
    optimize.minimize(
        _loss(space, f),
        x0,
        method="Powell",
        bounds=space.bounds,
        options={"maxfev": 10 * f.max_evals, "xtol": 1e-10, "ftol": 1e-14},
    )


def differential_evolution(space: Box, f: Objective, setup: Setup) -> None:
    """scipy's differential evolution, its population sized to the budget; each generation is one round
    (scipy's deferred updating, its `workers` given the Objective's batch). For a constrained problem it
    takes the constraints as scipy's `NonlinearConstraint` (c(x) <= 0) and sees the values themselves;
    scipy then asks each trial point's constraints first, so those points are evaluated one at a time."""
    from scipy import optimize

    constrained = f.problem.constrained

    def generation(_one: object, points: object) -> list[float]:  # scipy's map-like `workers`
        snapped = [space.snap(x) for x in points]  # type: ignore[attr-defined]
        return [loss for loss, _ in f.evaluations(snapped)] if constrained else f.losses(snapped)

    optimize.differential_evolution(
        _raw_loss(space, f) if constrained else _loss(space, f),
        optimize.Bounds(space.lows, space.highs),  # the form scipy-stubs type (scipy takes pairs too)
        seed=setup.seed,
        maxiter=10**6,
        tol=0,
        polish=False,
        popsize=max(2, min(15, f.max_evals // 10)),
        updating="deferred",
        workers=generation,
        constraints=optimize.NonlinearConstraint(_constraint_values(space, f), -np.inf, 0.0) if constrained else (),
    )


def dual_annealing(space: Box, f: Objective, setup: Setup) -> None:
    """scipy's dual annealing (sequential)."""
    from scipy import optimize

    optimize.dual_annealing(_loss(space, f), space.bounds, seed=setup.seed, maxfun=10 * f.max_evals, maxiter=10**6)


def cma_es(space: Box, f: Objective, setup: Setup) -> None:
    """CMA-ES (the `cma` package) from the best start point, step size 30 % of the narrowest side."""
    import cma

    lows, highs = space.lows, space.highs
    x0 = np.array(best_start(space, f, setup), dtype=float)
    sigma = 0.3 * float(np.min(highs - lows))
    if space.dim == 1:  # CMA-ES needs two dimensions; optimise a dummy second one
        x0, lows, highs = np.append(x0, 0.0), np.append(lows, -1.0), np.append(highs, 1.0)
    strategy = cma.CMAEvolutionStrategy(
        x0, sigma, {"bounds": [lows.tolist(), highs.tolist()], "seed": setup.seed + 1, "verbose": -9}
    )
    while not strategy.stop():
        candidates = strategy.ask()
        strategy.tell(candidates, f.losses([space.snap(c[: space.dim]) for c in candidates]))  # a generation, one round


def methods(space: Box) -> dict[str, Method]:
    """Every black-box method for a box."""
    searches = {
        "nelder-mead": nelder_mead,
        "powell": powell,
        "differential-evolution": differential_evolution,
        "dual-annealing": dual_annealing,
        "cma-es": cma_es,
        "random-search": random_sampling,
        **{name: search for name, search in CONSTRAINED_SEARCHES.items() if name != "cobyqa" or has_cobyqa()},
    }
    # random sampling needs no ranking: it runs with several objectives too (the floor of their comparisons)
    return {name: black_box(name, search, multiobjective=name == "random-search") for name, search in searches.items()}


METHODS = Methods.of_space(Box, methods, rank=20)
