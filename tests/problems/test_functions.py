"""`--shift SEED`: the four classic functions moved and rotated, so that no search wins by construction."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from llmopt import OPROConfig, compare
from llmopt.contract.registry import build_problem

ROOT = Path(__file__).resolve().parents[2]
MOVABLE = ["sphere", "rosenbrock", "rastrigin", "ackley"]


@pytest.mark.parametrize("name", MOVABLE)
def test_a_moved_function_keeps_its_minimum_at_a_point_of_the_box_that_is_not_a_simple_one(name: str) -> None:
    problem = build_problem(name, {"dim": 3, "shift": 5})
    minimiser = tuple(float(v) for v in problem.fun.shift)
    assert problem.space.decode(problem.space.encode(minimiser)) == minimiser, "a point the box can write"
    assert problem.evaluate(minimiser) == pytest.approx(problem.optimum(), abs=1e-12)
    lows, highs = problem.space.lows, problem.space.highs
    assert np.all(lows < minimiser) and np.all(np.array(minimiser) < highs)
    centre = problem.fun.centre
    for simple in ([0.0] * 3, [centre] * 3, list(lows), list(highs)):  # the centre, the old minimiser, corners
        assert problem.evaluate(tuple(simple)) > problem.optimum() + 1e-3
    rotation = problem.fun.rotation
    assert np.allclose(rotation @ rotation.T, np.eye(3)) and np.abs(rotation - np.diag(np.diag(rotation))).max() > 0.1


def test_unmoved_by_default_and_each_seed_its_own_task() -> None:
    plain, one, other = (build_problem("sphere", options) for options in ({}, {"shift": 1}, {"shift": 2}))
    assert plain.evaluate((0.0, 0.0)) == 0.0 and "shift" not in plain.config()
    assert len({plain.fingerprint(), one.fingerprint(), other.fingerprint()}) == 3
    assert build_problem("sphere", {"shift": 1}).fingerprint() == one.fingerprint(), "the same seed, the same task"


def test_integer_variables_are_moved_to_integers_and_not_rotated() -> None:
    problem = build_problem("rastrigin", {"dim": 2, "integer": True, "shift": 4})
    assert all(float(v).is_integer() for v in problem.fun.shift) and np.array_equal(problem.fun.rotation, np.eye(2))


def test_coordinate_search_solves_the_unmoved_rastrigin_and_not_the_moved_ones() -> None:
    """What the option is for: Powell's line searches along the axes find Rastrigin's minimum at the origin,
    and lose that advantage once the axes are rotated."""
    config = OPROConfig(steps=10, proposals=8)
    (plain,) = compare(build_problem("rastrigin", {}), config, ["powell"])
    moved = [compare(build_problem("rastrigin", {"shift": seed}), config, ["powell"])[0] for seed in (3, 4)]
    assert plain.best_value == 0.0 and all(r.best_value > 0.5 for r in moved)


def test_the_cli_takes_shift_and_records_it(tmp_path: Path) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "llmopt.cli",
            "run",
            "rosenbrock",
            "--shift",
            "7",
            "--dim",
            "3",
            "--methods",
            "random-search",
            "--json",
            "--no-cache",
            "--out",
            str(tmp_path / "r"),
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    config = json.loads((tmp_path / "r" / "config.json").read_text())
    assert config["problem_config"]["shift"] == 7 and config["problem_options"]["shift"] == 7
