"""Language-model crossover: the few-shot list, the steady-state loop, its classical twin, and the contract
over every registered problem (budget, target, seed)."""

from __future__ import annotations

import dataclasses
import html
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from llmopt.backends.scripted import ScriptedBackend
from llmopt.contract.registry import registry
from llmopt.methods import Setup, methods_for, run_methods, setup_for
from llmopt.methods.model.lmx import few_shot
from llmopt.opro import OPROConfig

CONFIG = OPROConfig(steps=3, proposals=4, initial=3, use_grammar=False)


def scripted(problem, seed: int = 9) -> ScriptedBackend:
    """Continuations that are valid solutions of the problem (with a bad line among them)."""
    lines = [problem.encode(s) + "\n" for s in problem.initial(np.random.default_rng(seed), 11)]
    return ScriptedBackend(lines[:5] + ["not a solution\n"] + lines[5:] + ["also not one"] * 4)


def setup(problem, backend, seed: int = 1, target: float | None = None, budget: int = 12) -> Setup:
    starts = tuple(problem.initial(np.random.default_rng(0), 3))
    return Setup(max_evals=budget, seed=seed, starts=starts, backend=backend, config=CONFIG, target=target)


@pytest.fixture(params=sorted(registry()))
def problem(request, build_problem):
    if request.param != "prompt-search":
        yield build_problem(request.param)
        return
    from llmopt.contract.registry import build_problem as build
    from llmopt.testing.stub_server import StubSettings, serve

    server, url = serve(StubSettings())  # its scorer is a model: here the stub, so the contract stays fast
    yield build("prompt-search", {"train_size": 3, "test_size": 2, "scorer_model": "stub", "scorer_base_url": url})
    server.shutdown()


def test_lmx_keeps_the_shared_terms_on_every_problem(problem) -> None:
    first = run_methods(problem, setup(problem, scripted(problem)), ["lmx"])[0]
    again = run_methods(problem, setup(problem, scripted(problem)), ["lmx"])[0]
    assert first.kind == "model" and 1 <= first.counts.evals <= 12
    assert first.counts.proposals <= CONFIG.steps * CONFIG.proposals, "no more answers than OPRO may draw"
    assert [t.text for t in first.trials] == [t.text for t in again.trials], "the same seed, the same Result"
    assert first.counts.n_invalid >= 1 and first.counts.llm_calls >= 1
    assert [t.solution for t in first.trials[:3]] == list(dict.fromkeys(setup(problem, None).starts))


def test_lmx_stops_at_the_target(problem) -> None:
    from llmopt.contract.problem import evaluate_safely

    outcomes = [evaluate_safely(problem.evaluate, s) for s in setup(problem, None).starts]
    feasible = [o.value for o in outcomes if o.value is not None and not any(c > 0 for c in o.constraints or ())]
    if not feasible:
        pytest.skip("no start point is feasible: the target would be no start's value")
    best = min(feasible) if problem.direction == "min" else max(feasible)
    result = run_methods(problem, setup(problem, scripted(problem), target=best), ["lmx"])[0]
    assert result.stop_reason == "target" and result.counts.llm_calls == 0


def test_lmx_without_the_model_keeps_the_shared_terms(problem) -> None:
    if "lmx-no-model" not in methods_for(problem):
        pytest.skip("no classical operator for this space")
    first = run_methods(problem, setup(problem, None, budget=20), ["lmx-no-model"])[0]
    again = run_methods(problem, setup(problem, None, budget=20), ["lmx-no-model"])[0]
    other = run_methods(problem, setup(problem, None, seed=2, budget=20), ["lmx-no-model"])[0]
    assert 1 <= first.counts.evals <= 20 and first.counts.llm_calls == 0
    assert [t.text for t in first.trials] == [t.text for t in again.trials]
    assert [t.text for t in first.trials] != [t.text for t in other.trials]
    assert all(
        problem.space.snap(t.solution) == t.solution
        for t in first.trials
        if hasattr(problem.space, "snap") and t.solution is not None and hasattr(problem.space, "lows")
    )


def test_the_prompt_is_the_parents_one_per_line_with_no_instruction(build_problem) -> None:
    problem = build_problem("linear-regression")
    backend = scripted(problem)
    run_methods(problem, setup(problem, backend), ["lmx"])
    prompt = backend.prompts[0]
    lines = prompt.split("\n")
    assert lines[-1] == "" and len(lines) - 1 == 3, "three start points as parents, and an open line"
    assert all(problem.decode(line) for line in lines[:-1]) and "loss" not in prompt.lower()
    assert all(request["complete"] for request in backend.requests), "a raw continuation, not a chat"
    asked = [r["n"] for r in backend.requests]
    assert asked[0] == CONFIG.proposals and all(n <= CONFIG.proposals for n in asked)
    assert sum(asked) <= CONFIG.steps * CONFIG.proposals, "no more answers than OPRO may ask for"
    assert prompt == few_shot(problem, [problem.decode(x) for x in lines[:-1]])


def test_a_better_child_replaces_the_worst_member(build_problem) -> None:
    problem = build_problem("linear-regression")  # (15, 14) is the optimum's neighbourhood
    backend = ScriptedBackend(["[15, 14]\n"] + ["[-100, -100]\n"] * 20)
    full = setup(problem, backend)  # a population as large as the start points: every child must earn a place
    plan = dataclasses.replace(full, config=full.config.with_options(lmx_population=3))
    result = run_methods(problem, plan, ["lmx"])[0]
    assert result.best_solution == (15, 14)
    later = "\n".join(backend.prompts[1:])
    assert "[15, 14]" in later and "[-100, -100]" not in later, "the worse child never joined the population"


