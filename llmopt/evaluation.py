"""Where evaluations run: in the calling thread, in threads, in worker processes, or on a Dask cluster.

An evaluator hands out `concurrent.futures` futures of `evaluate_safely` outcomes, so the ledger waits on
them the same way wherever they run. Processes come from pebble, whose pool kills the worker of a task
past its time limit (or cancelled) and starts a new one; a thread or a Dask task cannot be killed, so
there a timed-out evaluation is abandoned (recorded as failed) and runs on.
"""

from __future__ import annotations

import functools
import multiprocessing
import threading
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any, Protocol

from llmopt.errors import UsageError
from llmopt.problem import Problem, evaluate_safely, one_line

# What scoring one solution gave: its value (None when it failed), the reason it failed, and its status.
Scored = tuple["float | None", "str | None", str]

WHERE = ("threads", "processes")


@dataclass(frozen=True)
class Evaluation:
    """How a run evaluates: `workers` at once, in `where` ("threads" or "processes") or on the Dask
    scheduler at `dask`, each cut after `timeout` seconds (failed, with that reason)."""

    workers: int = 1
    where: str = "threads"
    timeout: float | None = None
    dask: str | None = None

    def __post_init__(self) -> None:
        if self.workers < 1:
            raise UsageError(f"eval_workers must be at least 1, got {self.workers}")
        if self.where not in WHERE:
            raise UsageError(f"eval_in must be one of {', '.join(WHERE)}, got {self.where!r}")
        if self.timeout is not None and not self.timeout > 0:
            raise UsageError(f"eval_timeout must be a positive number of seconds, got {self.timeout}")
        if self.dask is not None and self.where == "processes":
            raise UsageError("--dask runs the evaluations on the cluster's workers; drop --eval-in processes")

    @classmethod
    def of(cls, config: Any) -> Evaluation:
        """Where and how many evaluations of a run go at once, from its settings (an `OPROConfig`)."""
        return cls(workers=getattr(config, "eval_workers", 1), where=getattr(config, "eval_in", "threads"),
                   timeout=getattr(config, "eval_timeout", None), dask=getattr(config, "dask", None))

    def start(self, problem: Problem) -> Evaluator:
        """An evaluator of `problem.evaluate` on these terms; `close()` it after."""
        if self.dask is not None:
            return DaskEvaluator(problem, self.workers, self.dask)
        if self.where == "processes":
            return ProcessEvaluator(problem, self.workers)
        if self.workers == 1 and self.timeout is None:
            return InlineEvaluator(problem)
        return ThreadEvaluator(problem, self.workers)


class Evaluator(Protocol):
    """Runs evaluations, `workers` at a time; `kills_late` when it stops an evaluation at its time limit
    itself (else the ledger abandons it there)."""

    workers: int
    kills_late: bool

    def submit(self, solution: Any, timeout: float | None = None) -> Future:
        """A future of the solution's outcome: (value, reason, status)."""
        ...

    def close(self) -> None:
        """Stop the workers; evaluations still running are cancelled (killed where they can be)."""
        ...


class InlineEvaluator:
    """One evaluation at a time, in the calling thread (the default: no pool, and Ctrl-C lands in it)."""

    workers, kills_late = 1, False

    def __init__(self, problem: Problem) -> None:
        self.problem = problem

    def submit(self, solution: Any, timeout: float | None = None) -> Future:
        """The outcome, computed now."""
        future: Future = Future()
        try:
            future.set_result(evaluate(self.problem, solution))
        except Exception as error:  # a scorer's server gone: the ledger re-raises it
            future.set_exception(error)
        return future

    def close(self) -> None:
        """Nothing to stop."""


class ThreadEvaluator:
    """Evaluations in threads, for objectives that wait (a subprocess, a remote call, a simulator).

    One daemon thread per evaluation (the ledger runs at most `workers` at once): a hung evaluation
    that was abandoned never keeps the process from exiting, as a pool's joined threads would.
    """

    kills_late = False

    def __init__(self, problem: Problem, workers: int) -> None:
        self.problem, self.workers = problem, workers

    def submit(self, solution: Any, timeout: float | None = None) -> Future:
        """The outcome, computed in a thread of its own."""
        future: Future = Future()
        future.set_running_or_notify_cancel()
        threading.Thread(target=_settle_with, args=(future, self.problem, solution), daemon=True,
                         name="llmopt-eval").start()
        return future

    def close(self) -> None:
        """Nothing to stop: an abandoned thread finishes on its own, and its outcome is dropped."""


