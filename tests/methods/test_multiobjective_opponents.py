"""The black-box opponents of a problem with several objectives: the Objective gives each point's values,
Optuna's NSGA-II and multi-objective TPE rows are Optuna called as its documentation shows (the same seed,
budget and points, on ZDT1 and a three-objective DTLZ2), constraints reach Optuna's `constraints_func`, and
random search's front is a front."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

from llmopt import Evaluation
from llmopt.contract.problem import new_result
from llmopt.contract.registry import build_problem
from llmopt.contract.spaces import Permutation
from llmopt.core.pareto import nondominated
from llmopt.engine.config import OPROConfig
from llmopt.methods import Objective, Setup, default_methods, methods_for, run_methods, setup_for
from llmopt.methods.classical.library import ordering
from llmopt.problems.numeric import NumericProblem

# NSGA-II's first generation (its population, 20) is random: its budget reaches the third.
BUDGET = {"optuna-nsga2": 50, "optuna-motpe": 40, "random-search": 40}


def dtlz2(x: np.ndarray) -> tuple[float, float, float]:
    """DTLZ2 with three objectives: its front is the positive octant of the unit sphere."""
    g = float(np.sum((x[2:] - 0.5) ** 2))
    a, b = x[0] * math.pi / 2, x[1] * math.pi / 2
    return (1 + g) * math.cos(a) * math.cos(b), (1 + g) * math.cos(a) * math.sin(b), (1 + g) * math.sin(a)


def zdt1() -> NumericProblem:
    return build_problem("zdt1", {"dim": 5})


def dtlz2_problem() -> NumericProblem:
    return NumericProblem(dtlz2, [(0.0, 1.0)] * 6, directions=("min",) * 3, reference=(2.5,) * 3)


def constrained_zdt1() -> NumericProblem:
    """ZDT1 in 3-D where only f1 <= 0.5 is feasible (c = x1 - 0.5 <= 0)."""
    fun = build_problem("zdt1", {"dim": 3}).fun
    return NumericProblem(fun, [(0.0, 1.0)] * 3, directions=("min", "min"), reference=(11, 11), constraints=cut)


def cut(x: np.ndarray) -> list[float]:
    return [float(x[0]) - 0.5]


def returned_zdt1() -> NumericProblem:
    """`constrained_zdt1` as the objective itself returns it (`Evaluation(values=..., constraints=...)`), its
    constraints not declared."""
    fun = build_problem("zdt1", {"dim": 3}).fun
    return NumericProblem(
        lambda x: Evaluation(values=fun(x), constraints=cut(x)),
        [(0.0, 1.0)] * 3,
        directions=("min", "min"),
        reference=(11, 11),
    )


def sampler(name: str, seed: int, constraints_func=None):
    import optuna

    if name == "optuna-nsga2":
        return optuna.samplers.NSGAIISampler(seed=seed, population_size=20, constraints_func=constraints_func)
    return optuna.samplers.TPESampler(seed=seed, constraints_func=constraints_func)


def direct(problem, name: str, seed: int, constrained: bool = False) -> np.ndarray:
    """The sampler on `create_study(directions=[...])` with `study.optimize`, as Optuna's documentation shows:
    the values of the first BUDGET distinct points, in order (a child equal to its parent, as NSGA-II's
    may be, costs a comparison's method no evaluation)."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    bounds, seen = problem.space.bounds, {}

    def objective(trial) -> tuple[float, ...]:
        x = problem.space.snap([trial.suggest_float(f"x{i}", lo, hi) for i, (lo, hi) in enumerate(bounds)])
        if constrained:
            trial.set_user_attr("c", cut(np.asarray(x)))
        return seen.setdefault(x, problem.fun(np.asarray(x)))

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Optuna 5 calls constraints_func deprecated, in favour of set_constraint
        chosen = sampler(name, seed, (lambda t: t.user_attrs["c"]) if constrained else None)
        study = optuna.create_study(directions=["minimize"] * problem.objectives, sampler=chosen)
        while len(seen) < BUDGET[name]:
            study.optimize(objective, n_trials=1)
    return np.array(list(seen.values()))


def wrapped(problem, name: str, seed: int):
    return run_methods(problem, setup_for(problem, OPROConfig(max_evals=BUDGET[name], seed=seed)), [name])[0]


def evaluated(result) -> np.ndarray:
    return np.array([t.values for t in result.trials if t.eval_index is not None])


@pytest.mark.parametrize("name", ["optuna-nsga2", "optuna-motpe"])
@pytest.mark.parametrize("problem", [zdt1, dtlz2_problem], ids=["zdt1", "dtlz2"])
def test_optunas_multiobjective_samplers_are_optuna_called_directly(name: str, problem) -> None:
    p = problem()
    result = wrapped(p, name, seed=3)
    assert evaluated(result) == pytest.approx(direct(p, name, seed=3), rel=1e-12)
    assert len(evaluated(result)) == BUDGET[name] and result.best_value > 0


def test_constraints_reach_optunas_constraints_func_and_the_front_is_feasible() -> None:
    p = constrained_zdt1()
    result = wrapped(p, "optuna-nsga2", seed=0)
    assert evaluated(result) == pytest.approx(direct(p, "optuna-nsga2", seed=0, constrained=True), rel=1e-12)
    assert not np.allclose(evaluated(result), direct(p, "optuna-nsga2", seed=0))  # the constraints were told
    front = result.front()
    assert front and all(t.values[0] <= 0.5 for t in front)
    assert any(t.values[0] > 0.5 for t in result.trials if t.values)  # infeasible points were tried, left out


@pytest.mark.parametrize("name", ["optuna-nsga2", "optuna-motpe"])
def test_constraints_the_objective_returns_undeclared_reach_constraints_func_too(name: str) -> None:
    """Not declared, the constraints an objective returns reach the sampler as declared ones do: the same
    points as Optuna told them by `constraints_func`, a front of feasible points only."""
    p = returned_zdt1()
    assert not p.constrained
    result = wrapped(p, name, seed=0)
    assert evaluated(result) == pytest.approx(direct(constrained_zdt1(), name, seed=0, constrained=True), rel=1e-12)
    front = result.front()
    assert front and all(t.values[0] <= 0.5 for t in front)


def test_random_search_gives_a_nondominated_front_with_a_positive_hypervolume() -> None:
    result = wrapped(zdt1(), "random-search", seed=1)
    values = [t.values for t in result.front()]
    assert len(values) >= 1 and nondominated(values, ("min", "min")).all()
    assert result.best_value > 0 and result.counts.evals == BUDGET["random-search"]


def test_the_objective_gives_each_points_values_and_the_worst_of_each_for_a_failure() -> None:
    def fun(x: np.ndarray) -> tuple[float, float]:
        if x[0] > 0.9:
            raise RuntimeError("out of range")
        return float(x[0]), float(x[1])

    p = NumericProblem(fun, [(0.0, 1.0)] * 2, directions=("min", "max"), reference=(2, -1))
    f = Objective.on_terms(p, Setup(max_evals=5), new_result(p, "test", "black-box"))
    assert f.batch([(0.25, 0.5), (0.95, 0.5)]) == [(0.25, 0.5), (math.inf, -math.inf)]
    assert f.values([(0.25, 0.5)]) == [(0.25, 0.5)] and f.ledger.fruitless == 1
    with pytest.raises(ValueError, match="one objective"):
        f.losses([(0.25, 0.5)])


def test_the_multiobjective_defaults_and_nsga2_over_random_keys_on_a_permutation() -> None:
    assert set(default_methods(zdt1())) == {"opro", "optuna-nsga2", "optuna-motpe", "random-search"}
    rng = np.random.default_rng(0)
    a, b = rng.random((6, 6)), rng.random((6, 6))

    def lengths(order: np.ndarray) -> tuple[float, float]:
        legs = list(zip(order, np.roll(order, -1)))
        return float(sum(a[i, j] for i, j in legs)), float(sum(b[i, j] for i, j in legs))

    p = NumericProblem(lengths, space=Permutation(6), directions=("min", "min"), reference=(6, 6))
    assert {n for n, m in methods_for(p).items() if m.default} == {"opro", "optuna-nsga2", "random-orderings"}
    result = run_methods(p, Setup(max_evals=20, seed=0), ["optuna-nsga2"])[0]
    assert result.counts.evals == 20 and result.best_value > 0
    assert all(t.solution[0] == 0 and sorted(t.solution) == list(range(6)) for t in result.trials)
    assert ordering(Permutation(4), [0.9, 0.1, 0.5]) == (0, 2, 3, 1)  # the start, then the others by key
