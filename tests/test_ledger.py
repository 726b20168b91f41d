"""The ledger: rounds of evaluations side by side, cut to the budget, timed out, the same results whatever
the number of workers, and every stop reason decided in one place for every kind of method."""

from __future__ import annotations

import functools
import os
import threading
import time

import pytest

from llmopt import OPROConfig, ScriptedBackend, StopRule, compare
from llmopt.cli.options import flag_of
from llmopt.contract.problem import InvalidSolution, Problem, UsageError
from llmopt.contract.spaces import Box
from llmopt.core.result import Result
from llmopt.engine.evaluation import EvalSettings
from llmopt.engine.ledger import Ledger
from llmopt.engine.stopping import STALL_FLOOR
from llmopt.problems.numeric import NumericProblem
from llmopt.testing import objectives


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
        if x in self.hang and not self.release.wait(timeout=20):
            raise RuntimeError("never released")
        if self.barrier is not None and x not in self.hang:
            self.barrier.wait()
        if x in self.fail:
            raise RuntimeError("broken point")
        return float(sum(x))


def ledger(problem: Problem, evaluation: EvalSettings, max_evals: int | None = None) -> Ledger:
    return Ledger(problem, Result("m", problem.name, "min"), max_evals=max_evals, evaluation=evaluation)


POINTS = [(i, j) for i in range(3) for j in range(3)]


def test_a_round_runs_its_evaluations_side_by_side_and_counts_its_rounds() -> None:
    problem = Gate(together=4)
    book = ledger(problem, EvalSettings(workers=4))
    outcomes = book.score(POINTS[:8])
    assert [o[0] for o in outcomes] == [float(sum(p)) for p in POINTS[:8]], "four at a time passed the barrier"
    assert book.rounds == 2
    inline = ledger(Gate(), EvalSettings())
    inline.score(POINTS[:8])
    assert inline.rounds == 8, "one worker: each evaluation is its own round"


def test_a_round_is_cut_to_the_budget_and_a_failure_leaves_its_place_to_the_next() -> None:
    problem = Gate(fail={(0, 1)})
    book = ledger(problem, EvalSettings(workers=3), max_evals=3)
    outcomes = book.score(POINTS)
    assert [o is not None for o in outcomes] == [True] * 4 + [False] * 5
    assert outcomes[1][1] == "RuntimeError: broken point" and outcomes[1][2] == "failed"
    assert sorted(problem.calls) == POINTS[:4], "never more than the budget's room, a prefix in order"


def test_each_outcome_is_handed_on_the_moment_it_lands_and_committed_in_order() -> None:
    problem = Gate(hang={(0, 0)})
    book = ledger(problem, EvalSettings(workers=2))
    landed: list[int] = []
    committed: list[int] = []

    def on_landed(index: int, outcome) -> None:
        landed.append(index)
        if len(landed) == 2:  # the others landed while the hung one still runs (else it fails): let it go
            problem.release.set()

    outcomes = book.score(POINTS[:3], landed=on_landed, commit=lambda i, o: committed.append(i) or False)
    assert landed == [1, 2, 0] and committed == [0, 1, 2] and outcomes[0][0] == 0.0


def test_a_commit_that_says_stop_drops_the_rest_of_the_round() -> None:
    problem = Gate()
    book = ledger(problem, EvalSettings(workers=4))
    outcomes = book.score(POINTS[:8], commit=lambda index, outcome: index == 1)
    assert [o is not None for o in outcomes] == [True, True] + [False] * 6


class Hangs(Gate):
    """(0, 0) never ends by itself (until `release`, set when a test is done); it writes its pid first."""

    def __init__(self, pid_file) -> None:
        super().__init__()
        self.pid_file = pid_file

    def evaluate(self, x):
        if tuple(x) == (0, 0):
            self.pid_file.write_text(str(os.getpid()))
            self.release.wait(timeout=300)
        return float(sum(x))


def hangs_in_a_process(pid_file) -> NumericProblem:
    """The Hangs objective as a problem that travels to worker processes (importable, no lock, no event)."""
    return NumericProblem(
        functools.partial(objectives.hang_at_origin, pid_file=str(pid_file)), [(0, 9), (0, 9)], integer=True
    )


