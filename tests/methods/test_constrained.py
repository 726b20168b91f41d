"""The methods whose libraries take constraints get them the way each library takes them, and each constrained
wrapper is its library called directly on a constrained test case (as in test_library_strength.py): the same
start, budget and seed give the same best feasible value. The rest are ranked by the ledger's Deb rules."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from llmopt import Evaluation
from llmopt.core.feasibility import rank_key
from llmopt.engine.config import OPROConfig
from llmopt.methods import default_methods, methods_for, run_methods, setup_for
from llmopt.problems.numeric import NumericProblem

BUDGET = 40
OPTIMUM = 2 * (1 - 2**-0.5) ** 2  # at (1/sqrt 2, 1/sqrt 2)


def corner(x: np.ndarray) -> float:
    """(x - (1, 1))^2: its minimiser (1, 1) lies outside the unit disc."""
    return float((x[0] - 1) ** 2 + (x[1] - 1) ** 2)


def disc(x: np.ndarray) -> float:
    """The unit disc, in Optuna's convention: x1^2 + x2^2 - 1 <= 0."""
    return float(x[0] ** 2 + x[1] ** 2 - 1)


def problem() -> NumericProblem:
    return NumericProblem(corner, [(-2, 2), (-2, 2)], constraints=disc)


def undeclared() -> NumericProblem:
    """The same problem as the objective itself returns it, its constraints not declared (`constrained` False)."""
    return NumericProblem(lambda x: Evaluation(value=corner(x), constraints=[disc(x)]), [(-2, 2), (-2, 2)])


class Spent(Exception):
    """The direct call's budget is spent."""


class Direct:
    """A problem evaluated as a library called by hand sees it: each new snapped point once, up to the budget."""

    def __init__(self, problem: NumericProblem, budget: int = BUDGET) -> None:
        self.problem, self.budget, self.seen = problem, budget, {}

    def __call__(self, x) -> tuple[float, float]:
        point = self.problem.space.snap(x)
        if point not in self.seen:
            if len(self.seen) >= self.budget:
                raise Spent
            evaluation = self.problem.evaluate(point)
            self.seen[point] = (evaluation.value, float(evaluation.constraints))
        return self.seen[point]

    def best_feasible(self) -> float:
        return min(value for value, c in self.seen.values() if c <= 0)


def wrapped(method: str, seed: int, budget: int = BUDGET, p: NumericProblem | None = None) -> float:
    p = p or problem()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = run_methods(p, setup_for(p, OPROConfig(max_evals=budget, seed=seed)), [method])[0]
    assert result.constrained and result.counts.feasible > 0
    return result.best_value


SCIPY = {
    "cobyqa": ("COBYQA", {"maxfev": 10 * BUDGET}),
    "cobyla": ("COBYLA", {"maxiter": 10 * BUDGET}),
    "slsqp": ("SLSQP", {"maxiter": 10 * BUDGET, "eps": 1e-3}),
}


@pytest.mark.parametrize("name", SCIPY)
def test_scipy_constrained_methods_are_scipy_minimize_called_directly(name: str) -> None:
    method, options = SCIPY[name]
    for seed in (0, 1):
        direct = scipy_direct(method, options, seed)
        assert wrapped(name, seed) == pytest.approx(direct.best_feasible(), rel=1e-9)
        assert direct.best_feasible() == pytest.approx(OPTIMUM, abs=1e-3)  # the library does solve it


def scipy_direct(method: str, options: dict, seed: int) -> Direct:
    """scipy's minimize from the best start point by Deb's rules, the constraint as scipy's 'ineq' (-c >= 0)."""
    from scipy import optimize

    p = problem()
    direct = Direct(p)
    starts = setup_for(p, OPROConfig(max_evals=BUDGET, seed=seed)).starts
    x0 = min(starts, key=lambda s: rank_key(direct(s)[0], [direct(s)[1]], "min"))
    ineq = {"type": "ineq", "fun": lambda x: -direct(x)[1]}
    try:
        optimize.minimize(
            lambda x: direct(x)[0], x0, method=method, bounds=p.space.bounds, constraints=[ineq], options=options
        )
    except Spent:
        pass
    return direct


