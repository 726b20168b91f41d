"""The reflective proposer: its parent selection (a tournament by Deb's rules, GEPA's Pareto pick over cases),
its prompt with and without feedback, the methods contract, a stub-server run, and the method found through
its entry point in an installed llmopt."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from llmopt.backends.scripted import ScriptedBackend
from llmopt.contract.evaluation import Evaluation
from llmopt.contract.registry import build_problem
from llmopt.engine.proposer import Seen
from llmopt.methods import Setup, setup_for
from llmopt.methods.checks import check_method
from llmopt.methods.model import reflect
from llmopt.methods.model.reflect import (
    FEEDBACK_BUDGET,
    case_wins,
    pareto_pick,
    pick_parent,
    ranked,
    relatives_of,
    render,
    tournament,
)
from llmopt.opro import OPROConfig
from llmopt.problems.functions import Sphere
from llmopt.testing.stub_server import StubSettings, serve

ROOT = Path(__file__).resolve().parents[2]
CONFIG = OPROConfig(steps=3, proposals=4, initial=3, use_grammar=False)
# Four solutions of a problem to maximise whose first one holds an infeasible, better value.
POOL = [
    Seen("cheat", 99.0, constraints=(2.0,)),
    Seen("best", 9.0, constraints=(-1.0,)),
    Seen("second", 8.0),
    Seen("third", 7.0),
]
# Per-case scores (maximised): A and B win two cases each, C and D one, E none (it is never best).
CASES = [
    Seen("A", 2.0, cases=(1, 1, 0, 0)),
    Seen("B", 2.0, cases=(0, 1, 1, 0)),
    Seen("C", 1.0, cases=(1, 0, 0, 0)),
    Seen("D", 1.0, cases=(0, 0, 0, 1)),
    Seen("E", 0.0, cases=(0, 0, 0, 0)),
]


def method(name: str):
    """The method as its entry point's object gives it (the registry of the shared venv may predate it)."""
    return reflect.METHODS.make(None)[name]


def test_deb_ranks_a_feasible_solution_above_a_better_infeasible_one() -> None:
    assert [s.text for s in ranked(POOL, "max")] == ["best", "second", "third", "cheat"]


def test_a_tournament_takes_the_better_of_two_different_members() -> None:
    rng, pool = np.random.default_rng(0), ranked(POOL, "max")
    picks = Counter(tournament(pool, "max", rng).text for _ in range(600))
    assert "cheat" not in picks, "the worst member wins no pair"
    assert picks["best"] > picks["second"] > picks["third"] > 0  # it wins 3 of 6 pairs, 2 of 6, 1 of 6
    assert tournament(pool[:1], "max", rng).text == "best"


@pytest.mark.parametrize("direction", ["max", "min"])
def test_the_pareto_front_holds_each_solution_best_on_a_case_weighted_by_its_wins(direction: str) -> None:
    sign = 1 if direction == "max" else -1
    seen = [s._replace(cases=tuple(sign * c for c in s.cases or ())) for s in CASES]
    assert case_wins(seen, direction) == {0: 2, 1: 2, 2: 1, 3: 1}
    rng = np.random.default_rng(1)
    picks = Counter(cast_text(pareto_pick(seen, direction, rng)) for _ in range(3000))
    assert "E" not in picks
    for text, share in {"A": 2 / 6, "B": 2 / 6, "C": 1 / 6, "D": 1 / 6}.items():
        assert abs(picks[text] / 3000 - share) < 0.03


def cast_text(item: Seen | None) -> str:
    assert item is not None
    return item.text


def test_the_front_leaves_out_the_infeasible_and_those_without_cases() -> None:
    seen = [*CASES, Seen("F", 5.0, constraints=(1.0,), cases=(1, 1, 1, 1)), Seen("G", 9.0)]
    assert case_wins(seen, "max") == {0: 2, 1: 2, 2: 1, 3: 1}, "F breaks a constraint, G has no cases"
    assert case_wins(POOL, "max") == {} and pareto_pick(POOL, "max", np.random.default_rng(0)) is None


def test_the_parent_is_the_pareto_pick_when_the_evaluations_carry_cases() -> None:
    # H has the best total but is best on no case: a tournament would mostly pick it, the front never does
    seen = [*CASES, Seen("H", 3.6, cases=(0.9, 0.9, 0.9, 0.9))]
    rng = np.random.default_rng(2)
    assert {pick_parent(seen, "max", 8, rng).text for _ in range(200)} == {"A", "B", "C", "D"}
    without = [s._replace(cases=None) for s in seen]
    assert Counter(pick_parent(without, "max", 8, rng).text for _ in range(200)).most_common(1)[0][0] == "H"


PARENT = Seen("[1, 2]", 4.5, feedback={"hint": "move x1 up", "gap": 0.25}, constraints=(-1.0, 3.0), cases=None)
RELATIVES = [Seen("[0, 0]", 6.0, feedback="secret of a relative"), Seen("[3, 3]", 7.25, constraints=(0.5, 0.0))]