def evaluate(problem: Problem, solution: Any) -> Scored:
    """`evaluate_safely` of the problem's `evaluate`, as it is when called (a test may patch it)."""
    return evaluate_safely(problem.evaluate, solution)


def _settle_with(future: Future, problem: Problem, solution: Any) -> None:
    try:
        outcome = evaluate(problem, solution)
    except BaseException as error:  # noqa: BLE001 - a scorer's server gone: the ledger re-raises it
        if not future.done():
            future.set_exception(error)
        return
    if not future.done():
        future.set_result(outcome)


_INSTALLED: dict[str, Problem] = {}


def _install(problem: Problem) -> None:
    _INSTALLED["problem"] = problem


def _evaluate_installed(solution: Any) -> Scored:
    return evaluate(_INSTALLED["problem"], solution)


class ProcessEvaluator:
    """Evaluations in worker processes (pebble's pool), for objectives that compute in Python.

    The workers start clean from a fork server (never forked from a process that holds a model's
    threads or a server's connections), and the problem reaches each once, as multiprocessing sends
    it: its objective must be importable by name (a module-level function or class, not a lambda or
    a closure). An evaluation past its time limit has its worker killed and replaced.
    """

    kills_late = True

    def __init__(self, problem: Problem, workers: int) -> None:
        from multiprocessing.reduction import ForkingPickler

        from pebble import ProcessPool

        try:
            ForkingPickler.dumps(problem)  # what the pool will send: fail now, with the fix, not in a worker
        except Exception as error:
            raise UsageError(f"--eval-in processes cannot send the problem to worker processes ({one_line(error)}); "
                             "define the objective at module level, or use --eval-in threads") from None
        self.workers = workers
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload([__name__])  # each worker forks with the engine and numpy imported
        self.pool = ProcessPool(max_workers=workers, initializer=_install, initargs=(problem,), context=context)

    def submit(self, solution: Any, timeout: float | None = None) -> Future:
        """The outcome, computed in a worker process, which is killed at `timeout`."""
        return self.pool.schedule(_evaluate_installed, args=(solution,), timeout=timeout)

    def close(self) -> None:
        """Kill the workers, and any evaluation still running in them."""
        self.pool.stop()
        self.pool.join()


@functools.cache
def dask_client(address: str) -> Any:
    """One client per scheduler address for the process (connecting costs a round trip or more)."""
    try:
        from distributed import Client
    except ImportError:
        raise UsageError("--dask needs the distributed package: pip install 'llmopt[dask]'") from None
    try:
        return Client(address, timeout="3s", set_as_default=False)
    except OSError:
        raise UsageError(f"cannot reach the Dask scheduler at {address}; start it or fix --dask") from None


class DaskEvaluator:
    """Evaluations on a Dask cluster's workers; the problem is scattered to them once per method run.
    A time limit counts from the submission, and a task past it is abandoned (Dask cannot stop it)."""

    kills_late = False

    def __init__(self, problem: Problem, workers: int, address: str) -> None:
        self.workers, self.client = workers, dask_client(address)
        self.problem = self.client.scatter(problem, broadcast=True, hash=False)

    def submit(self, solution: Any, timeout: float | None = None) -> Future:
        """The outcome, computed on a Dask worker."""
        future: Future = Future()
        task = self.client.submit(evaluate, self.problem, solution, pure=False)
        task.add_done_callback(functools.partial(_settle, future))
        future.add_done_callback(lambda done: task.cancel() if done.cancelled() else None)
        return future

    def close(self) -> None:
        """The client stays for the next method; tasks still running are cancelled by the ledger."""


def _settle(future: Future, task: Any) -> None:
    if future.done():
        return
    try:
        future.set_result(task.result())
    except BaseException as error:  # noqa: BLE001 - the task's error belongs to the ledger
        if not future.done():
            future.set_exception(error)
