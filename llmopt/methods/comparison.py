"""`compare`: a problem's methods at one evaluation budget, the first model-driven one journaled; the
library function that the CLI's `run` and `baselines`, the notebooks and the README all call."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from llmopt.contract.problem import Problem
from llmopt.core.errors import UsageError
from llmopt.core.result import Result
from llmopt.core.stops import INTERRUPTED, raise_if_unreachable
from llmopt.engine.config import RunConfig
from llmopt.methods import resolve, setup_for
from llmopt.methods.method import Method, Setup, crashed, run_method

if TYPE_CHECKING:
    from llmopt.backends.base import Backend
    from llmopt.engine.driver import Driver
    from llmopt.engine.records import RunRecorder
    from llmopt.engine.stopping import StopRule
    from llmopt.methods.store import ResultStore


def compare(
    problem: Problem,
    config: RunConfig = RunConfig(),
    methods: Sequence[str] | None = None,
    backend: Backend | None = None,
    *,
    store: ResultStore | None = None,
    recorder: RunRecorder | None = None,
    resume: bool = False,
    on_step: Callable[[Driver], None] | None = None,
    stop: Sequence[StopRule] = (),
) -> list[Result]:
    """Run `methods` (by default the problem's default methods, OPRO first) under one Setup: the budget,
    seed and start points of `config`. The Results come back in the methods' order.

    The embedded model is loaded when no `backend` is given and a method samples one. The caller's
    `stop` rules stop every method, each with its reason. The first method that runs on the driver
    leads: it runs first, with `on_step` called after each of its steps, journaled in `recorder` when
    there is one (and with `resume`, continued from it); a `store` replays the Results of methods that
    sample no model (not with `stop` rules, which no store can key). A model server gone stops everything
    at once (`ServerUnreachable`); an interrupt (Ctrl-C) ends the journaled method as "interrupted",
    journaled, and is raised again: no other method starts.
    """
    chosen = resolve(problem, list(methods) if methods is not None else None)
    if backend is None and any(m.samples_model for m in chosen):
        from llmopt.backends.local import LocalBackend

        backend = LocalBackend()
    setup = dataclasses.replace(setup_for(problem, config, backend), stop=tuple(stop))
    lead = journaled_method(chosen)  # journaled when there is a recorder, and watched by `on_step` and `stop`
    done: dict[str, Result] = {}
    if lead is not None:
        done[lead.name] = _run_lead(lead, problem, setup, recorder, resume, on_step)
    for method in chosen:
        if method.name not in done:
            done[method.name] = run_method(method, problem, setup, store)
    return [done[method.name] for method in chosen]


def journaled_method(methods: Sequence[Method]) -> Method | None:
    """The method a run directory journals: the first that runs on the driver."""
    return next((method for method in methods if method.proposer is not None), None)


def _run_lead(
    method: Method,
    problem: Problem,
    setup: Setup,
    recorder: Any,
    resume: bool,
    on_step: Callable[[Driver], None] | None,
) -> Result:
    from llmopt.engine.records import read_pending, read_steps

    driver = method.driver(problem, setup, recorder)
    if resume and recorder is not None:
        driver.restore(read_steps(recorder.directory), read_pending(recorder.directory))
    try:
        result = driver.run(on_step=on_step)
    except KeyboardInterrupt:
        driver.finish(INTERRUPTED)
        raise
    except UsageError:
        raise
    except Exception as error:  # recorded as it stood (the journal keeps it), the other methods go on
        result = driver.finish(crashed(error))
    return raise_if_unreachable(result)  # the other methods are not started against a server that is gone