def test_the_prompt_shows_the_parents_feedback_and_violations_and_its_relatives() -> None:
    sphere = build_problem("sphere", {})
    prompt = render(sphere, PARENT, RELATIVES)
    assert prompt.startswith(sphere.describe().strip()) and prompt.endswith(sphere.format_hint().strip() + "\n")
    assert "point: [1, 2]\nvalue: 4.50\nFeedback:\n- hint: move x1 up\n- gap: 0.25" in prompt
    assert "Constraints: 1 of 2 violated, by 3 in all (constraint 2 by 3)." in prompt
    assert "point: [0, 0]\nvalue: 6\n\npoint: [3, 3]\nvalue: 7.25\nConstraints: 1 of 2 violated" in prompt
    assert "secret of a relative" not in prompt, "relatives show their values, not their feedback"
    assert render(sphere, None) == f"{sphere.describe().strip()}\n\n{sphere.format_hint().strip()}\n"
    long = render(sphere, PARENT._replace(feedback="x" * 5000), ())
    assert f"(cut at {FEEDBACK_BUDGET} characters)" in long and "x" * FEEDBACK_BUDGET not in long


def test_the_prompt_without_feedback_hides_feedback_and_violations_and_nothing_else() -> None:
    sphere = build_problem("sphere", {})
    hidden = render(sphere, PARENT, RELATIVES, feedback=False)
    assert "move x1 up" not in hidden and "Feedback" not in hidden and "violated" not in hidden
    assert "point: [1, 2]\nvalue: 4.50\n" in hidden and "point: [3, 3]\nvalue: 7.25\n" in hidden
    said_nothing = [s._replace(feedback=None, constraints=None) for s in (PARENT, *RELATIVES)]
    assert hidden == render(sphere, said_nothing[0], said_nothing[1:]), "the same prompt as for a silent objective"


def test_relatives_are_the_best_others_best_first() -> None:
    assert [s.text for s in relatives_of(POOL[1], POOL, "max", 2)] == ["second", "third"]


class Said(Sphere):
    """A sphere whose objective says where the minimum lies and wants x1 >= 1 (a constraint)."""

    def evaluate(self, solution):
        value = float(np.sum(np.square(solution)))
        return Evaluation(value, feedback=f"the minimum is at 1,0, not {solution[0]:g}", constraints=(1 - solution[0],))


@pytest.mark.parametrize("name", ["reflect", "reflect-no-feedback"])
def test_a_run_shows_the_model_the_parents_feedback_only_in_reflect(name: str) -> None:
    problem = Said()
    backend = ScriptedBackend([problem.encode(s) for s in problem.initial(np.random.default_rng(9), 12)])
    result = method(name).run(problem, setup(problem, backend))
    assert result.counts.llm_calls == len(backend.prompts) >= 2 and result.kind == (
        "model" if name == "reflect" else "ablation"
    )
    shown = ["the minimum is at 1,0" in prompt and "Constraints: " in prompt for prompt in backend.prompts]
    assert all(shown) if name == "reflect" else not any(shown)
    parents = {t.parent for t in result.trials if t.step > 0}
    assert parents <= {t.text for t in result.trials} and None not in parents, "each child keeps its parent"


def setup(problem, backend, seed: int = 1, budget: int = 12) -> Setup:
    starts = tuple(problem.initial(np.random.default_rng(0), 3))
    return Setup(max_evals=budget, seed=seed, starts=starts, backend=backend, config=CONFIG)


@pytest.mark.parametrize("name", ["reflect", "reflect-no-feedback"])
def test_both_pass_the_methods_contract(name: str) -> None:
    sphere = build_problem("sphere", {})
    lines = [sphere.encode(s) for s in sphere.initial(np.random.default_rng(9), 11)]
    backend = ScriptedBackend(lines[:5] + ["not a point"] + lines[5:])
    assert check_method(method(name), sphere, setup(sphere, backend)) == []
    assert method(name).kind == ("model" if name == "reflect" else "ablation") and not method(name).default


