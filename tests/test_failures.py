"""Failed evaluations are data: recorded with a reason, never scored or shown, retried on resume."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from llmopt.backends.scripted import ScriptedBackend
from llmopt.contract.problem import Problem
from llmopt.contract.spaces import Box
from llmopt.engine.records import RunRecorder, read_pending, read_steps
from llmopt.methods import Setup, run_methods
from llmopt.opro import OPRO, OPROConfig

ROOT = Path(__file__).resolve().parents[1]
BOX_METHODS = [
    "nelder-mead",
    "powell",
    "differential-evolution",
    "dual-annealing",
    "cma-es",
    "random-search",
    "optuna-tpe",
    "nevergrad-ngopt",
    "gp-bo",
]


class Fragile(Problem):
    """(x - 3)² + (y - 3)² on an integer box; it raises where x < 0 and gives NaN where x == 9.

    Its start points are fixed and all fine, so every failure below comes from a proposal.
    """

    name, summary = "fragile", "test problem"
    solution_label, value_label = "point", "value"

    def __init__(self) -> None:
        self.space = Box(((-9, 9), (-9, 9)), integer=True)
        self.broken = True
        self.calls: list[tuple[int, int]] = []

    def describe(self) -> str:
        return "Minimise f."

    def format_hint(self) -> str:
        return "Answer as [x1, x2]."

    def initial(self, rng, k):
        return [(5, 5), (4, 4), (6, 6), (7, 7), (8, 8)][:k]

    def evaluate(self, x) -> float:
        self.calls.append(tuple(x))
        if self.broken and x[0] < 0:
            raise ValueError("simulation\ndiverged")
        if x[0] == 9:
            return math.nan
        return float((x[0] - 3) ** 2 + (x[1] - 3) ** 2)


def test_opro_records_failures_and_keeps_them_out_of_the_meta_prompt() -> None:
    backend = ScriptedBackend(["[-2, 1]", "[9, 9]", "[1, 1]", "[-2, 1]"] * 2)
    opro = OPRO(Fragile(), backend, OPROConfig(steps=2, proposals=4, initial=2, seed=1))
    result = opro.run()
    failed = [t for t in result.trials if t.status == "failed"]
    assert [t.reason for t in failed[:2]] == ["ValueError: simulation diverged", "not a finite value: nan"]
    assert all(t.value is None and t.eval_index is None for t in failed)
    assert result.counts.failed_evals == len(failed) and result.stop_reason == "max_steps"
    assert "[-2, 1]" not in backend.prompts[1] and "[9, 9]" not in backend.prompts[1]
    assert "[1, 1]" in backend.prompts[1]
    assert result.summary()["failed_evals"] == len(failed)


def test_max_failures_stops_the_run() -> None:
    backend = ScriptedBackend(["[-1, 1]", "[-2, 1]", "[-3, 1]", "[-4, 1]"] * 5)
    result = OPRO(Fragile(), backend, OPROConfig(steps=5, proposals=4, initial=1, max_failures=3)).run()
    assert result.stop_reason == "max_failures" and result.counts.failed_evals == 4
    assert result.counts.llm_calls == 1


def test_resume_retries_only_what_failed(tmp_path: Path) -> None:
    config = OPROConfig(steps=2, proposals=3, initial=2, seed=4)
    texts = ["[-2, 1]", "[1, 1]", "[9, 9]", "[-5, 2]", "[2, 2]", "[0, 0]"]
    first = Fragile()
    recorder = RunRecorder(tmp_path / "run", {"problem": "fragile"})
    done = OPRO(first, ScriptedBackend(texts), config, recorder).run()
    assert done.counts.failed_evals == 3
    again = Fragile()
    again.broken = False  # the simulation is fixed, the NaN point is still a NaN point
    resumed = OPRO(again, ScriptedBackend([]), config, RunRecorder(tmp_path / "run", {}, resume=True))
    resumed.restore(read_steps(tmp_path / "run"), read_pending(tmp_path / "run"))
    result = resumed.run()
    assert sorted(again.calls) == [(-5, 2), (-2, 1), (9, 9)]  # nothing that was scored is scored again
    # each retry's outcome replaces its failure: two were put right, the NaN point failed again and counts once
    assert result.counts.failed_evals == 1 and result.counts.evals == done.counts.evals + 2
    assert [s.get("retry") for s in read_steps(tmp_path / "run")][-1] is True


def test_resume_with_a_step_in_progress_finishes_it_before_retrying_failures(tmp_path: Path) -> None:
    class Dying(Fragile):
        def evaluate(self, x) -> float:
            if x == (2, 2):
                raise KeyboardInterrupt  # the process dies while scoring step 2
            return super().evaluate(x)

    config = OPROConfig(steps=3, proposals=2, initial=1, seed=4, max_evals=6)
    texts = ["[-1, 1]", "[1, 1]", "[4, 4]", "[2, 2]", "[0, 1]", "[1, 0]"]
    with pytest.raises(KeyboardInterrupt):
        OPRO(Dying(), ScriptedBackend(texts), config, RunRecorder(tmp_path / "run", {})).run()
    fixed = Fragile()
    fixed.broken = False
    resumed = OPRO(fixed, ScriptedBackend(texts[4:]), config, RunRecorder(tmp_path / "run", {}, resume=True))
    resumed.restore(read_steps(tmp_path / "run"), read_pending(tmp_path / "run"))
    result = resumed.run()
    assert fixed.calls == [(2, 2), (-1, 1), (0, 1)]  # the pending step, then the retry, then step 3
    assert result.counts.failed_evals == 0 and result.counts.evals == 6 == config.max_evals
    records = read_steps(tmp_path / "run")
    assert [(r["step"], r.get("retry")) for r in records] == [(0, False), (1, False), (2, False), (2, True), (3, False)]


def test_a_crash_among_the_initial_points_repeats_none_of_them(tmp_path: Path) -> None:
    class Crashing(Fragile):
        def evaluate(self, x) -> float:
            if len(self.calls) == 3:
                raise KeyboardInterrupt  # the process dies here
            return super().evaluate(x)

    config = OPROConfig(steps=1, proposals=1, initial=5, seed=2)
    with pytest.raises(KeyboardInterrupt):
        OPRO(Crashing(), ScriptedBackend([]), config, RunRecorder(tmp_path / "run", {})).start()
    again = Fragile()
    resumed = OPRO(again, ScriptedBackend(["[3, 3]"]), config, RunRecorder(tmp_path / "run", {}, resume=True))
    resumed.restore(read_steps(tmp_path / "run"), read_pending(tmp_path / "run"))
    result = resumed.run()
    fresh = OPRO(Fragile(), ScriptedBackend(["[3, 3]"]), config).run()
    assert len(again.calls) == 5 - 3 + 1  # the rest of step 0, then the one proposal
    assert [(t.solution, t.value) for t in result.trials] == [(t.solution, t.value) for t in fresh.trials]


def test_asking_twice_before_telling_returns_the_same_step() -> None:
    backend = ScriptedBackend(["[1, 1]", "[2, 2]"] * 3)
    opro = OPRO(Fragile(), backend, OPROConfig(steps=3, proposals=2, initial=1))
    first = opro.ask()
    assert opro.ask() is first and len(backend.requests) == 1
    opro.evaluate(first)
    opro.tell(first)
    assert opro.ask().step == 2


@pytest.mark.parametrize("method", BOX_METHODS)
def test_black_box_methods_go_on_past_failures(method: str) -> None:
    problem = Fragile()
    (result,) = run_methods(problem, Setup(max_evals=30, seed=0, starts=((-3, -3), (5, 5))), [method])
    assert result.stop_reason in ("max_evals", "converged", "stalled", "max_failures (the default: the budget, 30)")
    assert result.counts.failed_evals >= 1  # the failures really happened, and the method went on
    assert all(t.value is None for t in result.trials if t.status == "failed")
    assert result.best_value is not None and math.isfinite(result.best_value)
    assert result.counts.evals <= 30 and result.counts.failed_evals <= 30


def test_an_objective_that_always_fails_ends_a_black_box_method() -> None:
    problem = Fragile()
    problem.space = Box(((-9, -1), (-9, 9)), integer=True)
    (result,) = run_methods(problem, Setup(max_evals=10, seed=0, max_failures=4), ["random-search"])
    assert result.stop_reason == "max_failures" and result.counts.failed_evals == 4 and result.best_value is None


@pytest.mark.slow
def test_cli_run_survives_a_raising_objective_with_the_embedded_model(tmp_path: Path) -> None:
    (tmp_path / "diverging.py").write_text(
        "def f(x):\n"
        "    if x[0] > 0:\n"
        "        raise ValueError('simulation diverged')\n"
        "    return float((x ** 2).sum())\n"
    )
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "llmopt.cli",
            "run",
            "function",
            "--function",
            "diverging:f",
            "--bounds=-5:5,-5:5",
            "--steps",
            "2",
            "--proposals",
            "4",
            "--json",
            "--out",
            str(tmp_path / "run"),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=900,
        env={**__import__("os").environ, "PYTHONPATH": str(tmp_path)},
    )
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    rows = {r["method"]: r for r in json.loads(done.stdout)["results"]}
    assert sum(r["failed_evals"] for r in rows.values()) > 0
    steps = read_steps(tmp_path / "run")
    failed = [t for s in steps for t in s["trials"] if t["status"] == "failed"]
    assert all(t["reason"] == "ValueError: simulation diverged" for t in failed)
    assert np.isfinite(rows["opro"]["best_value"])


NOT_NUMBERS = """

