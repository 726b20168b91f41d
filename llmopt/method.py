"""What a comparison hands every method (a Setup) and what a method is (a Method), the model-driven ones
included; this module imports no method, so each registers itself where it is written."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Sequence

import numpy as np

from llmopt.evaluation import Evaluation
from llmopt.result import Kind, Result

if TYPE_CHECKING:
    from llmopt.backends.base import Backend
    from llmopt.driver import Driver
    from llmopt.opro import OPROConfig
    from llmopt.problem import Problem
    from llmopt.proposer import Proposer
    from llmopt.stopping import StopRule
    from llmopt.storage import Sink


@dataclass(frozen=True)
class Setup:
    """The shared terms of a comparison: the evaluation budget, the seed, the start points every method
    may begin from (OPRO's initial points), the target that ends a run early (if any), the failures and
    seconds a method may spend, where evaluations run (`evaluation`), the caller's own stop rules
    (`stop`, over the ledger), and, for model-driven methods, the optimizer model and their settings
    (`config`)."""

    max_evals: int
    seed: int = 0
    starts: tuple[Any, ...] = ()
    backend: Backend | None = None
    config: OPROConfig | None = None
    target: float | None = None
    max_failures: int | None = None
    timeout: float | None = None
    evaluation: Evaluation = Evaluation()
    stop: tuple[StopRule, ...] = ()

    def generator(self, stream: int = 0) -> np.random.Generator:
        """A new generator for the comparison's seed; each `stream` number draws a sequence of its own."""
        return np.random.default_rng((self.seed, stream))

    def driver_config(self) -> OPROConfig:
        """The settings a model-driven method runs with: the comparison's, with its seed, budget and target."""
        from llmopt.opro import OPROConfig

        config = self.config or OPROConfig(seed=self.seed)
        return dataclasses.replace(config, seed=self.seed, max_evals=self.max_evals, target=self.target,
                                   max_failures=self.max_failures, timeout=self.timeout,
                                   eval_workers=self.evaluation.workers, eval_in=self.evaluation.where,
                                   eval_timeout=self.evaluation.timeout, dask=self.evaluation.dask)


MakeProposer = Callable[["Problem", "Setup", "OPROConfig"], "Proposer"]


@dataclass(frozen=True)
class Method:
    """A named way to optimize a problem.

    `default` methods run in every comparison; `samples_model` marks one that asks the optimizer model
    (and so needs `Setup.backend`); `reads` names the settings it reads (`llmopt.knobs.KNOBS` keys), so a
    sweep of any other leaves it alone; `proposer` makes the proposer of a method that runs on the driver
    (journaled and resumable); `under_study` marks the method a comparison is about, which `baselines`
    leaves out.
    """

    name: str
    kind: Kind
    run: Callable[[Problem, Setup], Result]
    default: bool = True
    samples_model: bool = False
    reads: frozenset[str] = frozenset()
    proposer: MakeProposer | None = None
    under_study: bool = False

    def driver(self, problem: Problem, setup: Setup, recorder: Sink | None = None,
               stop: Sequence[StopRule] = ()) -> Driver:
        """The driver of a method that runs on one, for a caller that journals, resumes or watches it."""
        from llmopt.driver import Driver

        if self.proposer is None:
            raise TypeError(f"{self.name} does not run on the driver")
        config = setup.driver_config()
        proposer = self.proposer(problem, setup, config)
        proposer.starts = tuple(setup.starts)
        return Driver(problem, proposer, config, name=self.name, kind=self.kind, recorder=recorder,
                      stop=[*setup.stop, *stop])


def driven(name: str, make: MakeProposer, *, kind: Kind = "model", samples_model: bool = True,
           reads: frozenset[str] = frozenset(), default: bool = False, under_study: bool = False) -> Method:
    """A method that runs a proposer on the driver, at the comparison's budget, seed and target."""

    def run(problem: Problem, setup: Setup) -> Result:
        from llmopt.comparators.base import crashed
        from llmopt.errors import UsageError

        driver = method.driver(problem, setup)
        try:
            return driver.run()
        except UsageError:  # the user's to mend (and a model server that refuses)
            raise
        except Exception as error:  # a method that cannot cope: data, not a crash of the comparison
            return driver.finish(crashed(error))

    method = Method(name, kind, run, default=default, samples_model=samples_model, reads=reads, proposer=make,
                    under_study=under_study)
    return method
