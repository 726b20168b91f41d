"""Constraints from Python and the command line: scipy's forms in `llmopt.minimize`, converted to Optuna's
convention; `--constraints module:function` for any problem; a constrained comparison adds COBYQA and SLSQP,
shows the feasible column, and every default method's best is feasible or says none was found."""

from __future__ import annotations

import json
import math
import textwrap

import numpy as np
import pytest

import llmopt
from llmopt.backends.scripted import ScriptedBackend
from llmopt.cli import main
from llmopt.contract.constraints import EQ_TOLERANCE, from_scipy
from llmopt.core.errors import UsageError
from llmopt.core.feasibility import feasible
from llmopt.problems.numeric import NumericProblem
from llmopt.report.tables import NO_FEASIBLE, comparison_table


def corner(x: np.ndarray) -> float:
    """(x - (1, 1))^2, whose minimiser (1, 1) breaks the constraint x1 + x2 <= 1."""
    return float((x[0] - 1) ** 2 + (x[1] - 1) ** 2)


def below_line(x: np.ndarray) -> float:
    """scipy's 'ineq' form of x1 + x2 <= 1: met where 1 - x1 - x2 >= 0."""
    return float(1 - x[0] - x[1])


def test_scipy_forms_become_optunas_convention_with_the_stated_tolerance() -> None:
    from scipy.optimize import LinearConstraint, NonlinearConstraint

    values = from_scipy(
        [
            {"type": "ineq", "fun": lambda x: x[0] - 1},  # met where x1 >= 1
            {"type": "eq", "fun": lambda x, a: x.sum() - a, "args": (2.5,)},
            NonlinearConstraint(lambda x: x**2, 0, [1, np.inf]),  # x1^2 <= 1 (lb 0 too); x2^2 >= 0
            LinearConstraint([[1, 1]], 3, 3),  # x1 + x2 = 3
        ]
    )
    x = np.array([0.5, 2.0])
    expected = (0.5, 0.0 - EQ_TOLERANCE, -0.25, 0.25 - 1, -4.0, 0.5 - EQ_TOLERANCE)
    assert values(x) == pytest.approx(expected)
    assert from_scipy({"type": "eq", "fun": lambda x: x[0]})(np.array([EQ_TOLERANCE / 2]))[0] <= 0  # within tolerance


@pytest.mark.parametrize(
    ("form", "said"),
    [
        ([], "the list is empty"),
        (3, "constraint 1 is a int"),
        ({"type": "ge", "fun": abs}, "has 'type' 'ge'"),
        ({"type": "eq"}, "has no callable 'fun'"),
        ([{"type": "eq", "fun": abs}, {"type": "ineq", "fun": abs, "tol": 1}], "constraint 2 has the key 'tol'"),
    ],
)
def test_a_form_scipy_does_not_take_is_a_one_line_usage_error(form, said: str) -> None:
    with pytest.raises(UsageError, match=said) as caught:
        llmopt.minimize(corner, [(-2, 2), (-2, 2)], model=ScriptedBackend([]), constraints=form)
    assert "\n" not in str(caught.value)


def test_minimize_with_an_ineq_constraint_returns_a_feasible_best_where_the_free_optimum_is_infeasible() -> None:
    backend = ScriptedBackend(["[1, 1]", "[0.5, 0.5]", "[0.2, 0.3]"])
    result = llmopt.minimize(
        corner,
        [(-2, 2), (-2, 2)],
        model=backend,
        steps=1,
        proposals=3,
        initial=2,
        seed=3,
        constraints=[{"type": "ineq", "fun": below_line}],
    )
    free = next(t for t in result.trials if t.solution == (1.0, 1.0))
    assert free.value == 0.0 and not free.feasible  # the best value, but it breaks the constraint
    assert result.best_solution == (0.5, 0.5) and result.best_value == pytest.approx(0.5)
    assert result.constrained and below_line(np.array(result.best_solution)) >= 0
    assert "violation: " in backend.prompts[0]  # the model reads each shown solution's violation


@pytest.mark.slow
def test_minimize_with_constraints_on_the_embedded_model(local_backend) -> None:
    result = llmopt.minimize(
        corner,
        [(-2, 2), (-2, 2)],
        model=local_backend,
        steps=1,
        proposals=4,
        seed=1,
        constraints={"type": "ineq", "fun": below_line},
    )
    scored = [t for t in result.trials if t.value is not None]
    kept = [t.value for t in scored if t.feasible]
    assert result.constrained and all(t.constraints is not None for t in scored)
    if kept:
        assert result.best_value == min(kept) and below_line(np.array(result.best_solution)) >= 0
    else:
        assert result.no_feasible and result.best_solution is None


MODULE = """
import math


def corner(x):
    return float((x[0] - 1) ** 2 + (x[1] - 1) ** 2)


def line(x):
    return float(x[0] + x[1] - 1)  # Optuna's convention: <= 0 met


def broken(x):
    raise ValueError("no")
"""


@pytest.fixture
def user_module(tmp_path, monkeypatch):
    (tmp_path / "cons_case_module.py").write_text(textwrap.dedent(MODULE))
    monkeypatch.chdir(tmp_path)
    yield "cons_case_module"
    __import__("sys").modules.pop("cons_case_module", None)