def none(x):
    return None

def text(x):
    return "1.5"

def pair(x):
    return [1.0, 2.0]

def complex_(x):
    return 1 + 2j

def three(x):
    return float(x[0] + x[1] + x[2])

def fine(x):
    return np.float64(x[0] ** 2)
"""


@pytest.mark.parametrize(
    "name, reason",
    [
        ("none", "returned NoneType 'None', not a real number"),
        ("text", "returned str '1.5', not a real number"),
        ("pair", "returned list"),
        ("complex_", "returned complex"),
        ("three", "does f take more variables than the 2 --bounds gives?"),
    ],
)
def test_a_run_whose_every_evaluation_failed_says_so_and_exits_3(name: str, reason: str, tmp_path) -> None:
    import subprocess
    import sys

    (tmp_path / "objs.py").write_text(NOT_NUMBERS)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "llmopt.cli",
            "run",
            "function",
            "--function",
            f"objs:{name}",
            "--bounds=-5:5,-5:5",
            "--steps",
            "1",
            "--methods",
            "powell",
            "random-search",
            "--no-cache",
            "--out",
            str(tmp_path / "run"),
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
    )
    assert done.returncode == 3, done.stderr
    assert done.stdout.startswith("NOT A COMPARISON: no method has a result") and reason in done.stdout
    assert "warning: powell: 13 evaluations failed, the first: " in done.stderr and reason in done.stderr


def test_a_numpy_number_is_a_value_and_a_string_is_not() -> None:
    from llmopt.contract.problem import evaluate_safely
    from llmopt.problems.numeric import NumericProblem

    assert NumericProblem(lambda x: np.float64(2.5), [(0, 1)]).evaluate((0.5,)) == 2.5
    value, reason, status, *_ = evaluate_safely(NumericProblem(lambda x: "1.5", [(0, 1)]).evaluate, (0.5,))
    assert value is None and status == "failed" and "returned str '1.5'" in reason


def test_an_evaluation_scores_to_a_named_value_reason_and_status() -> None:
    from llmopt.contract.problem import Scored, evaluate_safely

    assert evaluate_safely(lambda x: x * 2, 1.5) == Scored(value=3.0, reason=None, status="ok")
    failed = evaluate_safely(lambda x: 1 / x, 0)
    assert failed.value is None and failed.status == "failed" and failed.reason.startswith("ZeroDivisionError")


def test_a_black_box_stop_by_the_default_failure_bound_says_it_was_the_default() -> None:
    problem = Fragile()
    problem.space = Box(((-9, -1), (-9, 9)), integer=True)
    (result,) = run_methods(problem, Setup(max_evals=6, seed=0), ["random-search"])
    assert result.stop_reason == "max_failures (the default: the budget, 6)" and result.counts.failed_evals == 6


EXITS = """
import sys

