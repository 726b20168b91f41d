"""Text methods: each hand-written text as it is, and the model's proposals without any score history."""

from __future__ import annotations

from llmopt.methods import methods_for, run_methods, setup_for
from llmopt.opro import OPROConfig


def test_hand_written_texts_are_one_evaluation_each(vowels) -> None:
    Vowels = vowels
    methods = methods_for(Vowels())
    assert {"opro", "short", "polite", "opro-no-history", "evoprompt-ga", "evoprompt-de"} == {
        n for n, m in methods.items() if m.default
    }
    short, polite = run_methods(Vowels(), setup_for(Vowels(), OPROConfig(steps=1)), ["short", "polite"])
    assert short.best_solution == "Go." and short.counts.evals == 1 and short.kind == "black-box"
    assert polite.best_value == Vowels().evaluate("Please answer the question.")


def test_random_proposals_are_the_no_history_ablation_on_the_real_model(vowels, local_backend) -> None:
    problem = vowels()
    config = OPROConfig(steps=2, proposals=3, initial=2, answer_tokens=24)
    setup = setup_for(problem, config, local_backend)
    (result,) = run_methods(problem, setup, ["opro-no-history"])
    assert result.kind == "ablation" and result.method == "opro-no-history"
    assert [t.solution for t in result.trials if t.step == 0] == list(setup.starts)
    assert result.counts.llm_calls == 6 and 1 <= result.counts.evals <= 2 + 2 * 3
    assert result.counts.proposals == 6
