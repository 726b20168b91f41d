"""The ledger: rounds of evaluations side by side, cut to the budget, timed out, the same results whatever
the number of workers, and every stop reason decided in one place for every kind of method."""

from __future__ import annotations

import os
import threading
import time

import pytest

from llmopt import OPROConfig, ScriptedBackend, StopRule, compare
from llmopt.evaluation import Evaluation
from llmopt.ledger import Ledger
from llmopt.problem import InvalidSolution, Problem
from llmopt.problems.numeric import NumericProblem
from llmopt.result import Result
from llmopt.spaces import Box
from llmopt.stopping import STALL_FLOOR


class Gate(Problem):
    """x1 + x2 on a small integer box; evaluations wait at a barrier of `together`, so a round that does
    not run them side by side fails them all; `fail` and `hang` pick points that fail or never end."""

    name, summary = "gate", "test problem"

    def __init__(self, together: int = 1, fail: tuple = (), hang: tuple = ()) -> None:
        self.space = Box(((0, 9), (0, 9)), integer=True)
        self.barrier = threading.Barrier(together, timeout=20) if together > 1 else None
        self.fail, self.hang, self.release = set(fail), set(hang), threading.Event()
        self.calls: list[tuple] = []
        self.lock = threading.Lock()

    def describe(self) -> str:
        return "d"

    def format_hint(self) -> str:
        return "f"

    def evaluate(self, x) -> float:
        x = tuple(int(v) for v in x)
        with self.lock:
            self.calls.append(x)
        if x in self.hang:
            self.release.wait(timeout=60)
        if self.barrier is not None and x not in self.hang:
            self.barrier.wait()
        if x in self.fail:
            raise RuntimeError("broken point")
        return float(sum(x))


def ledger(problem: Problem, evaluation: Evaluation, max_evals: int | None = None) -> Ledger:
    return Ledger(problem, Result("m", problem.name, "min"), max_evals=max_evals, evaluation=evaluation)


POINTS = [(i, j) for i in range(3) for j in range(3)]


def test_a_round_runs_its_evaluations_side_by_side_and_counts_its_rounds() -> None:
    problem = Gate(together=4)
    book = ledger(problem, Evaluation(workers=4))
    outcomes = book.score(POINTS[:8])
    assert [o[0] for o in outcomes] == [float(sum(p)) for p in POINTS[:8]], "four at a time passed the barrier"
    assert book.rounds == 2
    inline = ledger(Gate(), Evaluation())
    inline.score(POINTS[:8])
    assert inline.rounds == 8, "one worker: each evaluation is its own round"


def test_a_round_is_cut_to_the_budget_and_a_failure_leaves_its_place_to_the_next() -> None:
    problem = Gate(fail={(0, 1)})
    book = ledger(problem, Evaluation(workers=3), max_evals=3)
    outcomes = book.score(POINTS)
    assert [o is not None for o in outcomes] == [True] * 4 + [False] * 5
    assert outcomes[1][1] == "RuntimeError: broken point" and outcomes[1][2] == "failed"
    assert sorted(problem.calls) == POINTS[:4], "never more than the budget's room, a prefix in order"


def test_each_outcome_is_handed_on_the_moment_it_lands() -> None:
    problem = Gate(hang={(0, 0)})
    book = ledger(problem, Evaluation(workers=2))
    seen: list[int] = []

    def on_result(index: int, outcome) -> None:
        seen.append(index)
        if len(seen) == 2:  # the others landed while the hung one still runs: let it go
            problem.release.set()

    outcomes = book.score(POINTS[:3], on_result)
    assert seen[-1] == 0 and sorted(seen) == [0, 1, 2] and outcomes[0][0] == 0.0


@pytest.mark.parametrize("where", ["threads", "processes"])
def test_an_evaluation_past_its_time_limit_is_failed_and_the_round_goes_on(where: str, tmp_path) -> None:
    pid_file = tmp_path / "pid"

    class Hangs(Gate):
        def evaluate(self, x):
            if tuple(x) == (0, 0):
                pid_file.write_text(str(os.getpid()))
                time.sleep(600)
            return float(sum(x))

    problem = Hangs()
    book = ledger(problem, Evaluation(workers=2, where=where, timeout=0.5))
    outcomes = book.score(POINTS[:4])
    book.close()
    assert outcomes[0] == (None, "timed out after 0.5 s", "failed")
    assert [o[0] for o in outcomes[1:]] == [1.0, 2.0, 1.0]
    if where == "processes":  # the hung worker was killed, not left to run
        pid = int(pid_file.read_text())
        for _ in range(100):
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.05)
        else:
            pytest.fail(f"the timed-out worker {pid} still runs")


def test_processes_take_an_objective_that_does_not_pickle(tmp_path) -> None:
    parent = os.getpid()
    problem = NumericProblem(lambda x: float(os.getpid() != parent), [(0, 9), (0, 9)], integer=True)
    book = ledger(problem, Evaluation(workers=2, where="processes"))
    outcomes = book.score(POINTS[:4])
    book.close()
    assert [o[0] for o in outcomes] == [1.0] * 4, "each value came from another process"


def test_the_same_seed_finds_the_same_whatever_the_number_of_workers() -> None:
    """Every method whose batch does not follow the worker count (Nevergrad and Optuna build theirs from it)."""
    problem = NumericProblem(lambda x: float((x[0] - 1.3) ** 2 + (x[1] + 0.4) ** 2), [(-5, 5), (-5, 5)])
    texts = [f"[{i % 7 - 3}, {i % 5 - 2}]" for i in range(200)]
    methods = ["opro", "random-search", "differential-evolution", "cma-es", "powell", "nelder-mead"]
    rows = {}
    for workers in (1, 4):
        config = OPROConfig(steps=4, proposals=4, eval_workers=workers)
        rows[workers] = compare(problem, config, methods, ScriptedBackend(texts))
    for one, four in zip(rows[1], rows[4]):
        assert [(t.status, t.text, t.value) for t in one.trials] == [(t.status, t.text, t.value) for t in four.trials], one.method
        assert one.best_value == four.best_value and one.counts.evals == four.counts.evals
    opro_one, opro_four = rows[1][0], rows[4][0]
    assert opro_one.counts.rounds == opro_one.counts.evals and opro_four.counts.rounds == 2 + 4, \
        "five start points in two rounds of four, then a round per step"


def test_a_users_stop_rule_stops_a_black_box_method_with_its_reason() -> None:
    enough = StopRule("enough", lambda view: view.result.counts.evals >= 7)
    problem = NumericProblem(lambda x: float(x[0] ** 2), [(-5, 5)])
    search, cma = compare(problem, OPROConfig(steps=5, proposals=4), ["random-search", "cma-es"], stop=[enough])
    assert search.stop_reason == "enough" and search.counts.evals == 7
    assert cma.stop_reason == "enough" and cma.counts.evals == 5 + 6, "after the generation that passed 7"


def test_a_search_that_only_asks_infeasible_points_stops_after_a_bounded_number_of_asks() -> None:
    def infeasible(x):
        raise InvalidSolution("over capacity")

    problem = NumericProblem(infeasible, [(-5, 5), (-5, 5)])
    result, = compare(problem, OPROConfig(steps=2, proposals=2), ["random-search"])
    assert result.stop_reason == "stalled" and result.counts.evals == 0
    assert result.counts.invalid == {"over capacity": STALL_FLOOR}