def exits(x):
    if x[0] > 0:
        sys.exit(1)
    return float(x[0] ** 2 + x[1] ** 2)

def chatty(x):
    for line in range(200):
        print("step", line, "of the simulation")
    return float(x[0] ** 2 + x[1] ** 2)
"""


@pytest.mark.parametrize("where", ["threads", "processes"])
def test_an_objective_that_calls_sys_exit_fails_that_evaluation_and_the_run_goes_on(where: str, tmp_path) -> None:
    (tmp_path / "objs.py").write_text(EXITS)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "llmopt.cli",
            "run",
            "function",
            "--function",
            "objs:exits",
            "--bounds=-5:5,-5:5",
            "--max-evals",
            "12",
            "--methods",
            "random-search",
            "nelder-mead",
            "--eval-in",
            where,
            "--eval-workers",
            "2",
            "--no-cache",
            "--json",
            "--out",
            str(tmp_path / "run"),
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    rows = {row["method"]: row for row in json.loads(done.stdout)["results"]}
    assert rows["random-search"]["failed_evals"] > 0 and rows["random-search"]["best_value"] is not None
    assert "evaluations failed, the first: SystemExit(1)" in done.stderr


def test_sys_exit_in_python_fails_the_evaluation_and_ctrl_c_still_stops() -> None:
    from llmopt.contract.problem import evaluate_safely

    def leaves(x):
        raise SystemExit("bye")

    assert evaluate_safely(leaves, (1,))[:3] == (None, "SystemExit('bye')", "failed")

    def interrupted(x):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        evaluate_safely(interrupted, (1,))


def test_json_stdout_holds_one_object_whatever_the_objective_prints(tmp_path) -> None:
    (tmp_path / "objs.py").write_text(EXITS)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "llmopt.cli",
            "run",
            "function",
            "--function",
            "objs:chatty",
            "--bounds=-5:5,-5:5",
            "--max-evals",
            "6",
            "--methods",
            "random-search",
            "--no-cache",
            "--json",
            "--eval-in",
            "processes",
            "--out",
            str(tmp_path / "run"),
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["results"][0]["n_evals"] == 6
    assert done.stderr.count("step 199 of the simulation") == 6, "the objective's prints go to stderr, none lost"


@pytest.mark.parametrize("value", [np.array([2.5]), np.array([[2.5]]), np.array(2.5)])
def test_a_size_one_array_is_a_number(value) -> None:
    from llmopt.problems.numeric import NumericProblem

    assert NumericProblem(lambda x: value, [(0, 1)]).evaluate((0.5,)) == 2.5


def test_an_objective_failing_on_every_start_for_one_reason_stops_before_the_model_is_asked() -> None:
    import llmopt

    backend = ScriptedBackend(["[1, 1]"] * 8)
    with pytest.raises(
        llmopt.ObjectiveError,
        match=r"every start point \(5\) with the same reason: TypeError: "
        r"the function returned tuple",
    ):
        llmopt.minimize(lambda x: (1.0, 2.0), [(-2, 2), (-2, 2)], model=backend, steps=2, proposals=4)
    assert backend.prompts == [], "the model was not asked"


def test_the_cli_refuses_an_objective_broken_on_every_start_with_exit_2(tmp_path) -> None:
    from llmopt.testing.stub_server import StubSettings, serve

    (tmp_path / "objs.py").write_text("def pair(x):\n    return (1.0, 2.0)\n")
    server, url = serve(StubSettings())
    try:
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "llmopt.cli",
                "run",
                "function",
                "--function",
                "objs:pair",
                "--bounds=-5:5,-5:5",
                "--steps",
                "1",
                "--model",
                "stub",
                "--base-url",
                url,
                "--no-cache",
                "--out",
                str(tmp_path / "run"),
            ],
            capture_output=True,
            text=True,
            cwd=tmp_path,
            timeout=120,
        )
    finally:
        server.shutdown()
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "the objective failed on every start point (5) with the same reason" in done.stderr
    assert f"continue with --resume {tmp_path / 'run'}" in done.stderr, "nothing evaluated is lost"


def test_different_reasons_on_the_starts_let_the_run_go_on() -> None:
    import llmopt

    def fails_everywhere_differently(x):
        raise ValueError(f"diverged at {x[0]:.3f}")

    result = llmopt.minimize(
        fails_everywhere_differently, [(-2, 2), (-2, 2)], model=ScriptedBackend(["[1, 1]"] * 8), steps=1, proposals=4
    )
    assert result.counts.failed_evals == 6 and result.best_value is None


def test_a_black_box_search_that_saw_only_failures_never_says_converged() -> None:
    problem = Fragile()
    problem.space = Box(((-9, -1), (-9, 9)), integer=True)
    (result,) = run_methods(problem, Setup(max_evals=40, seed=0, max_failures=1000), ["nelder-mead"])
    assert result.counts.evals == 0 and result.counts.failed_evals > 0
    assert result.stop_reason == "every evaluation failed"


class CrashesOnSecondPrompt(Fragile):
    """Fragile, whose description breaks after `works` meta-prompts: OPRO crashes mid-run."""

    def __init__(self, works: int) -> None:
        super().__init__()
        self.works = works

    def describe(self) -> str:
        self.works -= 1
        if self.works < 0:
            raise RuntimeError("the description broke")
        return super().describe()


def test_a_model_driven_method_that_crashed_makes_the_run_no_comparison(capsys) -> None:
    from llmopt.cli.compare import _output, exit_code
    from llmopt.methods.comparison import compare

    problem = CrashesOnSecondPrompt(works=1)
    backend = ScriptedBackend(["[1, 1]", "[2, 2]"] * 4)
    results = compare(problem, OPROConfig(steps=3, proposals=2, initial=2), ["opro", "random-search"], backend)
    assert results[0].stop_reason == "crashed: RuntimeError: the description broke"
    payload = _output(problem, results, True, {})
    capsys.readouterr()
    assert exit_code(payload) == 3
    assert payload["model_failed"] == [
        "opro crashed: RuntimeError: the description broke; its row shows where it stood, not a result"
    ]
    _output(problem, results, False, {})
    assert capsys.readouterr().out.startswith("NOT A COMPARISON: opro crashed")


def test_a_run_in_which_every_method_crashed_is_no_comparison() -> None:
    from llmopt.cli.compare import _output, exit_code
    from llmopt.methods.comparison import compare

    problem = CrashesOnSecondPrompt(works=0)  # the first meta-prompt crashes, as a broken problem's would
    results = compare(problem, OPROConfig(steps=3, proposals=2, initial=2), ["opro"], ScriptedBackend([]))
    assert results[0].stop_reason.startswith("crashed")
    payload = _output(problem, results, True, {})
    assert exit_code(payload) == 3 and payload["evaluations_failed"].startswith("no method has a result")


@pytest.mark.parametrize("initial, message", [(1, "TypeError: broken"), (5, "ValueError: simulation diverged")])
def test_a_failing_start_that_is_data_lets_the_run_go_on(initial: int, message: str) -> None:
    """One start is no evidence; and a failure of the kind a bad solution gives is data, whatever its count."""
    import llmopt

    kind, text = message.split(": ")

    def objective(x):
        if x[0] > -1.9:
            raise {"TypeError": TypeError, "ValueError": ValueError}[kind](text)
        return float(x[0] ** 2)

    result = llmopt.minimize(
        objective, [(-2, 2), (-2, 2)], model=ScriptedBackend(["[-1.95, 0]"] * 8), steps=1, proposals=2, initial=initial
    )
    assert result.counts.failed_evals >= initial and result.best_value == pytest.approx(1.95**2)