def test_a_stub_server_run_is_grammar_constrained_budgeted_and_reproducible(tmp_path: Path) -> None:
    from llmopt.backends.openai_compat import OpenAIBackend
    from llmopt.engine.records import RunRecorder, read_pending, read_steps

    problem = build_problem("linear-regression", {})
    settings = StubSettings(family="llama.cpp")
    server, url = serve(settings)
    config = dataclasses.replace(CONFIG, use_grammar=True, steps=5)
    try:

        def driver(steps: int, directory: Path, resume: bool = False):
            plan = setup_for(
                problem,
                dataclasses.replace(config, steps=steps),
                OpenAIBackend("stub", base_url=url, grammar_field="grammar"),
            )
            return method("reflect").driver(problem, plan, RunRecorder(directory, {}, resume=resume))

        whole = driver(5, tmp_path / "whole").run()
        again = driver(5, tmp_path / "again").run()
        driver(2, tmp_path / "cut").run()
        resumed = driver(5, tmp_path / "cut", resume=True)
        resumed.restore(read_steps(tmp_path / "cut"), read_pending(tmp_path / "cut"))
        result = resumed.run()
    finally:
        server.shutdown()
    assert whole.counts.proposals == 5 * 4 and whole.counts.evals <= config.evaluation_budget()
    assert settings.grammars == whole.counts.requests + again.counts.requests + result.counts.requests > 0
    assert [t.text for t in again.trials] == [t.text for t in whole.trials], "the same seed, the same run"
    assert [t.text for t in result.trials] == [t.text for t in whole.trials] and result.counts == whole.counts
    steps = [json.loads(line) for line in (tmp_path / "whole" / "steps.jsonl").read_text().splitlines()]
    assert all("to improve, with its" in s["meta_prompt"] for s in steps[1:]) and len(steps) == 6
    journaled = [t for s in steps[1:] for t in s["trials"]]
    assert all(t["parent"] and f": {t['parent']}\n" in s["meta_prompt"] for s in steps[1:] for t in s["trials"])
    assert len(journaled) == 20, "each answer journaled with the parent its prompt showed"


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """This tree's llmopt, pip-installed (not editable) into a folder of its own, as a user installs it."""
    source, target = tmp_path_factory.mktemp("llmopt_source"), tmp_path_factory.mktemp("llmopt_site")
    for name in ("pyproject.toml", "setup.py", "README.md"):
        shutil.copy(ROOT / name, source / name)
    # a worktree's llmopt/problems is a link to problems/: the package folder maps it (pyproject's package-dir)
    skip = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(
        ROOT / "llmopt",
        source / "llmopt",
        ignore=lambda d, n: [*skip(d, n), *(["problems"] if d == str(ROOT / "llmopt") else [])],
    )
    shutil.copytree(ROOT / "problems", source / "problems", ignore=skip)
    command = [sys.executable, "-m", "pip", "install", "--no-deps", "--no-build-isolation", "-q", "--target"]
    done = subprocess.run([*command, str(target), str(source)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return target


def in_installed(installed: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess:
    """Python with the installed llmopt first (and not this tree: the working folder is elsewhere)."""
    env = {**os.environ, "PYTHONPATH": str(installed)}
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, env=env, cwd=cwd, timeout=120)


def test_reflect_is_found_through_its_entry_point_in_an_installed_llmopt(installed: Path, tmp_path: Path) -> None:
    probe = (
        "import importlib.metadata as m, json, llmopt; from llmopt.methods import methods_for;"
        "from llmopt.contract.registry import build_problem;"
        "print(json.dumps([llmopt.__file__, {e.name: e.value for e in m.entry_points(group='llmopt.methods')},"
        "sorted(methods_for(build_problem('sphere', {})))]))"
    )
    done = in_installed(installed, tmp_path, "-c", probe)
    assert done.returncode == 0, done.stderr
    where, entries, names = json.loads(done.stdout)
    assert Path(where).is_relative_to(installed), "the installed package, not this tree"
    assert entries["reflect"] == "llmopt.methods.model.reflect:METHODS"
    assert {"reflect", "reflect-no-feedback"} <= set(names)
    server, url = serve(StubSettings())
    try:
        run = ["-m", "llmopt.cli", "run", "sphere", "--methods", "reflect", "reflect-no-feedback", "--model", "stub"]
        flags = ["--base-url", url, "--steps", "2", "--proposals", "3", "--reflect-relatives", "1", "--json"]
        done = in_installed(installed, tmp_path, *run, *flags, "--no-cache", "--out", str(tmp_path / "run"))
    finally:
        server.shutdown()
    assert done.returncode == 0, done.stderr
    rows = {row["method"]: row for row in json.loads(done.stdout)["results"]}
    assert (rows["reflect"]["kind"], rows["reflect-no-feedback"]["kind"]) == ("model", "ablation")
    assert rows["reflect"]["n_llm_calls"] == 2 and rows["reflect"]["n_evals"] >= 5
    assert json.loads((tmp_path / "run" / "config.json").read_text())["journaled"] == "reflect"
    steps = [json.loads(line) for line in (tmp_path / "run" / "steps.jsonl").read_text().splitlines()]
    assert all(s["meta_prompt"].count("\npoint: ") == 2 for s in steps[1:]), "the parent and one relative"


def test_reflect_runs_on_the_embedded_model(local_backend) -> None:
    problem = Said()
    config = OPROConfig(steps=2, proposals=2, initial=3, seed=4, answer_tokens=32)
    result = method("reflect").run(problem, Setup(max_evals=7, backend=local_backend, config=config))
    assert result.counts.requests == 2 and result.counts.proposals == 4 and result.stop_reason == "max_steps"
    assert result.counts.evals >= 3 and result.counts.failed_requests == 0
