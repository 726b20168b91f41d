"""MaxSAT: DIMACS CNF and WCNF readers, hard clauses, RC2 and WalkSAT against brute force."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np
import pytest

from llmopt.cli import main
from llmopt.contract.evaluation import Evaluation
from llmopt.contract.problem import InvalidSolution
from llmopt.problems.maxsat import CNFFileError, MaxSAT, random_3sat, read_formula

CNF = "c a tiny formula\np cnf 3 4\n1 -2 0\n2 3 0\n-1 -3 0\n-2\n 3 0\n%\n0\n"  # SATLIB's '%' ending too
WCNF = "p wcnf 3 4 10\n10 1 2 0\n3 -1 0\n2 -2 0\n1 -1 2 0\n"
NEW_WCNF = "c 2022 format\nh 1 2 0\n3 -1 0\n2 -2 0\n"


def brute_force(problem: MaxSAT) -> float:
    best = float("inf")
    for bits in itertools.product((0, 1), repeat=problem.formula.n_vars):
        try:
            best = min(best, problem.unsatisfied_weight(bits))
        except InvalidSolution:
            pass
    return best


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_cnf_with_a_clause_over_two_lines_and_the_satlib_ending(tmp_path: Path) -> None:
    formula = read_formula(write(tmp_path, "tiny.cnf", CNF))
    assert formula.n_vars == 3 and formula.clauses[-1] == (-2, 3) and not any(formula.hard)
    assert read_formula(write(tmp_path, "one_line.cnf", "p cnf 3 2\n1 -2 0 2 3 0\n")).clauses == ((1, -2), (2, 3))


@pytest.mark.parametrize("name, text, hard", [("w.wcnf", WCNF, 1), ("new.wcnf", NEW_WCNF, 1)])
def test_weighted_formats_and_hard_clauses(tmp_path: Path, name: str, text: str, hard: int) -> None:
    problem = MaxSAT(read_formula(write(tmp_path, name, text)))
    assert sum(problem.formula.hard) == hard
    assert problem.optimum() == brute_force(problem)
    with pytest.raises(InvalidSolution, match="^breaks a hard clause$"):
        problem.decode(problem.space.encode((0,) * problem.formula.n_vars))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_rc2_is_exact_and_walksat_close_on_random_3sat(seed: int) -> None:
    problem = MaxSAT(random_3sat(12, 6.0, seed))  # over-constrained: some clauses must stay unsatisfied
    optimum = brute_force(problem)
    assert problem.optimum() == optimum == problem.unsatisfied_weight(problem.references()["rc2"]())
    assert problem.unsatisfied_weight(problem.references()["walksat"]()) >= optimum


@pytest.mark.parametrize(
    "text, assignment, value, feedback",
    [
        # by hand: x1 false, x2 true, x3 false leave (1 -2) and (-2 3) unsatisfied
        (
            "p cnf 3 4\n1 -2 0\n2 3 0\n-1 -3 0\n-2 3 0\n",
            (0, 1, 0),
            2.0,
            "2 of 4 clauses unsatisfied; they are: (1 -2) (-2 3)",
        ),
        (
            "p cnf 3 4\n1 -2 0\n2 3 0\n-1 -3 0\n-2 3 0\n",
            (1, 0, 1),
            1.0,
            "1 of 4 clauses unsatisfied; they are: (-1 -3)",
        ),
        ("p cnf 3 4\n1 -2 0\n2 3 0\n-1 -3 0\n-2 3 0\n", (1, 1, 0), 1.0, "1 of 4 clauses unsatisfied; they are: (-2 3)"),
        ("p cnf 3 4\n1 -2 0\n2 3 0\n-1 -3 0\n-2 3 0\n", (0, 0, 1), 0.0, "Every clause is satisfied."),
        (
            "p cnf 3 7\n1 0\n2 0\n3 0\n1 2 0\n1 3 0\n2 3 0\n1 2 3 0\n",
            (0, 0, 0),
            7.0,
            "7 of 7 clauses unsatisfied; the first 5: (1) (2) (3) (1 2) (1 3)",
        ),
        (WCNF, (1, 1, 0), 5.0, "2 of 4 clauses unsatisfied; they are: [3](-1) [2](-2)"),  # weights as described
    ],
)
def test_feedback_writes_the_first_unsatisfied_clauses_as_the_description_does(
    tmp_path: Path, text: str, assignment: tuple[int, ...], value: float, feedback: str
) -> None:
    problem = MaxSAT(read_formula(write(tmp_path, "f.wcnf" if "wcnf" in text else "f.cnf", text)))
    assert problem.evaluate(assignment) == Evaluation(value, feedback=feedback)
    if value:
        assert all(clause in problem.describe() for clause in feedback.split(": ", 1)[1].split())


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("p cnf 2 1\n1 x 0\n", ":2: a clause holds whole numbers"),
        ("p cnf 2 1\n1 3 0\n", "a literal names"),
        ("p cnf x 1\n", ":1: expected 'p cnf"),
        ("1 2 0\n", "no 'p cnf'"),
        ("p cnf 2 0\n", "no clauses"),
        ("p wcnf 2 1 5\n-1 1 0\n", ":2: a weight must be"),
        ("p wcnf 2 1 top\n3 1 0\n", ":1: a weight must be"),
        ("p wcnf 2 1 5\nnan 1 0\n", ":2: a weight must be"),
        ("p cnf 2 2\n1 2 0\n", "announces 2 clauses"),
        ("p cnf 2 1\n1 2\n", ":2: a clause needs literals and must end with 0"),
    ],
)
def test_a_broken_file_names_the_line(tmp_path: Path, text: str, fragment: str) -> None:
    path = write(tmp_path, "bad.cnf", text)
    with pytest.raises(CNFFileError, match=fragment) as caught:
        read_formula(path)
    assert str(path) in str(caught.value)


def test_initial_assignments_keep_every_hard_clause(tmp_path: Path) -> None:
    problem = MaxSAT(read_formula(write(tmp_path, "w.wcnf", WCNF)))
    for start in problem.initial(np.random.default_rng(0), 10):
        problem.unsatisfied_weight(start)  # raises when a hard clause is broken


def test_baselines_cli_gives_the_fewest_unsatisfied_clauses(tmp_path: Path, capsys) -> None:
    formula = random_3sat(14, 4.26, 7)  # small enough to check the optimum by brute force
    lines = [f"p cnf {formula.n_vars} {len(formula.clauses)}"] + [" ".join(map(str, c)) + " 0" for c in formula.clauses]
    path = write(tmp_path, "uf20-like.cnf", "\n".join(lines) + "\n")
    assert main(["baselines", "maxsat", "--instance", str(path), "--json", "--no-cache"]) == 0
    payload = json.loads(capsys.readouterr().out)
    rows = {r["method"]: r for r in payload["results"]}
    assert payload["optimum"] == brute_force(MaxSAT(formula)), "the optimum every row is measured against"
    assert rows["rc2"]["kind"] == "reference" and rows["rc2"]["best_value"] == payload["optimum"]
    assert all(r["best_value"] >= rows["rc2"]["best_value"] for r in payload["results"])


def test_a_uf50_sized_prompt_stays_compact() -> None:
    assert len(MaxSAT(random_3sat(50, 218 / 50, 0)).describe()) < 3_500
