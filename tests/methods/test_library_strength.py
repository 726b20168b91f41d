"""The library rows are as strong as the libraries called as their documentation shows, on moved and rotated
test functions (so that no search wins by a lucky centre), at the same budget and seeds. Called directly,
a library scores the problem's solutions as llmopt's space writes them (`snap`: inside the box, at its
text's resolution), the objective every method of a comparison sees."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from llmopt.contract.registry import build_problem
from llmopt.engine.config import OPROConfig
from llmopt.methods import run_methods, setup_for

FUNCTIONS = ("sphere", "rosenbrock", "rastrigin")
BUDGET, SEEDS, DIM = 60, (0, 1, 2), 3


def problem_of(name: str):
    return build_problem(name, {"dim": DIM, "integer": False, "shift": 7})


def nevergrad_direct(optimizer: str, problem, seed: int, budget: int = BUDGET) -> float:
    """A Nevergrad optimizer over `Array(shape, lower, upper)` with the budget, asked and told by hand."""
    import nevergrad as ng

    lows, highs = zip(*problem.space.bounds)
    box = ng.p.Array(shape=(len(lows),), lower=np.array(lows), upper=np.array(highs))
    box.random_state = np.random.RandomState(seed)
    chosen = ng.optimizers.registry[optimizer](parametrization=box, budget=budget)
    best = np.inf
    for _ in range(budget):
        candidate = chosen.ask()
        value = problem.evaluate(problem.space.snap(candidate.value))
        chosen.tell(candidate, value)
        best = min(best, value)
    return best


def tpe_direct(problem, seed: int) -> float:
    """Optuna's multivariate TPE with `study.optimize`, as its documentation shows."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(sampler=optuna.samplers.TPESampler(seed=seed, multivariate=True))
    bounds = problem.space.bounds
    study.optimize(
        lambda t: problem.evaluate(
            problem.space.snap([t.suggest_float(f"x{i}", lo, hi) for i, (lo, hi) in enumerate(bounds)])
        ),
        n_trials=BUDGET,
    )
    return study.best_value


def wrapped(problem, method: str, seed: int) -> float:
    setup = setup_for(problem, OPROConfig(max_evals=BUDGET, seed=seed))
    return run_methods(problem, setup, [method])[0].best_value


@pytest.mark.parametrize("name", FUNCTIONS)
def test_nevergrad_ngopt_is_ngopt_called_directly(name: str) -> None:
    problem = problem_of(name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        direct = [nevergrad_direct("NGOpt", problem, seed) for seed in SEEDS]
    assert [wrapped(problem, "nevergrad-ngopt", seed) for seed in SEEDS] == pytest.approx(direct, rel=1e-9)


@pytest.mark.parametrize("name", FUNCTIONS)
def test_optuna_tpe_is_tpe_called_directly(name: str) -> None:
    problem = problem_of(name)
    direct = [tpe_direct(problem, seed) for seed in SEEDS]
    assert [wrapped(problem, "optuna-tpe", seed) for seed in SEEDS] == pytest.approx(direct, rel=1e-9)


def test_gp_bo_is_nevergrads_bo_called_directly() -> None:
    problem = build_problem("rosenbrock", {"dim": 2, "integer": False, "shift": 7})
    setup = setup_for(problem, OPROConfig(max_evals=8, seed=4))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        direct = nevergrad_direct("BO", problem, 4, 8)
    assert run_methods(problem, setup, ["gp-bo"])[0].best_value == pytest.approx(direct, rel=1e-9)
