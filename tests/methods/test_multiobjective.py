"""The model-driven methods with several objectives: which run, OPRO reaching the true front's hypervolume on a
stub server that proposes points of it, LMX's parents drawn from the front, reflect's parent picked by crowding
distance, OPRO's context check with a front, and one short run on the embedded model."""

from __future__ import annotations

import dataclasses
import re
from collections import Counter

import numpy as np

from llmopt.backends.scripted import ScriptedBackend
from llmopt.engine.proposer import Seen
from llmopt.methods import Setup, methods_for, run_methods, setup_for
from llmopt.methods.model.lmx import front_pool
from llmopt.methods.model.reflect import crowding_pick, front_parent
from llmopt.opro import OPROConfig
from llmopt.problems.multiobjective import Zdt1

MIN2 = ("min", "min")
# A front of five (x, 1 - x) sorted by f1: [0.5] is the most isolated inside it, then [0.9], then [0.1]
FRONT = [Seen(f"[{x}]", float("nan"), values=(x, 1.0 - x)) for x in (0.0, 0.1, 0.5, 0.9, 1.0)]
DOMINATED = [Seen(f"[d{i}]", float("nan"), values=(1.0 + i, 2.0 + i)) for i in range(3)]


def on_the_true_front(values: tuple[float, ...]) -> bool:
    return abs(values[1] - (1.0 - np.sqrt(values[0]))) < 1e-9


def test_the_methods_of_several_objectives_are_opro_two_ablations_lmx_and_reflect_not_evoprompt() -> None:
    model_driven = {name for name, method in methods_for(Zdt1(3)).items() if method.kind != "black-box"}
    assert model_driven == {
        "opro",
        "opro-no-history",
        "opro-no-feedback",
        "lmx",
        "lmx-no-model",
        "reflect",
        "reflect-no-feedback",
    }


def test_opro_on_a_stub_that_proposes_the_true_front_reaches_its_hypervolume_within_one_percent() -> None:
    from llmopt.backends.openai_compat import OpenAIBackend
    from llmopt.testing.stub_server import StubSettings, front_points, serve

    problem = Zdt1(3)
    server, url = serve(StubSettings(answer=front_points(3)))
    try:
        config = OPROConfig(steps=10, proposals=4, initial=4, seed=0)
        result = run_methods(problem, setup_for(problem, config, OpenAIBackend("stub", base_url=url)), ["opro"])[0]
    finally:
        server.shutdown()
    assert result.multiobjective and result.stop_reason == "max_steps"
    assert result.best_value >= 0.99 * problem.optimum(), (result.best_value, problem.optimum())
    front = result.front()
    assert len(front) >= 15 and all(on_the_true_front(t.values or ()) for t in front)
    assert [t.values[0] for t in front] == sorted(t.values[0] for t in front), "the front, sorted along f1"


def test_lmx_draws_its_parents_from_the_front_and_shows_their_values() -> None:
    problem = Zdt1(2)
    children = [f"f1 = 0.5, f2 = 0.3: [{x:.3f}, 0]\n" for x in np.linspace(0.05, 0.95, 12)]
    backend = ScriptedBackend(children)
    plan = Setup(max_evals=20, seed=0, backend=backend, config=OPROConfig(steps=3, proposals=3, initial=4))
    plan = dataclasses.replace(plan, config=plan.config.with_options(lmx_parents=2))
    result = run_methods(problem, plan, ["lmx"])[0]
    assert result.counts.n_invalid == 0, "each child decoded from after its values"
    assert [t.solution[1] for t in result.trials if t.step] == [0.0] * 9
    for step, prompt in enumerate(backend.prompts, 1):
        before = [t for t in result.evaluated() if (t.step or 0) < step]
        front = {t.text: t.values for t in before if t.values is not None and _on(before, t)}
        lines = prompt.splitlines()
        assert len(lines) == 2, "lmx_parents parents, one a line"
        shown = dict(line.split(": ", 1)[::-1] for line in lines)  # text -> its values as shown
        if len(front) >= 2:
            assert set(shown) <= set(front), f"step {step}: a parent off the front"
        else:  # a front of one: it, and the least dominated other
            assert set(front) < set(shown), f"step {step}: the front's one member is no parent"
        known = {t.text: t.values for t in before}
        for text, said in shown.items():
            assert said == f"f1 = {_score(known[text][0])}, f2 = {_score(known[text][1])}"
    assert len(front) >= 2, "the last steps drew from a front of several"


def _on(trials: list, trial) -> bool:
    from llmopt.core.pareto import dominates

    return not any(dominates(other.values, trial.values, MIN2) for other in trials)


def test_lmx_falls_back_to_the_least_dominated_when_the_front_is_too_small() -> None:
    lone = [FRONT[2], *DOMINATED]
    pool = front_pool(lone, MIN2, 3)
    assert [item.text for _, item in pool] == ["[0.5]", "[d0]", "[d1]"], "the front, then the least dominated"
    assert [item.text for _, item in front_pool([*FRONT, *DOMINATED], MIN2, 3)] == [s.text for s in FRONT]
    best = min(front_pool(FRONT, MIN2, 3))[1]
    assert best.text in ("[0.0]", "[1.0]"), "a tournament prefers the largest crowding distance: an end"


