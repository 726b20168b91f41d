"""Knapsack: Pisinger's generators, the strict file reader, capacity, exact DP against brute force."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np
import pytest

from llmopt.cli import main
from llmopt.contract.evaluation import Evaluation
from llmopt.problems.knapsack import Knapsack, KnapsackFileError, random_instance, read_instance

# A small instance in the standard file format, its optimal vector on the last line (value 295, by brute force).
SMALL = "10 269\n55 95\n10 4\n47 60\n5 32\n4 23\n50 72\n8 80\n61 62\n85 65\n87 46\n0 1 1 1 0 0 0 1 1 1\n"


def brute_force(problem: Knapsack) -> float:
    return max(
        problem.total_value(bits)
        for bits in itertools.product((0, 1), repeat=problem.n)
        if problem.weight(bits) <= problem.instance.capacity
    )


@pytest.mark.parametrize("kind", ["uncorrelated", "weakly", "strongly"])
def test_dynamic_programming_is_exact_on_random_instances(kind: str) -> None:
    problem = Knapsack(random_instance(12, kind, seed=3, spread=100))
    assert problem.optimum() == brute_force(problem)
    assert problem.total_value(problem.greedy()) <= problem.optimum()


def test_generators_follow_pisinger() -> None:
    weak = random_instance(200, "weakly", seed=1, spread=1000)
    assert all(abs(v - w) <= 100 for v, w in zip(weak.values, weak.weights))
    strong = random_instance(200, "strongly", seed=1, spread=1000)
    assert all(v == w + 100 for v, w in zip(strong.values, strong.weights))
    assert strong.capacity == sum(strong.weights) // 2


def test_the_file_format_and_its_optimal_line(tmp_path: Path) -> None:
    path = tmp_path / "ten_items.txt"
    path.write_text(SMALL)
    problem = Knapsack(read_instance(path))
    assert problem.n == 10 and problem.instance.capacity == 269
    assert problem.optimum() == 295 == brute_force(problem) == problem.total_value(problem._exact)


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("", "empty file"),
        ("3\n", ":1: expected 'n capacity', the file ends"),
        ("2 10\n1 2\n", "2 items announced, 1 found"),
        ("2 10\n1 2\n3 x\n", ":3: expected numbers"),
        ("2 10\n1 2\n3 -4\n", ":3: "),
        ("2 10\n1 2\n3 4\n1 0 1\n", ":4: after the items"),
        ("1.5 10\n1 2\n", "positive integer"),
    ],
)
def test_a_broken_file_names_the_line(tmp_path: Path, text: str, fragment: str) -> None:
    path = tmp_path / "bad.txt"
    path.write_text(text)
    with pytest.raises(KnapsackFileError, match=fragment.replace("(", r"\(")) as caught:
        read_instance(path)
    assert str(path) in str(caught.value)


@pytest.fixture(name="problem")
def problem_fixture(tmp_path: Path) -> Knapsack:
    path = tmp_path / "ten_items.txt"
    path.write_text(SMALL)
    return Knapsack(read_instance(path))


def test_over_capacity_is_a_constraint_with_its_amount_not_an_invalid_answer(problem: Knapsack) -> None:
    everything = problem.decode(problem.space.encode((1,) * 10))  # 539 > 269: decoded all the same
    # by hand: every item weighs 539 and is worth 412; the least value per weight are 6 (0.1), 3 (0.16), 4 (0.17)
    assert problem.evaluate(everything) == Evaluation(
        412.0,
        feedback="Over capacity by 270 (weight 539 of 269). "
        "The chosen items of least value per weight: 6: (8, 80), 3: (5, 32), 4: (4, 23).",
        constraints=(270.0,),
    )
    for start in problem.initial(np.random.default_rng(0), 20):
        assert problem.weight(start) <= problem.instance.capacity


@pytest.mark.parametrize(
    "chosen, slack, feedback",
    [
        ((8, 9), -158.0, "Weight 111 of 269, 158 to spare. Item 7: (61, 62) is not chosen and fits."),
        ((), -269.0, "Weight 0 of 269, 269 to spare. Item 9: (87, 46) is not chosen and fits."),
        (
            (1, 2, 3, 7, 8, 9),  # the optimum: nothing left fits, so the feedback names what a swap would give up
            0.0,
            "Weight 269 of 269, 0 to spare. No unchosen item fits; "
            "the chosen items of least value per weight: 3: (5, 32), 2: (47, 60), 7: (61, 62).",
        ),
    ],
)
def test_a_feasible_selection_hears_its_room_and_what_still_fits(
    problem: Knapsack, chosen: tuple[int, ...], slack: float, feedback: str
) -> None:
    selection = tuple(int(i in chosen) for i in range(10))
    evaluation = problem.evaluate(selection)
    assert (evaluation.feedback, evaluation.constraints) == (feedback, (slack,))
    assert evaluation.value == sum(problem.instance.values[i] for i in chosen)


def test_a_black_box_search_sees_debs_penalty_for_an_overfull_knapsack(problem: Knapsack) -> None:
    from llmopt.core.result import Result
    from llmopt.methods import Setup
    from llmopt.methods.classical.base import Objective

    result = Result("search", problem.name, problem.direction)
    objective = Objective.on_terms(problem, Setup(max_evals=5), result)
    assert objective((0,) * 8 + (1, 1)) == 172.0
    # 270 over capacity: the worst feasible value so far (172) less the violation, not the worst value there is
    assert objective((1,) * 10) == 172.0 - 270.0
    assert objective.constraints((1,) * 10) == (270.0,)
    assert result.counts.evals == 2 and result.counts.n_invalid == 0 and result.counts.feasible == 1
    assert result.best_value == 172.0 and result.constrained and Knapsack.constrained


def test_baselines_cli_reaches_the_optimum_and_nothing_beats_it(tmp_path: Path, capsys) -> None:
    path = tmp_path / "ten_items.txt"
    path.write_text(SMALL)
    assert (
        main(
            [
                "baselines",
                "knapsack",
                "--instance",
                str(path),
                "--optimum",
                "295",
                "--json",
                "--no-cache",
                "--steps",
                "4",
            ]
        )
        == 0
    )
    payload = json.loads(capsys.readouterr().out)
    rows = {r["method"]: r for r in payload["results"]}
    assert rows["dynamic-programming"]["best_value"] == 295 and rows["dynamic-programming"]["kind"] == "reference"
    assert {"random-search", "one-plus-one-ea", "simulated-annealing", "nevergrad-ngopt", "optuna-tpe"} <= set(rows)
    assert all(r["best_value"] <= 295 for r in payload["results"])


def test_a_large_instance_prompt_stays_compact() -> None:
    problem = Knapsack(random_instance(100, "weakly", seed=0))
    assert len(problem.describe()) < 2_000


@pytest.mark.parametrize("layout", ["one header line, LF", "two header lines, CRLF and trailing spaces"])
def test_standard_files_read_in_both_header_layouts(tmp_path: Path, layout: str, capsys) -> None:
    from llmopt.cli import main

    lines = SMALL.strip().splitlines()
    if layout.startswith("two"):
        n, capacity = lines[0].split()
        lines = [f"{n}  ", f"{capacity} ", *(line + "  " for line in lines[1:])]
        text = "\r\n".join(lines) + "\r\n"
    else:
        text = "\n".join(lines) + "\n"
    path = tmp_path / "instance.txt"
    path.write_bytes(text.encode())
    problem = Knapsack(read_instance(path))
    assert problem.n == 10 and problem.instance.capacity == 269 and problem.optimum() == 295
    assert (
        main(
            [
                "baselines",
                "knapsack",
                "--instance",
                str(path),
                "--optimum",
                "295",
                "--json",
                "--no-cache",
                "--methods",
                "dynamic-programming",
            ]
        )
        == 0
    )
    assert json.loads(capsys.readouterr().out)["results"][0]["best_value"] == 295
