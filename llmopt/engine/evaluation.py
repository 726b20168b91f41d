"""Where evaluations run: in the calling thread, in threads, in worker processes, or on a Dask cluster.

An evaluator hands out `concurrent.futures` futures of `evaluate_safely` outcomes, so the ledger waits on
them the same way wherever they run. A worker process running a task past its time limit (or cancelled) is
killed and replaced; a thread or a Dask task cannot be killed, so there a timed-out evaluation is abandoned
(recorded as failed) and runs on.
"""

from __future__ import annotations

import atexit
import functools
import multiprocessing
import os
import signal
import sys
import threading
import weakref
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, InvalidStateError
from dataclasses import dataclass
from multiprocessing.connection import Connection, Pipe
from multiprocessing.connection import wait as wait_for
from time import monotonic
from typing import Any, Protocol

from llmopt.contract.problem import Problem, Scored, evaluate_safely, one_line
from llmopt.core.errors import UsageError, literal

WHERE = ("threads", "processes")


@dataclass(frozen=True)
class EvalSettings:
    """How a run evaluates: `workers` at once, in `where` ("threads" or "processes") or on the Dask
    scheduler at `dask`, each cut after `timeout` seconds (failed, with that reason)."""

    workers: int = 1
    where: str = "threads"
    timeout: float | None = None
    dask: str | None = None

    def __post_init__(self) -> None:
        if self.workers < 1:
            raise UsageError.about(f"{{eval_workers}} must be at least 1, got {self.workers}")
        if self.where not in WHERE:
            raise UsageError.about(f"{{eval_in}} must be one of {', '.join(WHERE)}, got {literal(repr(self.where))}")
        if self.timeout is not None and not self.timeout > 0:
            raise UsageError.about(f"{{eval_timeout}} must be a positive number of seconds, got {self.timeout}")
        if self.dask is not None and self.where == "processes":
            raise UsageError.about("{dask} runs the evaluations on the cluster's workers; drop {eval_in} processes")

    @classmethod
    def of(cls, config: Any) -> EvalSettings:
        """Where and how many evaluations of a run go at once, from its settings (an `RunConfig`)."""
        return cls(
            workers=getattr(config, "eval_workers", 1),
            where=getattr(config, "eval_in", "threads"),
            timeout=getattr(config, "eval_timeout", None),
            dask=getattr(config, "dask", None),
        )

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
        threading.Thread(
            target=_settle_with, args=(future, self.problem, solution), daemon=True, name="llmopt-eval"
        ).start()
        return future

    def close(self) -> None:
        """Nothing to stop: an abandoned thread finishes on its own, and its outcome is dropped."""


def evaluate(problem: Problem, solution: Any) -> Scored:
    """`evaluate_safely` of the problem's `evaluate`, as it is when called (a test may patch it)."""
    return evaluate_safely(problem.evaluate, solution, problem.objectives)


def _settle_with(future: Future, problem: Problem, solution: Any) -> None:
    try:
        outcome = evaluate(problem, solution)
    except BaseException as error:  # noqa: BLE001 - a scorer's server gone: the ledger re-raises it
        if not future.done():
            future.set_exception(error)
        return
    if not future.done():
        future.set_result(outcome)


class WorkerDied(Exception):
    """The worker process of an evaluation ended before it answered (a crash, `os._exit`, a kill)."""

    def __init__(self, exitcode: int | None, starting: bool = False) -> None:
        how = f"exit code {exitcode}"
        if exitcode is not None and exitcode < 0:
            try:
                how = f"killed by {signal.Signals(-exitcode).name}"
            except ValueError:
                how = f"killed by signal {-exitcode}"
        super().__init__(f"{how}, while it started" if starting else how)


_READY = "ready"  # what a worker sends once its problem is loaded: evaluations go only to ready workers


@dataclass
class _Job:
    solution: Any
    timeout: float | None
    future: Future


class _Worker:
    """One worker process and its own pipe; it runs one evaluation at a time, so the evaluation a death
    cuts off is always known."""

    def __init__(self, context: Any, problem: Problem, path: list[str]) -> None:
        self.conn, child = context.Pipe()
        self.process = context.Process(target=_serve, args=(child, path), name="llmopt-eval-worker")
        self.process.start()
        child.close()
        try:  # through the pipe, read once the worker's path is set: it can import the objective
            self.conn.send(problem)
        except OSError:  # it died before it read the problem
            self.process.join()
            code = self.process.exitcode
            self.kill()
            raise WorkerDied(code, starting=True) from None
        self.ready = False
        self.job: _Job | None = None
        self.deadline: float | None = None

    def give(self, job: _Job) -> None:
        """Start `job` here; its time limit counts from now."""
        self.conn.send(job.solution)
        self.job, self.deadline = job, None if job.timeout is None else monotonic() + job.timeout

    def take(self) -> Any:
        """The message that came (the job is over unless it is the ready word)."""
        message = self.conn.recv()
        if message != _READY:
            self.job = self.deadline = None
        return message

    def kill(self) -> None:
        """End the process now (whatever it runs) and free its pipe."""
        self.process.kill()
        self.process.join()
        self.conn.close()
        self.process.close()


