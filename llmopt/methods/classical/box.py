"""Black-box methods for boxes of continuous or integer variables, each written once for every box problem."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from llmopt.contract.spaces import Box
from llmopt.methods.classical.base import Method, Methods, Objective, Setup, best_start, black_box, random_sampling


def _loss(space: Box, f: Objective) -> Callable[[np.ndarray], float]:
    """The search's view of the problem: any real vector, snapped into the box, at the Objective's cost."""
    return lambda x: f.loss(space.snap(x))


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
    (scipy's deferred updating, its `workers` given the Objective's batch)."""
    from scipy import optimize

    def generation(_one: object, points: object) -> list[float]:  # scipy's map-like `workers`
        return f.losses([space.snap(x) for x in points])  # type: ignore[attr-defined]

    optimize.differential_evolution(
        _loss(space, f),
        optimize.Bounds(space.lows, space.highs),  # the form scipy-stubs type (scipy takes pairs too)
        seed=setup.seed,
        maxiter=10**6,
        tol=0,
        polish=False,
        popsize=max(2, min(15, f.max_evals // 10)),
        updating="deferred",
        workers=generation,
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
    }
    return {name: black_box(name, search) for name, search in searches.items()}


METHODS = Methods.of_space(Box, methods, rank=20)