def test_the_cli_takes_constraints_and_its_comparison_adds_cobyqa_and_the_feasible_column(user_module, capsys):
    args = ["baselines", "function", "--function", f"{user_module}:corner", "--bounds=-2:2,-2:2"]
    args += ["--constraints", f"{user_module}:line", "--max-evals", "16", "--no-cache"]
    assert main([*args, "--methods", "cobyqa", "slsqp", "random-search"]) == 0
    table = capsys.readouterr().out
    assert "feasible" in table.splitlines()[0] and "cobyqa" in table
    assert main([*args, "--methods", "cobyqa", "--json"]) == 0
    (row,) = json.loads(capsys.readouterr().out)["results"]
    assert row["method"] == "cobyqa" and row["feasible"] > 0 and row["best_value"] == pytest.approx(0.5, abs=1e-3)


@pytest.mark.parametrize(
    ("spec", "said"),
    [
        ("nomodule_here:line", "cannot import 'nomodule_here' for --constraints"),
        ("{m}:absent", "has no 'absent' for --constraints"),
        ("justaname", "--constraints must look like module:callable"),
    ],
)
def test_a_bad_constraints_flag_is_one_line_and_exit_2(user_module, capsys, spec: str, said: str) -> None:
    spec = spec.format(m=user_module)
    code = main(["baselines", "function", "--function", f"{user_module}:corner", "--constraints", spec])
    err = capsys.readouterr().err
    assert code == 2 and said in err and len(err.strip().splitlines()) == 1


def test_a_constraint_function_that_raises_fails_that_evaluation_with_its_reason(user_module, capsys) -> None:
    args = ["baselines", "function", "--function", f"{user_module}:corner", "--constraints", f"{user_module}:broken"]
    main([*args, "--max-evals", "6", "--methods", "random-search", "--json", "--no-cache"])
    (row,) = json.loads(capsys.readouterr().out)["results"]
    assert row["failed_evals"] > 0 and row["best_value"] is None


def at_most_5(bits) -> int:
    """At most 5 variables true, in Optuna's convention."""
    return sum(bits) - 5


def test_constraints_on_a_problem_of_any_kind_join_its_own() -> None:
    from llmopt.contract.registry import build_problem, get_problem

    options = {option.dest: option.default for option in get_problem("maxsat").options}
    problem = build_problem("maxsat", options)
    constrained = problem.constrained_by(at_most_5, "at-most-5")
    solution = problem.initial(np.random.default_rng(0), 1)[0]
    evaluation, own = constrained.evaluate(solution), problem.evaluate(solution)
    assert (evaluation.value, evaluation.feedback) == (own.value, own.feedback)  # the problem's feedback is kept
    assert evaluation.constraints == sum(solution) - 5
    assert constrained.constrained and not problem.constrained and isinstance(constrained, type(problem))
    assert constrained.config()["constraints"] == "at-most-5" and constrained.fingerprint() != problem.fingerprint()
    import pickle  # a process that evaluates gets the problem pickled

    assert pickle.loads(pickle.dumps(constrained)).evaluate(solution) == evaluation


def flower(x: np.ndarray) -> float:
    """A held-out-style case (Simionescu's): 0.1 x1 x2, best at the tips of a flower-shaped region."""
    return 0.1 * float(x[0] * x[1])


def petals(x: np.ndarray) -> float:
    """Simionescu's constraint, Optuna's convention: x1^2 + x2^2 <= (1 + 0.2 cos(8 atan2(x1, x2)))^2."""
    return float(x[0] ** 2 + x[1] ** 2 - (1 + 0.2 * math.cos(8 * math.atan2(x[0], x[1]))) ** 2)


def test_on_a_held_out_style_constrained_function_every_default_best_is_feasible_or_says_none() -> None:
    problem = NumericProblem(flower, [(-1.25, 1.25), (-1.25, 1.25)], constraints=petals)
    answers = ["[2, 2]", "[1.2, 1.2]", "[-0.6, 0.6]", "[0.3, -0.5]"] * 3
    config = llmopt.OPROConfig(steps=3, proposals=4, initial=4, max_evals=16, seed=5)
    results = llmopt.compare(problem, config, backend=ScriptedBackend(answers))
    names = [r.method for r in results]
    assert names[0] == "opro" and "cobyqa" in names and "slsqp" in names
    table = comparison_table(results, None)
    for result in results:
        if result.best_solution is None:
            assert result.no_feasible and NO_FEASIBLE in next(row for row in table.splitlines() if result.method in row)
        else:
            assert feasible([petals(np.array(result.best_solution))]), result.method


def test_a_constraint_functions_identity_follows_its_modules_source(tmp_path, monkeypatch) -> None:
    """One module, edited: its constraint function's code is the same but the helper it calls changed, so it
    is not the same task (the bytecode alone would say it is)."""
    import importlib
    import sys

    from llmopt.contract.constraints import function_identity

    identities = []
    for limit in (1.0, 2.0):
        folder = tmp_path / str(limit)
        folder.mkdir()
        (folder / "limits.py").write_text(
            f"def helper(x):\n    return {limit}\n\n\ndef c(x):\n    return x - helper(x)\n"
        )
        monkeypatch.syspath_prepend(str(folder))
        monkeypatch.delitem(sys.modules, "limits", raising=False)
        module = importlib.import_module("limits")
        identities.append((function_identity(module.c), module.c.__code__.co_code))
    monkeypatch.delitem(sys.modules, "limits", raising=False)
    assert identities[0][1] == identities[1][1]  # the same bytecode
    assert identities[0][0] != identities[1][0]