def search_path() -> list[str]:
    """Where a worker imports from: the parent's path, and the current folder, whence `--function`
    imports a module even when the path does not hold it (an installed `llmopt` command's does not)."""
    here = os.getcwd()
    return list(sys.path) if here in sys.path or "" in sys.path else [*sys.path, here]


def _serve(conn: Connection, path: list[str]) -> None:
    """A worker process: load the problem, say it is ready, then answer each solution the pipe brings."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's: it kills the workers
    sys.path[:] = path
    score = _loaded(conn)
    conn.send(_READY)
    while True:
        try:
            solution = conn.recv()
        except EOFError:  # the parent is gone
            return
        try:
            answer: tuple[bool, Any] = (True, score(solution))
        except BaseException as error:  # noqa: BLE001 - a scorer's server gone: the ledger re-raises it
            answer = (False, error)
        try:
            conn.send(answer)
        except OSError:  # the parent is gone
            return
        except Exception as error:  # an outcome that does not pickle: a line saying so goes instead
            conn.send((False, RuntimeError(one_line(answer[1] if not answer[0] else error))))


def _loaded(conn: Connection) -> Callable[[Any], Scored]:
    """The worker's evaluate, of the problem the pipe brings first; when it cannot be loaded here (its
    objective does not import), each evaluation fails saying why."""
    try:
        return functools.partial(evaluate, conn.recv())
    except (EOFError, OSError):  # the parent is gone
        raise SystemExit(0) from None
    except Exception as error:
        reason = f"the worker process cannot load the problem ({one_line(error)})"
        return lambda solution: Scored(None, reason, "failed")


_LIVE: weakref.WeakSet[ProcessEvaluator] = weakref.WeakSet()


@atexit.register
def _close_live() -> None:
    # runs before multiprocessing's own exit hook (registered earlier), which would wait on idle workers
    for evaluator in list(_LIVE):
        evaluator.close()


class ProcessEvaluator:
    """Evaluations in worker processes, for objectives that compute in Python.

    The workers start clean from a fork server (never forked from a process that holds a model's
    threads or a server's connections), import from the parent's path and the current folder, and
    get the problem once each, pickled: its objective must be importable by name (a module-level
    function or class, not a lambda or a closure). Each worker has its own pipe and one evaluation at
    a time, and one thread watches them all, so an evaluation always ends: with its outcome, or failed
    when its worker dies (`WorkerDied`), passes its time limit (`TimeoutError`) or it is cancelled;
    the worker is then killed and replaced. (A shared task queue, as pebble's pool has, can lose the
    evaluation of a worker that dies before its pickup is read: the run then waits forever.)
    """

    kills_late = True

    def __init__(self, problem: Problem, workers: int) -> None:
        from multiprocessing.reduction import ForkingPickler

        try:
            ForkingPickler.dumps(problem)  # what each worker gets: fail now, with the fix, not in a worker
        except Exception as error:
            raise UsageError.about(
                f"{{eval_in}} processes cannot send the problem to worker processes ({literal(one_line(error))}); "
                "define the objective at module level, or use {eval_in} threads"
            ) from None
        self.workers = workers
        self._context = multiprocessing.get_context("forkserver")
        self._context.set_forkserver_preload([__name__])  # each worker forks with the engine and numpy imported
        self._start_args = (problem, search_path())
        self._pool: list[_Worker] = []
        self._queue: deque[_Job] = deque()
        self._lock = threading.Lock()
        self._closing = False
        self._bell, self._ringer = Pipe(duplex=False)  # wakes the watcher: a job came, one was cancelled
        self._watcher = threading.Thread(target=self._watch, daemon=True, name="llmopt-eval-watcher")
        self._watcher.start()
        _LIVE.add(self)

    def submit(self, solution: Any, timeout: float | None = None) -> Future:
        """The outcome, computed in a worker process, which is killed at `timeout` or on `cancel()`."""
        future: Future = Future()  # left pending while it runs, so that `cancel()` works until it ends
        with self._lock:
            if self._closing:
                raise RuntimeError("the evaluator is closed")
            self._queue.append(_Job(solution, timeout, future))
        future.add_done_callback(lambda done: self._ring() if done.cancelled() else None)
        self._ring()
        return future

    def close(self) -> None:
        """Kill the workers, and any evaluation still running in them (its future is cancelled)."""
        with self._lock:
            self._closing = True
        self._ring()
        if self._watcher is not threading.current_thread():
            self._watcher.join()
        _LIVE.discard(self)

    # -- the watcher's thread ----------------------------------------------------------------

    def _ring(self) -> None:
        with self._lock:  # the watcher closes the bell as it ends: never write to a closed pipe
            if not self._ringer.closed:
                self._ringer.send_bytes(b"")

    def _watch(self) -> None:
        error: BaseException | None = None
        try:
            while not self._closing:
                self._start_more()
                self._wait()
                for worker in list(self._pool):
                    self._check(worker)
        except BaseException as caught:  # noqa: BLE001 - a bug here: the evaluations fail, none waits forever
            error = caught
        finally:
            self._shut_down(error)

    def _start_more(self) -> None:
        """Give queued jobs to ready idle workers; start workers for the rest, up to `workers`."""
        with self._lock:
            while self._queue and self._queue[0].future.cancelled():
                self._queue.popleft()
            waiting = [job for job in self._queue if not job.future.cancelled()]
        for worker in list(self._pool):  # a worker found dead leaves the pool
            if worker.ready and worker.job is None and waiting:
                self._give(worker, waiting.pop(0))
        starting = sum(not worker.ready for worker in self._pool)
        for _ in range(min(len(waiting) - starting, self.workers - len(self._pool))):
            try:
                self._pool.append(_Worker(self._context, *self._start_args))
            except Exception as error:  # the system refuses a process: the job fails, the run goes on
                job = waiting.pop(0)
                with self._lock:
                    self._queue.remove(job)
                self._resolve(job, False, error)

    def _give(self, worker: _Worker, job: _Job) -> None:
        with self._lock:
            self._queue.remove(job)
        try:
            worker.give(job)
        except OSError:  # the worker died before the job reached it: the job fails with it
            worker.job = job
            self._lost(worker)
        except Exception as error:  # the solution does not pickle: that job fails, the worker stays
            self._resolve(job, False, error)

    def _wait(self) -> None:
        deadlines = [worker.deadline for worker in self._pool if worker.deadline is not None]
        timeout = max(0.0, min(deadlines) - monotonic()) if deadlines else None
        waitables = [self._bell, *(w.conn for w in self._pool), *(w.process.sentinel for w in self._pool)]
        wait_for(waitables, timeout)
        while self._bell.poll():
            self._bell.recv_bytes()

    def _check(self, worker: _Worker) -> None:
        """Hear what `worker` sent, or see it died, its job was cancelled or its time is up."""
        if worker.conn.poll():  # a message, read before a death, which closes the pipe after it
            try:
                job, message = worker.job, worker.take()
            except (EOFError, OSError):
                return self._lost(worker)
            except Exception as error:  # an outcome this process cannot unpickle: that evaluation fails
                self._retire(worker)
                return self._resolve(job, False, error) if job is not None else None
            if message == _READY:
                worker.ready = True
            elif job is not None:
                self._resolve(job, *message)
        elif not worker.process.is_alive():
            self._lost(worker)
        elif worker.job is not None and worker.job.future.cancelled():
            self._retire(worker)
        elif worker.deadline is not None and worker.deadline <= monotonic() and (job := worker.job) is not None:
            self._retire(worker)
            self._resolve(job, False, TimeoutError(f"timed out after {job.timeout:g} s"))

    def _lost(self, worker: _Worker) -> None:
        """`worker` died: its job fails; one that died starting fails the first job waiting for it."""
        job, ready = worker.job, worker.ready
        worker.process.join()
        died = WorkerDied(worker.process.exitcode, starting=not ready)
        self._retire(worker)
        if job is None and not ready:
            with self._lock:
                job = next((job for job in self._queue if not job.future.cancelled()), None)
                if job is not None:
                    self._queue.remove(job)
        if job is not None:
            self._resolve(job, False, died)

    def _retire(self, worker: _Worker) -> None:
        self._pool.remove(worker)
        worker.kill()

    @staticmethod
    def _resolve(job: _Job, ok: bool, value: Any) -> None:
        """The job's outcome (`ok`), or the error it ends with."""
        try:
            job.future.set_result(value) if ok else job.future.set_exception(value)
        except InvalidStateError:  # cancelled meanwhile: nobody waits for it
            pass

    def _shut_down(self, error: BaseException | None) -> None:
        """Kill every worker; the jobs left are cancelled (closed), or fail with the watcher's `error`."""
        with self._lock:
            self._closing = True
            jobs = [*self._queue, *(worker.job for worker in self._pool if worker.job is not None)]
            self._queue.clear()
        for worker in list(self._pool):
            self._retire(worker)
        for job in jobs:
            job.future.cancel() if error is None else self._resolve(job, False, error)
        with self._lock:
            self._ringer.close()
        self._bell.close()


@functools.cache
def dask_client(address: str) -> Any:
    """One client per scheduler address for the process (connecting costs a round trip or more)."""
    try:
        from distributed import Client
    except ImportError:
        raise UsageError.about("{dask} needs the distributed package: pip install 'llmopt[dask]'") from None
    try:
        return Client(address, timeout="3s", set_as_default=False)
    except OSError:
        raise UsageError.about(
            f"cannot reach the Dask scheduler at {literal(address)}; start it or fix {{dask}}"
        ) from None


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


Evaluation = EvalSettings  # 0.6's name, before `llmopt.Evaluation` became what an objective returns
