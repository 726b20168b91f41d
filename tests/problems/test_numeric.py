"""Numeric problems: decoding reasons, test-function minima, baselines at equal budget, --function."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from llmopt.contract.problem import InvalidSolution, UsageError
from llmopt.contract.registry import registry
from llmopt.methods import Setup, run_methods
from llmopt.problems.functions import TEST_FUNCTIONS, ackley, branin, himmelblau, rastrigin, rosenbrock, sphere
from llmopt.problems.numeric import NumericProblem, load_callable, parse_bounds

ROOT = Path(__file__).resolve().parents[2]
BOX = NumericProblem(sphere, [(-5, 5), (0, 10)])


@pytest.mark.parametrize(
    "text, reason",
    [
        ("x = 1", "no [x1, x2] found"),
        ("[1, 2, 3]", "wrong length"),
        ("[1]", "wrong length"),
        ("[nan, 2]", "not a number"),
        ("[inf, 2]", "not a number"),
        ("[1e400, 2]", "not a finite number"),
        ("[one, 2]", "not a number"),
        ("[6, 2]", "out of bounds"),
        ("[1, -0.5]", "out of bounds"),
    ],
)
def test_decode_reasons(text: str, reason: str) -> None:
    with pytest.raises(InvalidSolution) as caught:
        BOX.decode(text)
    assert caught.value.reason == reason


def test_decode_accepts_and_integer_mode() -> None:
    assert BOX.decode("I pick [ -0.0, 2.5 ]") == (0.0, 2.5)
    integer = NumericProblem(sphere, [(-5, 5)] * 2, integer=True)
    assert integer.decode("[3, -2.0]") == (3, -2)
    with pytest.raises(InvalidSolution, match="not an integer"):
        integer.decode("[3.5, 1]")


@pytest.mark.parametrize(
    "fun, point, value",
    [
        (sphere, [0, 0, 0], 0.0),
        (rosenbrock, [1, 1, 1], 0.0),
        (rastrigin, [0, 0], 0.0),
        (ackley, [0, 0], 0.0),
        (branin, [math.pi, 2.275], 5 / (4 * math.pi)),
        (branin, [-math.pi, 12.275], 5 / (4 * math.pi)),
        (himmelblau, [3, 2], 0.0),
        (himmelblau, [-2.805118, 3.131312], 0.0),
    ],
)
def test_known_minima(fun, point, value) -> None:
    assert fun(np.array(point, dtype=float)) == pytest.approx(value, abs=1e-6)


def test_every_test_function_is_registered_with_its_optimum() -> None:
    names = {cls.name for cls in TEST_FUNCTIONS}
    assert names == {"sphere", "rosenbrock", "rastrigin", "ackley", "branin", "himmelblau"}
    assert names <= set(registry())
    assert registry()["sphere"](dim=5).dim == 5 and registry()["branin"]().bounds[1] == (0.0, 15.0)


def test_baselines_use_exactly_the_budget_and_report_it() -> None:
    problem = registry()["rastrigin"](dim=3)
    results = run_methods(problem, Setup(40, seed=2))
    assert {r.method for r in results} == {
        "powell",
        "gp-bo",
        "nevergrad-ngopt",
        "optuna-tpe",
        "nelder-mead",
        "random-search",
    }
    for result in results:
        assert 1 <= result.counts.evals <= 40
        assert result.kind == "black-box" and result.stop_reason in ("max_evals", "converged")
        assert result.best_value == min(t.value for t in result.trials)
        assert [t.eval_index for t in result.trials] == list(range(1, result.counts.evals + 1))
    assert {r.method: r.counts.evals for r in results}["random-search"] == 40


def test_describe_lists_variables_and_bounds() -> None:
    assert "x1 in [-5, 5], x2 in [0, 10]" in BOX.describe()


def test_parse_bounds_and_load_callable() -> None:
    assert parse_bounds("-1:2, 0:0.5") == [(-1.0, 2.0), (0.0, 0.5)]
    with pytest.raises(ValueError):
        parse_bounds("1-2")
    assert load_callable("llmopt.problems.functions:sphere") is sphere
    for spec in ("nomodule_xyz:f", "llmopt.problems.functions:nope", "justtext"):
        with pytest.raises(UsageError):
            load_callable(spec)


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["--function", "llmopt.problems.functions:nope"], "has no"),
        (["--function", "llmopt.problems.functions:sphere", "--bounds=1:0"], "LO < HI"),
        (["--function", "llmopt.problems.functions:sphere", "--bounds", "a:b"], "--bounds"),
        (["--bounds", "0:1"], "--function"),
    ],
)
def test_cli_function_errors(args: list[str], fragment: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "llmopt.cli", "baselines", "function", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert done.returncode == 2 and fragment in done.stderr and len(done.stderr.strip().splitlines()) == 1


def test_cli_function_baselines_json(tmp_path: Path) -> None:
    (tmp_path / "myfun.py").write_text("def bowl(x):\n    return float(((x - 1.5) ** 2).sum())\n")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "llmopt.cli",
            "baselines",
            "function",
            "--function",
            "myfun:bowl",
            "--bounds=-3:3,-3:3,-3:3",
            "--optimum",
            "0",
            "--max-evals",
            "30",
            "--json",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        env={**__import__("os").environ, "PYTHONPATH": str(tmp_path)},
    )
    assert done.returncode == 0, done.stderr
    payload = json.loads(done.stdout)
    assert payload["optimum"] == 0 and len(payload["results"]) == 6


def test_combinatorial_spaces_for_a_users_function() -> None:
    from llmopt.contract.spaces import Bits, Permutation
    from llmopt.methods import methods_for

    bits = NumericProblem.from_options(function="llmopt.problems.functions:sphere", space="bits:6")
    assert isinstance(bits.space, Bits) and bits.solution_label == "vector" and "<bits>" in bits.format_hint()
    assert bits.evaluate((1, 0, 1, 0, 0, 1)) == 3.0
    order = NumericProblem.from_options(function="llmopt.problems.functions:sphere", space="permutation:4")
    assert isinstance(order.space, Permutation) and order.space.start is None
    assert order.decode("<order>3,1,0,2</order>") == (3, 1, 0, 2)
    assert {n for n, m in methods_for(order).items() if m.default} == {
        "opro",
        "random-orderings",
        "local-search",
        "genetic-algorithm",
    }
    with pytest.raises(ValueError, match="bits:N or permutation:N"):
        NumericProblem.from_options(function="llmopt.problems.functions:sphere", space="graph:5")


def test_minimize_takes_a_space(local_backend) -> None:
    from llmopt import minimize

    result = minimize(lambda x: float(np.sum(x)), space="bits:8", model=local_backend, steps=1, proposals=3)
    assert result.best_value is not None and len(result.best_solution) == 8


@pytest.mark.slow
@pytest.mark.parametrize("space", ["bits:16", "permutation:8"])
def test_cli_runs_a_combinatorial_objective_with_the_embedded_model(space: str, tmp_path: Path) -> None:
    (tmp_path / "mymodule.py").write_text(
        "import numpy as np\n\ndef f(x):\n    x = np.asarray(x)\n    return float(np.sum(np.abs(np.diff(x))))\n"
    )
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "llmopt.cli",
            "run",
            "function",
            "--function",
            "mymodule:f",
            "--space",
            space,
            "--steps",
            "2",
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
    payload = json.loads(done.stdout)
    rows = {r["method"]: r for r in payload["results"]}
    assert rows["opro"]["n_llm_calls"] == 16
    black_box = [r for r in payload["results"] if r["kind"] == "black-box"]
    assert len(black_box) >= 3 and all(r["n_evals"] <= payload["budget"] for r in black_box)


def two_bowls(x: np.ndarray) -> tuple[float, float]:
    """Two objectives of a user's function: the distances to (0, 0) and to (1, 0), squared."""
    return float(x @ x), float((x[0] - 1) ** 2 + x[1] ** 2)


def test_the_command_line_gives_a_users_function_several_objectives(monkeypatch: pytest.MonkeyPatch) -> None:
    from llmopt.cli import build_parser
    from llmopt.cli.options import make_problem

    monkeypatch.setitem(sys.modules, "two_bowls_module", sys.modules[__name__])
    base = ["run", "function", "--function", "two_bowls_module:two_bowls", "--bounds", "0:1,0:1"]
    derived = make_problem(build_parser().parse_args([*base, "--directions", "min", "min"]))
    assert derived.directions == ("min", "min") and derived.objectives == 2
    assert derived.evaluate((0.5, 0.5)) == (0.5, 0.5)
    assert len(derived.reference_point()) == 2  # derived from random points
    stated = make_problem(build_parser().parse_args([*base, "--directions", "min,max", "--reference", "2", "-1"]))
    assert stated.directions == ("min", "max") and stated.reference_point() == (2.0, -1.0)
    assert stated.config()["directions"] == ["min", "max"] and "maximize" not in stated.config()
