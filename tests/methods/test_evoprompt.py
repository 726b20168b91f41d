"""EvoPrompt's GA and DE on the text space: control flow with scripted answers, then on the real model."""

from __future__ import annotations

import numpy as np
import pytest

from llmopt.backends.scripted import ScriptedBackend
from llmopt.contract.problem import Problem, UsageError
from llmopt.methods import methods_for, run_methods, setup_for
from llmopt.methods.classical.base import Setup
from llmopt.methods.model.evoprompt import POPULATION, roulette
from llmopt.opro import OPROConfig

POOL = ("Answer.", "Be brief.", "Think.", "Say it.")


def run(method: str, answers: list[str], problem: Problem, max_evals: int = 8, initial: int = 2, samples: int = 40):
    """`samples`: the model answers OPRO could draw (steps x proposals), EvoPrompt's limit too."""
    backend = ScriptedBackend(answers)
    config = OPROConfig(steps=samples, proposals=1, initial=initial, max_evals=max_evals, temperature=0.7, seed=3)
    (result,) = run_methods(problem, setup_for(problem, config, backend), [method])
    return result, backend


def test_both_are_default_model_driven_methods_of_the_text_space_on_the_driver(vowels) -> None:
    methods = methods_for(vowels(POOL))
    for name in ("evoprompt-ga", "evoprompt-de"):
        method = methods[name]
        assert method.kind == "model" and method.samples_model and method.default and method.proposer is not None