def test_differential_evolution_gets_a_nonlinear_constraint_as_scipy_takes_it() -> None:
    from scipy import optimize

    p, seed = problem(), 3
    direct = Direct(p)
    try:
        optimize.differential_evolution(
            lambda x: direct(x)[0],
            optimize.Bounds(p.space.lows, p.space.highs),
            seed=seed,
            maxiter=10**6,
            tol=0,
            polish=False,
            popsize=max(2, min(15, BUDGET // 10)),
            updating="deferred",
            workers=map,
            constraints=optimize.NonlinearConstraint(lambda x: direct(x)[1], -np.inf, 0.0),
        )
    except Spent:
        pass
    assert wrapped("differential-evolution", seed) == pytest.approx(direct.best_feasible(), rel=1e-9)


@pytest.mark.parametrize("declared", [True, False], ids=["declared", "returned"])
def test_optuna_tpe_gets_constraints_func_as_optuna_documents_it(declared: bool) -> None:
    """Declared or only returned by the objective, the constraints reach TPE's `constraints_func` alike."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    p, seed = problem(), 4  # a seed where TPE with Deb's penalty instead ends elsewhere (1.18, not 0.33)
    direct = Direct(p)

    def objective(trial) -> float:
        value, c = direct([trial.suggest_float(f"x{i}", lo, hi) for i, (lo, hi) in enumerate(p.space.bounds)])
        trial.set_user_attr("c", [c])
        return value

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Optuna 5 calls constraints_func deprecated, in favour of set_constraint
        sampler = optuna.samplers.TPESampler(seed=seed, multivariate=True, constraints_func=lambda t: t.user_attrs["c"])
        optuna.create_study(sampler=sampler).optimize(objective, n_trials=BUDGET)
    assert not undeclared().constrained
    chosen = wrapped("optuna-tpe", seed, p=problem() if declared else undeclared())
    assert chosen == pytest.approx(direct.best_feasible(), rel=1e-9)


def test_nevergrad_gets_constraint_violation_on_tell() -> None:
    import nevergrad as ng

    p, seed = problem(), 1
    direct = Direct(p)
    box = ng.p.Array(shape=(2,), lower=p.space.lows, upper=p.space.highs)
    box.random_state = np.random.RandomState(seed)
    chosen = ng.optimizers.registry["NGOpt"](parametrization=box, budget=BUDGET)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        worst_feasible = None
        for _ in range(BUDGET):
            candidate = chosen.ask()
            value, c = direct(candidate.value)
            if c <= 0:
                worst_feasible = value if worst_feasible is None else max(worst_feasible, value)
            loss = value if c <= 0 else (worst_feasible or 0.0) + c  # Deb's penalty, as the wrapper tells it
            chosen.tell(candidate, loss, constraint_violation=[c])
    assert wrapped("nevergrad-ngopt", seed) == pytest.approx(direct.best_feasible(), rel=1e-9)


def test_a_constrained_problem_adds_cobyqa_and_slsqp_to_the_box_defaults() -> None:
    unconstrained = NumericProblem(corner, [(-2, 2), (-2, 2)])
    assert "cobyqa" not in default_methods(unconstrained) and "slsqp" not in default_methods(unconstrained)
    assert {"cobyqa", "cobyla", "slsqp"} <= set(methods_for(unconstrained))  # by name
    assert {"cobyqa", "slsqp"} <= set(default_methods(problem()))
    assert problem().constrained and not unconstrained.constrained


def test_debs_penalty_puts_every_feasible_point_ahead_whatever_the_order_they_came_in() -> None:
    from llmopt.core.result import Result
    from llmopt.methods.classical.base import Objective

    p = problem()
    objective = Objective.on_terms(p, setup_for(p, OPROConfig(max_evals=10)), Result("m", "p", "min"))
    first_infeasible = objective((0.8, 0.8))  # violation 0.28, before any feasible point: seen as 0.28
    feasible = objective((-0.5, -0.5))  # 4.5, feasible
    assert first_infeasible == pytest.approx(0.28) and feasible == pytest.approx(4.5)
    assert objective((0.8, 0.8)) == pytest.approx(4.5 + 0.28), "asked again, it stands behind every feasible point"


def test_constraint_values_beyond_the_count_scipy_was_given_are_folded_in_never_dropped() -> None:
    """scipy needs a fixed number of constraints, fixed at the first call; a later point that gives more has
    the worst of the extra ones in the last place, so an extra violated one still makes the point infeasible."""
    from llmopt.methods.classical.base import fitted

    assert fitted((-1.0,), 3).tolist() == [-1.0, 0.0, 0.0]
    assert fitted((-1.0, -2.0, 0.5), 2).tolist() == [-1.0, 0.5]
    assert fitted((0.25, -2.0, -3.0), 1).tolist() == [0.25]
    assert fitted((-1.0, -2.0), 2).tolist() == [-1.0, -2.0]


def test_a_library_reads_a_fixed_number_of_constraints_zeros_for_a_point_without_any() -> None:
    """`constraints_of` fixes the number at its first call (at least one), pads a point that gave fewer or none
    with met ones and folds the worst of any extra ones into the last place."""
    from llmopt.contract.problem import new_result
    from llmopt.methods import Objective, Setup
    from llmopt.methods.classical.base import constraints_of

    def fun(x: np.ndarray) -> Evaluation:
        return Evaluation(value=float(x[0]), constraints=[-1.0, float(x[0])] if x[0] > 0 else None)

    p = NumericProblem(fun, [(-1, 1)])
    f = Objective.on_terms(p, Setup(max_evals=5), new_result(p, "test", "black-box"))
    read = constraints_of(f)
    f.batch([(-0.5,)])
    assert read((-0.5,)).tolist() == [0.0], "no constraints yet: one place, met"
    f.batch([(0.5,)])
    assert read((0.5,)).tolist() == [0.5] and read((-0.5,)).tolist() == [0.0], "two folded into the one place"