@pytest.mark.parametrize("where", ["threads", "processes"])
def test_an_evaluation_past_its_time_limit_is_failed_and_the_round_goes_on(where: str, tmp_path) -> None:
    pid_file = tmp_path / "pid"
    problem = Hangs(pid_file) if where == "threads" else hangs_in_a_process(pid_file)
    book = ledger(problem, EvalSettings(workers=2, where=where, timeout=1.0))
    try:
        outcomes = book.score(POINTS[:4])
    finally:
        book.close()
        if where == "threads":
            problem.release.set()  # the abandoned thread ends
    assert outcomes[0][:3] == (None, "timed out after 1 s", "failed")
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


def test_processes_evaluate_a_module_level_objective_and_refuse_a_lambda_with_the_fix() -> None:
    book = ledger(
        NumericProblem(objectives.pid, [(0, 9), (0, 9)], integer=True), EvalSettings(workers=2, where="processes")
    )
    outcomes = book.score(POINTS[:4])
    book.close()
    assert all(o.value != os.getpid() for o in outcomes), "each value came from another process"
    with pytest.raises(UsageError, match="define the objective at module level, or use eval_in threads") as refused:
        ledger(NumericProblem(lambda x: 0.0, [(0, 9)]), EvalSettings(where="processes")).score([(1,)])
    assert refused.value.naming(flag_of).endswith("or use --eval-in threads"), "the CLI names the flag"


def test_workers_that_die_while_starting_fail_the_evaluations_waiting_for_them() -> None:
    problem = NumericProblem(objectives.DiesOnArrival(), [(0, 9)], integer=True)  # unpickling it ends the worker
    book = ledger(problem, EvalSettings(workers=2, where="processes"))
    try:
        outcomes = book.score([(1,), (2,), (3,)])
    finally:
        book.close()
    died = (None, "the evaluation's worker died (exit code 3, while it started)", "failed")
    assert [o[:3] for o in outcomes] == [died] * 3


def test_the_same_seed_finds_the_same_whatever_the_number_of_workers() -> None:
    """Every method whose batch does not follow the worker count (Nevergrad and Optuna build theirs from it)."""
    problem = NumericProblem(lambda x: float((x[0] - 1.3) ** 2 + (x[1] + 0.4) ** 2), [(-5, 5), (-5, 5)])
    texts = [f"[{i % 7 - 3}, {i % 5 - 2}]" for i in range(200)]
    methods = [
        "opro",
        "random-search",
        "differential-evolution",
        "cma-es",
        "powell",
        "nelder-mead",
        "dual-annealing",
        "lmx-no-model",
    ]
    rows = {}
    for workers in (1, 4):
        config = OPROConfig(steps=4, proposals=4, eval_workers=workers)
        rows[workers] = compare(problem, config, methods, ScriptedBackend(texts))
    for one, four in zip(rows[1], rows[4]):
        assert [(t.status, t.text, t.value) for t in one.trials] == [
            (t.status, t.text, t.value) for t in four.trials
        ], one.method
        assert one.best_value == four.best_value and one.counts.evals == four.counts.evals
    opro_one, opro_four = rows[1][0], rows[4][0]
    assert opro_one.counts.rounds == opro_one.counts.evals and opro_four.counts.rounds == 2 + 4, (
        "five start points in two rounds of four, then a round per step"
    )


@pytest.mark.parametrize("terms", [{"target": 2.0}, {"max_failures": 3}])
def test_a_stop_falls_where_it_falls_with_one_worker(terms: dict) -> None:
    """A rule that fires in the middle of a round (the target, the failures) stops the method at the same
    evaluation whatever the number of workers: the rest of the round is dropped."""

    def bowl(x):
        if x[0] > 4:
            raise ValueError("off the map")
        return float(x[0] ** 2 + x[1] ** 2)

    problem = NumericProblem(bowl, [(-5, 5), (-5, 5)])
    methods = ["random-search", "cma-es", "differential-evolution"]
    one, four = (compare(problem, OPROConfig(steps=4, proposals=4, eval_workers=w, **terms), methods) for w in (1, 4))
    for a, b in zip(one, four):
        assert (a.stop_reason, a.counts.evals, a.counts.failed_evals, a.best_value) == (
            b.stop_reason,
            b.counts.evals,
            b.counts.failed_evals,
            b.best_value,
        ), a.method