def test_ga_crosses_two_population_members_and_keeps_to_the_budget(vowels) -> None:
    answers = [text for i in range(10) for text in (f"<INS>Use idea {i}.</INS>", "no tags here")]
    result, backend = run("evoprompt-ga", answers, vowels(POOL))
    members = {"Answer.", "Be brief.", "Think.", "Say it."}
    assert result.counts.evals == 8 and result.stop_reason == "max_evals" and result.kind == "model"
    population = [t.solution for t in result.evaluated()][:4]
    starts = setup_for(vowels(POOL), OPROConfig(initial=2, seed=3)).starts
    assert tuple(population[:2]) == starts and set(population) == members  # the starts first, then the pool
    first = backend.prompts[0]
    shown = [
        line.split("<INS>")[1].split("</INS>")[0] for line in first.splitlines() if "<INS>" in line and ":" in line
    ]
    assert len(shown) == 2 and shown[0] != shown[1] and set(shown) <= members  # two different parents
    assert "%" not in first and "score" not in first  # EvoPrompt's operators see texts, not scores
    assert result.counts.invalid == {"no instruction found": len(backend.prompts) // 2}  # every other answer
    assert result.counts.llm_calls == len(backend.prompts) and result.counts.proposals == len(backend.prompts)
    assert result.summary()["n_llm_calls"] == len(backend.prompts)  # its model cost is shown in tables
    assert {r["temperature"] for r in backend.requests} == {0.7} and all(r["grammar"] for r in backend.requests)
    assert len({r["seed"] for r in backend.requests}) == len(backend.requests)  # every request seeded apart


def test_de_replaces_a_base_only_with_a_better_child_and_shows_the_new_best(vowels) -> None:
    answers = ["<INS>Aiea oui.</INS>", "<INS>Thrsh.</INS>"] + [f"<INS>Brr {i}.</INS>" for i in range(40)]
    result, backend = run("evoprompt-de", answers, vowels(POOL), max_evals=9)
    assert result.best_solution == "Aiea oui." and result.best_value == 100.0
    assert "Best: <INS>Aiea oui.</INS>" not in backend.prompts[1], "a generation's children come from its start"
    assert "Best: <INS>Aiea oui.</INS>" in backend.prompts[4], "the next generation builds on the new best"
    for prompt in backend.prompts:
        labels = [line.split(":")[0] for line in prompt.splitlines() if "<INS>" in line and ":" in line]
        assert labels == ["A", "B", "Best", "Base"]
    # the worse children never replace a member, so they are never shown again
    assert not any("Thrsh" in prompt or "Brr" in prompt for prompt in backend.prompts[2:])


def test_de_replaces_the_childs_own_base_even_when_a_member_holds_the_base_marker(vowels) -> None:
    """A member whose text holds "Base: <INS>" makes its child's request name another member after the marker:
    the base the child carries, not one read from its request, is the member it may replace."""
    tricky = "Zzzzzzzz Base: <INS>Answer."  # 5 vowels in 21 letters; "Answer." has 2 in 6
    children = ["Strand it.", "Strand at.", "Strund it.", "Strand ut."]  # 2 vowels in 8 each: between the two
    answers = [f"<INS>{text}</INS>" for text in children] + ["<INS>Brr.</INS>"] * 8
    result, backend = run("evoprompt-de", answers, vowels(("Answer.", "Be brief.", "Think.", tricky)), max_evals=12)
    assert any(f"Base: <INS>{tricky}</INS>" in prompt for prompt in backend.prompts[:4])
    assert not any("Zzzzzzzz" in prompt for prompt in backend.prompts[4:8]), "its better child took its place"
    assert sum("Base: <INS>Answer.</INS>" in prompt for prompt in backend.prompts[4:8]) == 1, "Answer. was kept"


def test_a_replayed_de_journal_rebuilds_the_population_the_run_had(vowels, tmp_path) -> None:
    from llmopt.engine.driver import Driver
    from llmopt.engine.records import RunRecorder, read_pending, read_steps
    from llmopt.methods.model.evoprompt import DifferentialEvolution

    problem = vowels(POOL)
    config = OPROConfig(steps=1, proposals=4, initial=2, seed=3)
    children = ["<INS>Strand it.</INS>", "<INS>Strand at.</INS>", "<INS>Strund it.</INS>", "<INS>Strand ut.</INS>"]

    def driver(answers: list[str], resume: bool) -> Driver:
        proposer = DifferentialEvolution(problem, ScriptedBackend(answers), config, name="evoprompt-de")
        recorder = RunRecorder(tmp_path / "run", {}, resume=resume)
        return Driver(problem, proposer, config, name="evoprompt-de", recorder=recorder)

    live = driver(children, resume=False)
    live.run()
    replayed = driver([], resume=True)
    replayed.restore(read_steps(tmp_path / "run"), read_pending(tmp_path / "run"))
    assert replayed.proposer.population == live.proposer.population
    assert "Think." not in {text for _, text in live.proposer.population}, "its better child replaced it"


def test_ga_keeps_the_best_of_parents_and_children(vowels) -> None:
    answers = [f"<INS>Brr {i}.</INS>" for i in range(4)] + [f"<INS>Aiea {i}.</INS>" for i in range(8)]
    result, backend = run("evoprompt-ga", answers, vowels(POOL), max_evals=20, samples=12)
    assert len(backend.prompts) == 12
    assert not any("Brr" in prompt for prompt in backend.prompts[4:])  # no vowels: worse than every parent
    assert any("Aiea 0." in prompt for prompt in backend.prompts[8:])  # a better child is a parent next


def test_a_generation_with_nothing_new_stops_the_search_as_stalled(vowels) -> None:
    answers = ["<INS>Aha oui.</INS>"] + ["nothing", "<INS>Answer.</INS>", "<INS>Aha oui.</INS>"] * 10
    result, backend = run("evoprompt-ga", answers, vowels(POOL), max_evals=20)
    assert result.stop_reason == "stalled" and result.counts.evals == 5  # four starting texts and one child
    assert len(backend.prompts) == 8  # two generations of four requests: the second brought nothing new


def test_it_draws_no_more_answers_than_opro_could_and_failed_requests_do_not_stall_it(vowels) -> None:
    result, backend = run(
        "evoprompt-de", [f"<INS>Aha {i}.</INS>" for i in range(3)], vowels(POOL), max_evals=40, samples=7
    )
    assert result.stop_reason == "max_answers" and len(backend.prompts) == 7
    assert result.counts.evals == 4 + 3 and result.counts.failed_requests == 4  # the script ran dry after three


def test_roulette_favours_the_fitter_parent_but_never_picks_one_twice() -> None:
    population = [(-90.0, "best"), (-50.0, "middle"), (-10.0, "worst")]
    rng = np.random.default_rng(0)
    draws = [roulette(population, rng) for _ in range(3000)]
    assert all(a != b for a, b in draws)
    counts = {name: sum(name in pair for pair in draws) for name in ("best", "middle", "worst")}
    assert counts["best"] > counts["middle"] > counts["worst"] > 0


def test_without_a_backend_or_enough_texts_it_is_a_usage_error(vowels) -> None:
    problem = vowels(pool=("Answer.", "Think."))
    method = methods_for(problem)["evoprompt-de"]
    with pytest.raises(UsageError, match="backend"):
        method.run(problem, Setup(max_evals=5, starts=("Answer.",)))
    with pytest.raises(UsageError, match="at least 3"):
        method.run(problem, Setup(max_evals=5, starts=("Answer.",), backend=ScriptedBackend([])))


def test_population_is_at_most_ten(vowels) -> None:
    pool = tuple(f"Answer number {i}." for i in range(15))
    result, backend = run("evoprompt-ga", [f"<INS>Aha {i}.</INS>" for i in range(30)], vowels(pool), max_evals=12)
    solutions = [t.solution for t in result.evaluated()]
    assert POPULATION == 10 and all(s.startswith("Answer number") for s in solutions[:10])
    assert solutions[10:] == ["Aha 0.", "Aha 1."] and len(backend.prompts) == 2  # then one child per request


def test_both_run_on_the_real_model_within_the_budget(vowels, local_backend) -> None:
    problem = vowels(POOL)
    setup = setup_for(problem, OPROConfig(steps=1, proposals=4, initial=3), local_backend)
    for result in run_methods(problem, setup, ["evoprompt-ga", "evoprompt-de"]):
        assert result.counts.evals <= 7 and 1 <= result.counts.llm_calls <= 1 * 4
        answered = result.counts.proposals
        children = result.evaluated()[4:]  # after the starting population of four texts
        # every answer was a new child, an invalid answer or a repeat; none was scored twice
        assert len(children) + result.counts.n_invalid <= answered
        assert len({t.solution for t in result.evaluated()}) == result.counts.evals


@pytest.mark.parametrize("method", ["evoprompt-ga", "evoprompt-de"])
def test_both_start_from_opros_points_and_keep_to_the_budget_and_the_samples(vowels, method: str) -> None:
    answers = [text for i in range(20) for text in (f"<INS>New idea {i}.</INS>", "no tags here")]
    result, backend = run(method, answers, vowels(POOL), max_evals=8, samples=12)
    starts = setup_for(vowels(POOL), OPROConfig(initial=2, seed=3)).starts
    assert tuple(t.solution for t in result.evaluated()[:2]) == starts  # OPRO's start points first, then the pool
    assert {t.solution for t in result.evaluated()[:4]} == set(POOL)
    assert result.counts.evals == 8 and result.stop_reason == "max_evals"  # the same budget, every text scored
    assert len(backend.prompts) <= 12 and result.counts.invalid == {"no instruction found": len(backend.prompts) // 2}
    assert {r["seed"] // 1_000_003 for r in backend.requests} == {3}  # OPRO's seed


@pytest.mark.parametrize("name", ["evoprompt-ga", "evoprompt-de"])
def test_the_operators_see_their_parents_feedback_and_violation_within_the_budget(vowels, name: str) -> None:
    import dataclasses

    from llmopt.contract.evaluation import Evaluation
    from llmopt.engine.config import MetaPromptConfig

    class Told(vowels):  # type: ignore[misc, valid-type]
        def evaluate(self, text: str) -> Evaluation:
            consonants = sum(c.isalpha() and c.lower() not in "aeiou" for c in text)
            note = f"{text!r} has {consonants} consonants. " * 10  # longer than the budget
            return Evaluation(super().evaluate(text), feedback=note, constraints=(len(text) - 6.5,))

    backend = ScriptedBackend([f"<INS>Aha {i}.</INS>" for i in range(8)])
    config = OPROConfig(steps=8, proposals=1, initial=2, max_evals=6, seed=3)
    config = dataclasses.replace(config, metaprompt=MetaPromptConfig(feedback_chars=60))
    run_methods(Told(POOL), setup_for(Told(POOL), config, backend), [name])
    first = backend.prompts[0]
    parents = [line for line in first.splitlines() if ": <INS>" in line]
    notes = [line for line in first.splitlines() if line.startswith("feedback: ")]
    assert len(notes) == len(parents) and all(len(line) == len("feedback: ") + 60 for line in notes)
    assert all(note.endswith("… (cut at 60 characters)") and "consonants" in note for note in notes)
    assert "(1 of 1 constraints broken)" in first and "violation: 0 (feasible)" in first  # only "Think." is feasible
    plain = ScriptedBackend([f"<INS>Aha {i}.</INS>" for i in range(8)])
    run_methods(vowels(POOL), setup_for(vowels(POOL), config, plain), [name])
    assert not any("feedback" in prompt or "violation" in prompt for prompt in plain.prompts)


def test_best_survivors_and_replacements_follow_debs_rules_on_a_constrained_problem(vowels) -> None:
    """At most 8 characters: "Be brief." has the most vowels but breaks it, so "Say it." is the best member; a
    feasible child with no vowels replaces it (DE), and infeasible children with all vowels do not survive (GA)."""
    from llmopt.contract.evaluation import Evaluation
    from llmopt.engine.driver import Driver
    from llmopt.methods.model.evoprompt import DifferentialEvolution, GeneticAlgorithm

    class Short(vowels):  # type: ignore[misc, valid-type]
        def evaluate(self, text: str) -> Evaluation:
            return Evaluation(super().evaluate(text), constraints=(len(text) - 8.0,))

    def population(cls: type, children: list[str]) -> tuple[list[str], ScriptedBackend]:
        backend = ScriptedBackend([f"<INS>{text}</INS>" for text in children])
        config = OPROConfig(steps=1, proposals=4, initial=2, seed=3)
        driver = Driver(Short(POOL), cls(Short(POOL), backend, config, name="evo"), config, name="evo")
        driver.run()
        return [text for _, text in driver.proposer.population], backend

    members, backend = population(DifferentialEvolution, ["Brr.", "Tsk.", "Pfft.", "Hmm."])
    assert "Best: <INS>Say it.</INS>" in backend.prompts[0], "the best feasible member, not 'Be brief.'"
    assert set(members) - {"Brr.", "Tsk.", "Pfft.", "Hmm."} == {"Answer.", "Think.", "Say it."}, "only it replaced"
    members, _ = population(GeneticAlgorithm, ["Aiea oui aie.", "Aiea ouia.", "Brr.", "Tsk."])
    assert members == ["Say it.", "Answer.", "Think.", "Brr."]  # feasible by value; the infeasible three are out


def test_roulette_puts_infeasible_members_below_the_feasible_in_order_of_violation() -> None:
    population = [((1, 5.0), "far"), ((0, -10.0), "feasible"), ((1, 1.0), "near"), ((0, -40.0), "fit")]
    rng = np.random.default_rng(0)
    draws = [roulette(population, rng) for _ in range(4000)]
    counts = {name: sum(name in pair for pair in draws) for _, name in population}
    assert counts["fit"] > counts["feasible"] > counts["near"] > counts["far"] > 0
