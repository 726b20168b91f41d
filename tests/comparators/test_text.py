"""Text methods: each hand-written text as it is, and the model's proposals without any score history."""

from __future__ import annotations

from llmopt.comparators import methods_for, run_methods, setup_for
from llmopt.opro import OPROConfig
from llmopt.problem import Problem
from llmopt.spaces import Text


class Vowels(Problem):
    """Maximise the share of vowels in a short instruction."""

    name, summary, direction = "vowels", "test problem", "max"
    solution_label, value_label = "instruction", "score"

    def __init__(self) -> None:
        self.space = Text(max_length=80, tag="INS", label="instruction", pool=("Answer.", "Be brief.", "Think."),
                          handwritten={"short": "Go.", "polite": "Please answer the question."})

    def describe(self) -> str:
        return "Write an instruction; its score is the percentage of vowels in it."

    def format_hint(self) -> str:
        return "Write a new instruction between <INS> and </INS>."

    def evaluate(self, text: str) -> float:
        letters = [c for c in text.lower() if c.isalpha()]
        return 100.0 * sum(c in "aeiou" for c in letters) / max(1, len(letters))


def test_hand_written_texts_are_one_evaluation_each() -> None:
    methods = methods_for(Vowels())
    assert {"short", "polite", "opro-no-history"} == {n for n, m in methods.items() if m.default}
    short, polite = run_methods(Vowels(), setup_for(Vowels(), OPROConfig(steps=1)), ["short", "polite"])
    assert short.best_solution == "Go." and short.counts.evals == 1 and short.kind == "black-box"
    assert polite.best_value == Vowels().evaluate("Please answer the question.")


def test_random_proposals_are_the_no_history_ablation_on_the_real_model(local_backend) -> None:
    problem = Vowels()
    config = OPROConfig(steps=2, proposals=3, initial=2, answer_tokens=24)
    setup = setup_for(problem, config, local_backend)
    (result,) = run_methods(problem, setup, ["opro-no-history"])
    assert result.kind == "ablation" and result.method == "opro-no-history"
    assert [t.solution for t in result.trials if t.step == 0] == list(setup.starts)
    assert result.counts.llm_calls == 6 and 1 <= result.counts.evals <= 2 + 2 * 3
    assert result.counts.proposals == 6
