"""The field's own low-budget optimizers as black-box methods: Optuna's TPE, Nevergrad's NGOpt and Gaussian-
process Bayesian optimisation (Nevergrad's `BO`, which wraps the `bayesian-optimization` package and
scikit-learn's GP), each driven through its ask/tell interface and written once per space; and for several
objectives Optuna's NSGA-II and multi-objective TPE (a permutation reaches NSGA-II as random keys).

Each sees the problem only through the budgeted Objective, is seeded from the Setup, and evaluates only
what the space snaps a library's point to: never a point outside the box, never a fraction of an integer.
Each starts from its own initial design, as its documentation shows, not from the shared start points (see
`nevergrad` for what each way measured): a library row is the library called by hand.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np

from llmopt.contract.spaces import Bits, Box, Permutation, Tour
from llmopt.core.direction import OptunaDirection, to_optuna
from llmopt.methods.classical.base import Method, Methods, Objective, Setup, black_box, constraints_of


@contextmanager
def _quiet() -> Iterator[None]:
    """The libraries warn about experimental options, constant losses and failures standing in as infinity."""
    import logging

    logger = logging.getLogger("optuna")
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        logger.setLevel(level)


# -- Optuna ------------------------------------------------------------------------------------


def _optuna_box(space: Box) -> dict[str, Any]:
    from optuna.distributions import FloatDistribution, IntDistribution

    if space.integer:
        return {f"x{i}": IntDistribution(int(lo), int(hi)) for i, (lo, hi) in enumerate(space.bounds)}
    return {f"x{i}": FloatDistribution(lo, hi) for i, (lo, hi) in enumerate(space.bounds)}


def _optuna_bits(space: Bits) -> dict[str, Any]:
    from optuna.distributions import CategoricalDistribution

    return {f"b{i}": CategoricalDistribution([0, 1]) for i in range(space.n)}


def _placed(space: Permutation) -> list[int]:
    """The items a tour orders (all but the fixed start)."""
    return [item for item in range(space.n) if item != space.start]


def _optuna_keys(space: Permutation) -> dict[str, Any]:
    """Random keys (Bean's encoding): one float in [0, 1] per item a tour orders."""
    from optuna.distributions import FloatDistribution

    return {f"k{item}": FloatDistribution(0.0, 1.0) for item in _placed(space)}


def ordering(space: Permutation, keys: Sequence[float]) -> Tour:
    """The tour random keys stand for: the fixed start (if any), then the other items by ascending key."""
    head = () if space.start is None else (space.start,)
    placed = _placed(space)
    return head + tuple(placed[int(i)] for i in np.argsort(np.asarray(keys, dtype=float), kind="stable"))


def _snapped(space: Any, numbers: Sequence[float]) -> Any:
    """The solution a library's numbers stand for: a permutation's ordering, else the space's snapped point."""
    return ordering(space, numbers) if isinstance(space, Permutation) else space.snap(numbers)


MakeSampler = Callable[[Objective, Setup, Any], Any]  # (objective, setup, constraints_func) -> a sampler


def tpe_sampler(f: Objective, setup: Setup, constraints_func: Any) -> Any:
    """Optuna's multivariate TPE (the `optuna-tpe` row of one objective); with several evaluations at once the
    running trials are lied about (`constant_liar`)."""
    import optuna

    return optuna.samplers.TPESampler(
        seed=setup.seed, multivariate=True, constant_liar=f.workers > 1, constraints_func=constraints_func
    )


# NSGA-II's population: 20, not Optuna's default 50, which leaves it at most three generations at OPRO's budgets;
# on ZDT1 (30-D and 5-D, 100 and 200 evaluations, 5 seeds; benchmarks/multiobjective_opponents.py, both through
# this wrapper) 20 had the higher median hypervolume in all four (x1.030-1.079 of random search's, against
# x0.992-1.039 with 50).
NSGA2_POPULATION = 20


def nsga2_sampler(f: Objective, setup: Setup, constraints_func: Any) -> Any:
    """Optuna's NSGA-II, its population `NSGA2_POPULATION`, its other settings its own defaults."""
    import optuna

    return optuna.samplers.NSGAIISampler(
        seed=setup.seed, population_size=NSGA2_POPULATION, constraints_func=constraints_func
    )


# MOTPE's `multivariate`: Optuna's default (None: independent with several objectives), not True as `optuna-tpe`
# has it; on ZDT1 as above the independent one had the higher median hypervolume in all four (x1.058-1.099 of
# random search's, against x1.008-1.076 multivariate).
MOTPE_MULTIVARIATE: bool | None = None


def motpe_sampler(f: Objective, setup: Setup, constraints_func: Any) -> Any:
    """Optuna's TPE on a study of several objectives (its multi-objective TPE), with its own defaults
    (`MOTPE_MULTIVARIATE`); with several evaluations at once the running trials are lied about (`constant_liar`)."""
    import optuna

    return optuna.samplers.TPESampler(
        seed=setup.seed, multivariate=MOTPE_MULTIVARIATE, constant_liar=f.workers > 1, constraints_func=constraints_func
    )


def optuna_study(
    make: MakeSampler, distributions: Callable[[Any], dict[str, Any]]
) -> Callable[[Any, Objective, Setup], None]:
    """An Optuna sampler on a study with the problem's directions (`create_study(directions=[...])`, one or
    several), told each point's values as the problem gives them (no penalty), from its own start-up trials
    (see `nevergrad` for why no library method takes the shared start points); with several evaluations at
    once it asks that many trials per round. The sampler always gets `constraints_func`, which reads the
    constraint values the objective returned for the trial's point, declared (`problem.constrained`) or not
    (`constraints_of`: zeros for a point without any)."""

    def search(space: Any, f: Objective, setup: Setup) -> None:
        import optuna

        with _quiet():
            params = distributions(space)

            def solution(trial: Any) -> Any:
                return _snapped(space, [trial.params[name] for name in params])

            constraints = constraints_of(f)
            sampler = make(f, setup, lambda trial: constraints(solution(trial)).tolist())
            study = optuna.create_study(sampler=sampler, directions=_directions(f.problem))
            while True:
                trials = [study.ask(params) for _ in range(f.workers)]
                for trial, values in zip(trials, f.values([solution(trial) for trial in trials])):
                    _tell(study, trial, values)

    return search


def _directions(problem: Any) -> list[OptunaDirection]:
    """The problem's directions as Optuna's (one or several)."""
    return [to_optuna(d) for d in problem.directions or (problem.direction,)]


def _tell(study: Any, trial: Any, values: tuple[float, ...]) -> None:
    """Tell Optuna a trial's values (a failed evaluation, whose values are infinite, as a failed trial)."""
    from optuna.trial import TrialState

    finite = all(math.isfinite(v) for v in values)
    study.tell(trial, list(values) if finite else None, state=TrialState.COMPLETE if finite else TrialState.FAIL)


def multiobjective_methods(distributions: Callable[[Any], dict[str, Any]], tpe: bool = True) -> dict[str, Method]:
    """Optuna's NSGA-II and (with `tpe`) its multi-objective TPE over the space's variables."""
    searches = {"optuna-nsga2": optuna_study(nsga2_sampler, distributions)}
    if tpe:
        searches["optuna-motpe"] = optuna_study(motpe_sampler, distributions)
    return {name: black_box(name, search, multiobjective=True) for name, search in searches.items()}


# -- Nevergrad ---------------------------------------------------------------------------------


def _nevergrad_box(space: Box, setup: Setup) -> Any:
    """The box as Nevergrad's documentation builds one (`lower`, `upper`), which scales the step size to
    the box; measured on BBOB in 5-D at 100 evaluations over 25 seeds with the shared start points
    (median gap): Rosenbrock 4.5 against 98 for `Array(init=centre).set_bounds`, whose step size is 1
    whatever the box, sphere 5e-8 against 2e-7, rotated Rastrigin and Schwefel within 10 %."""
    import nevergrad as ng

    variable = ng.p.Array(shape=(space.dim,), lower=space.lows, upper=space.highs)
    if space.integer:
        variable.set_integer_casting()
    variable.random_state = np.random.RandomState(setup.seed)
    return variable


def _nevergrad_bits(space: Bits, setup: Setup) -> Any:
    """Bits as integers in [0, 1]: Nevergrad's discrete (1+1) family mutates these directly; measured here
    (benchmarks/baselines.py's bit problems), a `Choice` of {0, 1} per bit ranked last of ten variants."""
    import nevergrad as ng

    variable = ng.p.Array(shape=(space.n,), lower=0, upper=1).set_integer_casting()
    variable.random_state = np.random.RandomState(setup.seed)
    return variable


def nevergrad(optimizer: str, parametrization: Callable[[Any, Setup], Any]) -> Callable[[Any, Objective, Setup], None]:
    """A Nevergrad optimizer by name, its budget the Objective's and its `num_workers` the evaluations that
    run at once (one round asks that many), built as Nevergrad's documentation builds one: it starts from its
    own initial design, not the shared start points, as every library method does. Suggesting them first made
    NGOpt worse on 12 of 18 BBOB (function, dimension) pairs and better on 3 (f1, f8, f10, f15, f20, f21 in 2, 5,
    10-D, 5 instances x 2 seeds, 100 evaluations, median gap) and BO worse on 4 of 6 in 2-D; for Optuna's TPE
    they were better on 6 of 12 BBOB pairs and worse on 2, but worse on the moved sphere and Rastrigin in 5-D
    (tests/methods/test_library_strength.py): no gain worth a library that is not the library.

    For a constrained problem each `tell` gives Nevergrad's `constraint_violation` (the constraint values, > 0
    violated), which Nevergrad turns into its own penalty, and the loss with Deb's penalty on an infeasible
    point: Nevergrad's penalty is no penalty for the first half of the budget on negative losses (any
    maximisation problem), where Deb's keeps every feasible point ahead of every infeasible one."""

    def search(space: Any, f: Objective, setup: Setup) -> None:
        import nevergrad as ng

        with _quiet():
            variable = parametrization(space, setup)
            chosen = ng.optimizers.registry[optimizer](
                parametrization=variable, budget=f.max_evals, num_workers=f.workers
            )
            while True:
                candidates = [chosen.ask() for _ in range(f.workers)]
                points = [space.snap(c.value) for c in candidates]
                losses = f.losses(points)  # Deb's penalty on an infeasible point, feasible ones as they are
                for candidate, point, loss in zip(candidates, points, losses):
                    said = f.constraints(point) if f.problem.constrained else None
                    chosen.tell(candidate, loss, constraint_violation=list(said) if said else None)

    return search


def box_methods(space: Box) -> dict[str, Method]:
    """Optuna's TPE, Nevergrad's NGOpt and GP Bayesian optimisation for a box; NSGA-II and multi-objective TPE."""
    return {
        "optuna-tpe": black_box("optuna-tpe", optuna_study(tpe_sampler, _optuna_box)),
        "nevergrad-ngopt": black_box("nevergrad-ngopt", nevergrad("NGOpt", _nevergrad_box)),
        "gp-bo": black_box("gp-bo", nevergrad("BO", _nevergrad_box)),
        **multiobjective_methods(_optuna_box),
    }


def bits_methods(space: Bits) -> dict[str, Method]:
    """Optuna's TPE and Nevergrad's NGOpt (which picks its discrete optimizer for the budget) for bit vectors;
    NSGA-II and multi-objective TPE."""
    return {
        "optuna-tpe": black_box("optuna-tpe", optuna_study(tpe_sampler, _optuna_bits)),
        "nevergrad-ngopt": black_box("nevergrad-ngopt", nevergrad("NGOpt", _nevergrad_bits)),
        **multiobjective_methods(_optuna_bits),
    }


def methods(space: Any) -> dict[str, Method]:
    """The library methods for a box or bit vectors; NSGA-II over random keys for a permutation (none for
    other spaces)."""
    if isinstance(space, Box):
        return box_methods(space)
    if isinstance(space, Permutation):
        return multiobjective_methods(_optuna_keys, tpe=False)
    return bits_methods(space) if isinstance(space, Bits) else {}


METHODS = Methods(methods, rank=30)