@pytest.mark.parametrize(
    "name, options, methods",
    [
        ("knapsack", {}, ["random-search", "genetic-algorithm", "one-plus-one-ea", "simulated-annealing"]),
        ("tsp", {"cities": 9}, ["random-orderings", "local-search", "genetic-algorithm"]),
    ],
)
def test_bit_vector_and_ordering_methods_find_the_same_whatever_the_number_of_workers(name, options, methods) -> None:
    from llmopt.contract.registry import build_problem

    problem = build_problem(name, options)
    one, four = (compare(problem, OPROConfig(steps=4, proposals=8, eval_workers=w), methods) for w in (1, 4))
    for a, b in zip(one, four):
        assert [(t.status, t.text, t.value) for t in a.trials] == [(t.status, t.text, t.value) for t in b.trials], (
            a.method
        )


def test_a_users_stop_rule_stops_a_black_box_method_with_its_reason() -> None:
    enough = StopRule("enough", lambda view: view.result.counts.evals >= 7)
    problem = NumericProblem(lambda x: float(x[0] ** 2), [(-5, 5)])
    search, cma = compare(problem, OPROConfig(steps=5, proposals=4), ["random-search", "cma-es"], stop=[enough])
    assert search.stop_reason == "enough" and search.counts.evals == 7
    assert cma.stop_reason == "enough" and cma.counts.evals == 7, "in the middle of a generation"


def test_a_search_that_only_asks_infeasible_points_stops_after_a_bounded_number_of_asks() -> None:
    def infeasible(x):
        raise InvalidSolution("over capacity")

    problem = NumericProblem(infeasible, [(-5, 5), (-5, 5)])
    (result,) = compare(problem, OPROConfig(steps=2, proposals=2), ["random-search"])
    assert result.stop_reason == "stalled" and result.counts.evals == 0
    assert result.counts.invalid == {"over capacity": STALL_FLOOR}


def test_nevergrad_and_optuna_run_with_several_workers() -> None:
    """Their searches follow the worker count (`num_workers`, the constant liar); each still spends its budget."""
    problem = NumericProblem(lambda x: float((x[0] - 3) ** 2 + (x[1] - 7) ** 2), [(0, 30), (0, 30)])
    for result in compare(problem, OPROConfig(steps=5, proposals=8, eval_workers=4), ["nevergrad-ngopt", "optuna-tpe"]):
        assert result.stop_reason == "max_evals" and result.counts.evals == 45, (result.method, result.stop_reason)
        assert result.counts.rounds < 45


def test_tell_takes_values_for_the_valid_new_proposals_alone() -> None:
    from llmopt import OPRO
    from llmopt.problems.linear_regression import LinearRegression

    opro = OPRO(
        LinearRegression(),
        ScriptedBackend(["[1, 2]", "oops", "[3, 4]", "[1, 2]"]),
        OPROConfig(steps=1, proposals=4, initial=1),
    )
    ask = opro.ask()
    assert ask.to_evaluate == [(1, 2), (3, 4)], "the invalid and the repeated answers want no value"
    with pytest.raises(ValueError, match=r"one per proposal \(4.*one per valid new proposal \(2"):
        opro.tell(ask, [1.0, 2.0, 3.0])
    trials = opro.tell(ask, [5.0, 7.0])
    assert [(t.status, t.value) for t in trials] == [("ok", 5.0), ("invalid", None), ("ok", 7.0), ("duplicate", None)]


def test_the_time_limit_stops_a_compared_method_too() -> None:
    problem = NumericProblem(objectives.Slow(0.2), [(-5, 5), (-5, 5)])
    (result,) = compare(problem, OPROConfig(steps=5, proposals=8, timeout=1.0), ["random-search"])
    assert result.stop_reason == "timeout" and result.counts.evals < 45
