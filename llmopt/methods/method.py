"""What a comparison hands every method (a Setup), what a method is (a Method, the model-driven ones
included), how one runs (`run_method`, `crashed`) and what a plugin registers (`Methods`); this module
imports no method, so each registers itself where it is written."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from llmopt.contract.problem import one_line
from llmopt.core.errors import UsageError
from llmopt.core.result import Kind, Result
from llmopt.core.settings import Setting
from llmopt.core.stops import CRASHED, raise_if_unreachable, with_detail
from llmopt.core.stops import EVERY_EVALUATION_FAILED as EVERY_EVALUATION_FAILED  # 0.5 read it from here
from llmopt.engine.config import RunConfig
from llmopt.engine.evaluation import EvalSettings

if TYPE_CHECKING:
    from llmopt.backends.base import Backend
    from llmopt.contract.problem import Problem
    from llmopt.engine.driver import Driver
    from llmopt.engine.journal import Sink
    from llmopt.engine.proposer import Proposer
    from llmopt.engine.stopping import StopRule


def crashed(error: BaseException) -> str:
    """The stop reason of a method that raised: what it raised, in one line."""
    return with_detail(CRASHED, one_line(error))


@dataclass(frozen=True, init=False)
class Setup:
    """The shared terms of a comparison: its run's settings (`config`, a `RunConfig`: the evaluation budget
    `max_evals`, the seed, the target that ends a run early, the failures and seconds a method may spend,
    where evaluations run, and the model-driven methods' own settings), the start points every method may
    begin from (OPRO's initial points), the caller's own stop rules (`stop`, over the ledger) and, for
    model-driven methods, the optimizer model (`backend`).

    `Setup(max_evals=30, seed=1, target=0.0)` sets those terms in the config given (the default one when
    none is; a term left out or None is the config's, an `evaluation` given sets all of where evaluations
    run); `max_evals` is then the config's evaluation budget, so that it is always set. The terms read back
    as properties (`setup.max_evals`, `setup.evaluation`).
    """

    config: RunConfig
    starts: tuple[Any, ...]
    backend: Backend | None
    stop: tuple[StopRule, ...]

    def __init__(
        self,
        max_evals: int | None = None,
        seed: int | None = None,
        starts: Sequence[Any] = (),
        backend: Backend | None = None,
        config: RunConfig | None = None,
        target: float | None = None,
        max_failures: int | None = None,
        timeout: float | None = None,
        evaluation: EvalSettings | None = None,
        stop: Sequence[StopRule] = (),
    ) -> None:
        terms: dict[str, Any] = {"max_evals": max_evals, "seed": seed, "target": target, "max_failures": max_failures}
        terms |= {"timeout": timeout}
        config = dataclasses.replace(config or RunConfig(), **{k: v for k, v in terms.items() if v is not None})
        if evaluation is not None:  # where evaluations run, as a whole
            config = dataclasses.replace(config, **_evaluation_settings(evaluation))
        config = dataclasses.replace(config, max_evals=config.evaluation_budget())  # the budget, always set
        for name, value in (("config", config), ("starts", tuple(starts)), ("backend", backend), ("stop", tuple(stop))):
            object.__setattr__(self, name, value)

    @property
    def max_evals(self) -> int:
        """The evaluation budget of every method."""
        return self.config.evaluation_budget()

    @property
    def seed(self) -> int:
        """The comparison's seed."""
        return self.config.seed

    @property
    def target(self) -> float | None:
        """The value that ends a run once reached (None: none)."""
        return self.config.target

    @property
    def max_failures(self) -> int | None:
        """The failed evaluations a method may have before it stops (None: the budget)."""
        return self.config.max_failures

    @property
    def timeout(self) -> float | None:
        """The seconds a method may spend (None: no limit)."""
        return self.config.timeout

    @property
    def evaluation(self) -> EvalSettings:
        """Where and how many evaluations go at once."""
        return EvalSettings.of(self.config)

    def generator(self, stream: int = 0) -> np.random.Generator:
        """A new generator for the comparison's seed; each `stream` number draws a sequence of its own."""
        return np.random.default_rng((self.seed, stream))


def _evaluation_settings(evaluation: EvalSettings) -> dict[str, Any]:
    """Where evaluations run, as the config's settings (`EvalSettings.of` reads them back)."""
    return {
        "eval_workers": evaluation.workers,
        "eval_in": evaluation.where,
        "eval_timeout": evaluation.timeout,
        "dask": evaluation.dask,
    }


MakeProposer = Callable[["Problem", "Setup", "RunConfig"], "Proposer"]


@dataclass(frozen=True)
class Method:
    """A named way to optimize a problem.

    `default` methods run in every comparison; `samples_model` marks one that asks the optimizer model
    (and so needs `Setup.backend`); `reads` names the settings it reads (their `--vary` names), so a sweep
    of any other leaves it alone; `settings` declares its own (flags, defaults, help); `proposer` makes
    the proposer of a method that runs on the driver (journaled and resumable); `under_study` marks the
    method a comparison is about, which `baselines` leaves out; `multiobjective` marks one that can run on a
    problem with several objectives (the only ones such a problem is compared with).
    """

    name: str
    kind: Kind
    run: Callable[[Problem, Setup], Result]
    default: bool = True
    samples_model: bool = False
    reads: frozenset[str] = frozenset()
    proposer: MakeProposer | None = None
    under_study: bool = False
    settings: tuple[Setting, ...] = ()
    multiobjective: bool = False

    def driver(
        self, problem: Problem, setup: Setup, recorder: Sink | None = None, stop: Sequence[StopRule] = ()
    ) -> Driver:
        """The driver of a method that runs on one, for a caller that journals, resumes or watches it."""
        from llmopt.engine.driver import Driver

        if self.proposer is None:
            raise TypeError(f"{self.name} does not run on the driver")
        config = setup.config
        proposer = self.proposer(problem, setup, config)
        proposer.starts = tuple(setup.starts)
        return Driver(
            problem, proposer, config, name=self.name, kind=self.kind, recorder=recorder, stop=[*setup.stop, *stop]
        )


def driven(
    name: str,
    make: MakeProposer,
    *,
    kind: Kind = "model",
    samples_model: bool = True,
    reads: frozenset[str] = frozenset(),
    default: bool = False,
    under_study: bool = False,
    settings: tuple[Setting, ...] = (),
    multiobjective: bool = False,
) -> Method:
    """A method that runs a proposer on the driver, at the comparison's budget, seed and target; it reads
    the run's sampling settings (temperature, proposals), `reads` and its own `settings`."""

    def run(problem: Problem, setup: Setup) -> Result:
        driver = method.driver(problem, setup)
        try:
            return driver.run()
        except UsageError:  # the user's to mend (and a model server that refuses)
            raise
        except Exception as error:  # a method that cannot cope: data, not a crash of the comparison
            return driver.finish(crashed(error))

    own = frozenset(setting.name for setting in settings)
    method = Method(
        name,
        kind,
        run,
        default=default,
        samples_model=samples_model,
        reads=frozenset(reads) | own,
        proposer=make,
        under_study=under_study,
        settings=settings,
        multiobjective=multiobjective,
    )
    return method


def run_method(method: Method, problem: Problem, setup: Setup, store: Any = None) -> Result:
    """Run one method under a Setup; with a `store` (`ResultStore`), a method that samples no model replays
    its stored Result for the same task, Setup and code. A model server gone raises `ServerUnreachable`."""
    if store is None or method.samples_model or setup.stop:
        return raise_if_unreachable(method.run(problem, setup))
    return store.replay(method, problem, setup)


@dataclass(frozen=True)
class Methods:
    """What a `llmopt.methods` entry point names: `make(space)` gives the methods it has for a space (none
    where it has none; `space` is None for a problem without one), and `settings` declares their own
    settings, which become flags of `llmopt run` whatever the problem."""

    make: Callable[[Any], dict[str, Method]]
    settings: tuple[Setting, ...] = ()
    rank: int = 100  # where its methods are listed (lower first; a plugin's after the built-ins)

    @classmethod
    def of_space(
        cls,
        space_type: type,
        make: Callable[[Any], dict[str, Method]],
        settings: tuple[Setting, ...] = (),
        rank: int = 100,
    ) -> Methods:
        """A family whose methods are written for one kind of space (and its subclasses): none for any other."""
        return cls(lambda space: make(space) if isinstance(space, space_type) else {}, settings, rank)