def test_a_chat_only_server_gets_the_list_in_a_chat_message_and_says_so(build_problem) -> None:
    from llmopt.backends.openai_compat import OpenAIBackend
    from llmopt.testing.stub_server import StubSettings, serve

    problem = build_problem("linear-regression")
    for family, endpoint in (("plain", "prompt"), ("chat-only", "messages")):
        settings = StubSettings(family=family)
        server, url = serve(settings)
        try:
            backend = OpenAIBackend("stub", base_url=url)
            result = run_methods(problem, setup(problem, backend), ["lmx"])[0]
        finally:
            server.shutdown()
        assert result.counts.proposals > 0 and endpoint in settings.bodies[-1]
        noted = "raw completion not served: the few-shot list was sent in a chat message" in backend.adaptations
        assert noted is (family == "chat-only")


@pytest.mark.parametrize(
    "command",
    [["tsp", "--cities", "10"], ["function", "--function", "mymodule:pick", "--space", "bits:16", "--maximize"]],
    ids=["tsp", "bits"],
)
def test_lmx_runs_on_the_embedded_model_journaled_and_reported(
    command: list[str], local_backend, tmp_path: Path
) -> None:
    run_dir = tmp_path / "r"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "llmopt.cli",
            "run",
            *command,
            "--steps",
            "2",
            "--proposals",
            "4",
            "--methods",
            "lmx",
            "lmx-no-model",
            "--json",
            "--no-cache",
            "--html",
            "--out",
            str(run_dir),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=Path(__file__).parents[2] / "examples",
    )
    assert done.returncode == 0, done.stderr
    rows = {row["method"]: row for row in json.loads(done.stdout)["results"]}
    assert set(rows) == {"lmx", "lmx-no-model"}, "--methods names every method the run runs"
    assert (rows["lmx"]["kind"], rows["lmx-no-model"]["kind"]) == ("model", "ablation")
    assert rows["lmx"]["n_llm_calls"] >= 1 and rows["lmx"]["proposals"] <= 8
    assert all(1 <= rows[m]["n_evals"] <= 13 for m in ("lmx", "lmx-no-model"))
    # LMX, the first method on the driver, is journaled step by step: each prompt with its continuations
    assert json.loads((run_dir / "config.json").read_text())["journaled"] == "lmx"
    steps = [json.loads(line) for line in (run_dir / "steps.jsonl").read_text().splitlines()]
    asked = steps[1:]
    assert [s["step"] for s in steps] == list(range(len(steps))) and asked
    assert all(s["meta_prompt"].endswith("\n") and "loss" not in s["meta_prompt"] for s in asked)
    assert sum(len(s["trials"]) for s in asked) == rows["lmx"]["proposals"]
    page = (run_dir / "report.html").read_text()
    continuation = next(t["raw"].strip() for s in asked for t in s["trials"] if t["raw"].strip())
    assert "journaled method" in page and html.escape(continuation[:20]) in page


@pytest.mark.parametrize("method", ["lmx", "lmx-no-model"])
def test_a_journaled_run_cut_short_resumes_by_replay_to_the_same_trials(
    method: str, build_problem, tmp_path: Path
) -> None:
    """The population is rebuilt by replaying the journal, so a run stopped after two steps and resumed
    to five ends as the run of five did (the stub server answers by the request's seed alone)."""
    from llmopt.backends.openai_compat import OpenAIBackend
    from llmopt.engine.records import RunRecorder, read_pending, read_steps
    from llmopt.testing.stub_server import StubSettings, serve

    problem = build_problem("linear-regression")
    server, url = serve(StubSettings())
    try:

        def driver(steps: int, directory: Path, resume: bool = False):
            config = dataclasses.replace(CONFIG, steps=steps)
            setup = setup_for(problem, config, OpenAIBackend("stub", base_url=url, max_retries=0))
            recorder = RunRecorder(directory, {}, resume=resume)
            return methods_for(problem)[method].driver(problem, setup, recorder)

        whole = driver(5, tmp_path / "whole").run()
        driver(2, tmp_path / "cut").run()
        resumed = driver(5, tmp_path / "cut", resume=True)
        resumed.restore(read_steps(tmp_path / "cut"), read_pending(tmp_path / "cut"))
        result = resumed.run()
    finally:
        server.shutdown()
    assert [t.text for t in result.trials] == [t.text for t in whole.trials] and len(whole.trials) > 12
    assert result.counts == whole.counts


def test_the_population_ranks_by_debs_rules_any_feasible_solution_before_any_infeasible_one() -> None:
    from llmopt.core.result import Trial
    from llmopt.methods.model.lmx import Population

    population = Population(2, "min")
    population.take(
        [
            Trial(0, "ok", text="a", solution="a", value=0.0, constraints=(2.0,)),  # the lowest value, infeasible
            Trial(0, "ok", text="b", solution="b", value=5.0, constraints=(-1.0,)),
            Trial(0, "ok", text="c", solution="c", value=9.0, constraints=(0.5,)),  # less violation than a
        ]
    )
    assert [solution for _, solution in population.members] == ["b", "c"]