def test_reflect_picks_the_largest_crowding_distance_not_yet_reflected_on_ties_drawn_by_the_rng() -> None:
    ends = Counter(crowding_pick(FRONT, set(), np.random.default_rng(seed)).text for seed in range(40))
    assert set(ends) == {"[0.0]", "[1.0]"}, "the ends first (their distance is infinite), either by the rng"
    rng = np.random.default_rng(0)
    assert crowding_pick(FRONT, {"[0.0]", "[1.0]"}, rng).text == "[0.5]", "then the largest inside"
    assert crowding_pick(FRONT, {"[0.0]", "[1.0]", "[0.5]"}, rng).text in ("[0.1]", "[0.9]")
    every = {s.text for s in FRONT}
    assert crowding_pick(FRONT, every, rng).text in ("[0.0]", "[1.0]"), "all again once each has been"
    infeasible = [Seen("[x]", float("nan"), None, (2.0,), values=(0.0, 0.0)), *DOMINATED]
    assert front_parent(infeasible, MIN2, set(), rng).text == "[d0]", "no front: the least dominated"


def test_reflect_shows_its_parent_with_all_its_values_and_moves_on_along_the_front() -> None:
    problem = Zdt1(2)
    backend = ScriptedBackend([f"[{x:.2f}, 0]" for x in np.linspace(0.0, 1.0, 12)])
    plan = Setup(max_evals=20, seed=0, backend=backend, config=OPROConfig(steps=3, proposals=2, initial=4))
    result = run_methods(problem, plan, ["reflect"])[0]
    parents = [t.parent for t in result.trials if t.step]
    assert len(set(parents)) == 3, "a new parent each step"
    for prompt, parent in zip(backend.prompts, parents[::2]):
        shown = next(t for t in result.trials if t.text == parent)
        block = prompt.split("The point to improve")[1].split("\n\n")
        assert block[1].splitlines() == [
            f"point: {parent}",
            f"f1: {_score(shown.values[0])}",
            f"f2: {_score(shown.values[1])}",
        ]
        assert "none listed here dominates" in prompt
    assert "Its neighbours on the Pareto front, with their values:" in backend.prompts[-1]


def _score(value: float) -> str:
    from llmopt.methods.model.metaprompt import format_score

    return format_score(value, 2)


class Sized:
    """A backend that records the prompts the context check sizes."""

    def __init__(self) -> None:
        self.sized: list[str] = []

    def check_fits(self, prompt: str, max_tokens: int) -> None:
        self.sized.append(prompt)


def test_the_context_check_sizes_a_meta_prompt_that_shows_as_many_solutions_as_a_run_will() -> None:
    from llmopt.opro import OPROProposer

    problem, backend = Zdt1(3), Sized()
    config = OPROConfig(steps=3, proposals=4, initial=2)
    OPROProposer(problem, backend, config).preflight(problem.initial(np.random.default_rng(0), 2))
    fullest = backend.sized[0]
    assert fullest.count("\npoint: ") == 2 + 2 * 4, "every solution the run will show"
    assert "A few dominated points" in fullest and "The widest gap in the front" in fullest
    values = re.findall(r"^f[12]: (.*)$", fullest, flags=re.M)
    assert len(values) == 2 * 10 and all(len(v) == len("-123456.79") for v in values), "each as long as the longest"


def test_opro_on_zdt1_runs_one_step_on_the_embedded_model(local_backend) -> None:
    problem = Zdt1(2)
    config = OPROConfig(steps=1, proposals=1, initial=2, seed=1, answer_tokens=32)
    result = run_methods(problem, Setup(max_evals=5, seed=1, backend=local_backend, config=config), ["opro"])[0]
    assert result.front() and result.best_value > 0
    assert result.stop_reason in ("max_steps", "max_evals") and result.counts.failed_requests == 0


def test_evaluate_gives_each_proposals_values_with_several_objectives() -> None:
    """`opro.evaluate(ask)` gives a tuple per scored proposal (None only for a failed one), as `tell` takes."""
    from llmopt import OPRO, OPROConfig
    from llmopt.backends.scripted import ScriptedBackend
    from llmopt.problems.multiobjective import Zdt1

    problem = Zdt1(dim=2)
    opro = OPRO(problem, ScriptedBackend(["[0.25, 0]", "[0.5, 0]"]), OPROConfig(steps=1, proposals=2, initial=2))
    ask = opro.ask()  # the start points are scored first; these are the model's two proposals
    values = opro.evaluate(ask)
    assert values == [problem.evaluate((0.25, 0.0)), problem.evaluate((0.5, 0.0))]
    trials = opro.tell(ask, values)
    assert [t.values for t in trials] == values
