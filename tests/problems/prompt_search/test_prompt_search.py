"""Prompt search without a model: decoding, prompt positions, exemplars, tasks, splits."""

from __future__ import annotations

import ast
import operator
import re

import numpy as np
import pytest

from llmopt.backends.base import Completion, Generation
from llmopt.contract.evaluation import FEEDBACK_LIMIT, Evaluation
from llmopt.contract.problem import InvalidSolution
from llmopt.core.result import Result
from llmopt.problems.prompt_search.problem import POSITIONS, PromptSearch, build_prompt
from llmopt.problems.prompt_search.scorer import Scorer
from llmopt.problems.prompt_search.tasks import TASKS, Example


class NoScorer:
    identity = "none"

    def usage(self) -> dict[str, int]:
        return {}


def problem(position: str = "q_begin") -> PromptSearch:
    train = [Example(f"question {i}?", str(i)) for i in range(6)]
    return PromptSearch(train, train[:2], "number", NoScorer(), position=position)


@pytest.mark.parametrize(
    "text, instruction",
    [
        ("<INS>Think step by step.</INS>", "Think step by step."),
        ("ok <INS>first</INS> then <ins> second  one </ins>", "second one"),
        ("[Answer briefly.]", "Answer briefly."),
        ("<INS>a <INS> b</INS>", "b"),
    ],
)
def test_decode(text: str, instruction: str) -> None:
    assert problem().decode(text) == instruction


@pytest.mark.parametrize(
    "text, reason",
    [
        ("Just think.", "no instruction found"),
        ("<INS>   </INS>", "empty instruction"),
        ("<INS>" + "a" * 400 + "</INS>", "instruction too long"),
    ],
)
def test_decode_rejects(text: str, reason: str) -> None:
    with pytest.raises(InvalidSolution) as caught:
        problem().decode(text)
    assert caught.value.reason == reason


@pytest.mark.parametrize(
    "position, expected",
    [
        ("before_q", "Be brief.\n\nQ: 2+2?\nA:"),
        ("q_begin", "Q: Be brief. 2+2?\nA:"),
        ("q_end", "Q: 2+2? Be brief.\nA:"),
        ("a_begin", "Q: 2+2?\nA: Be brief."),
    ],
)
def test_positions(position: str, expected: str) -> None:
    assert build_prompt("Be brief.", "2+2?", position) == expected


@pytest.mark.parametrize("position", sorted(POSITIONS))
def test_empty_instruction_leaves_a_clean_prompt(position: str) -> None:
    assert build_prompt("", "2+2?", position) == "Q: 2+2?\nA:"


def test_exemplars_mark_the_slot() -> None:
    text = problem("q_end").exemplars(np.random.default_rng(0))
    assert text.count("<INS>") == 1 + 3 and "Q: question" in text


def _arith(node: ast.AST) -> int:
    ops = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul}
    if isinstance(node, ast.BinOp):
        return ops[type(node.op)](_arith(node.left), _arith(node.right))
    if isinstance(node, ast.UnaryOp):
        return -_arith(node.operand)
    return node.value


def test_arithmetic_targets_are_right() -> None:
    for example in TASKS["multistep_arithmetic"].examples(1, 20):
        tree = ast.parse(example.input.rstrip(" ="), mode="eval")
        assert _arith(tree.body) == int(example.target)


def test_tasks_are_seeded_and_distinct() -> None:
    for task in TASKS.values():
        one, two = task.examples(3, 10), task.examples(3, 10)
        assert one == two and len({e.input for e in one}) == 10


def test_word_sorting_and_counting() -> None:
    for example in TASKS["word_sorting"].examples(0, 5):
        words = example.input.split("List: ")[1].split()
        assert example.target.split() == sorted(words)
    for example in TASKS["object_counting"].examples(0, 5):
        assert 2 <= int(example.target) <= 16


class Grader:
    """A scorer model by rule: it answers question i with i when i is even, else with 7 (or an essay)."""

    name = "grader"

    def __init__(self, essay: bool = False) -> None:
        self.essay, self.prompts = essay, []

    def generate(self, prompt: str, **_: object) -> Generation:
        self.prompts.append(prompt)
        i = int(re.search(r"question (\d+)\?", prompt).group(1))
        wrong = "I believe, having thought about it at great length, " * 20 if self.essay else "7"
        return Generation([Completion(str(i) if i % 2 == 0 else wrong)], calls=1)

    def describe(self) -> dict[str, object]:
        return {"name": self.name}


def graded(questions: list[str] | None = None, essay: bool = False) -> PromptSearch:
    inputs = questions or [f"question {i}?" for i in range(6)]
    train = [Example(text, re.search(r"\d+", text).group()) for text in inputs]
    test = [Example(f"held-out question {i}?", str(i)) for i in range(6, 9)]
    return PromptSearch(train, test, "number", Scorer(Grader(essay), concurrency=1))


def test_evaluation_names_the_training_questions_answered_wrong_and_scores_each() -> None:
    problem = graded()
    evaluation = problem.evaluate("Be brief.")
    # by hand: questions 1, 3 and 5 get 7, the others their own number
    assert evaluation == Evaluation(
        50.0,
        feedback="Wrong on 3 of 6 questions; they are:\n"
        "Q: question 1?\nexpected: 1 | answered: 7\n"
        "Q: question 3?\nexpected: 3 | answered: 7\n"
        "Q: question 5?\nexpected: 5 | answered: 7",
        cases=(1.0, 0.0, 1.0, 0.0, 1.0, 0.0),
    )
    assert "held-out" not in evaluation.feedback, "the test questions stay hidden from the optimizer"
    assert graded([f"question {i}?" for i in (0, 2)]).evaluate("x").feedback == "All 2 questions answered correctly."


def test_the_feedback_stays_short_and_the_test_score_stays_a_number() -> None:
    long_questions = [f"question {i}? " + "Some context for it. " * 40 for i in range(12)]
    problem = graded(long_questions, essay=True)
    feedback = problem.evaluate("Be brief.").feedback
    assert feedback.startswith("Wrong on 6 of 12 questions; the first 3:\nQ: question 1? Some context")
    assert len(feedback) < FEEDBACK_LIMIT // 2 and feedback.count("…") == 6  # 3 questions and 3 answers cut
    calls = problem.scorer.calls
    assert problem.final_evaluate("Be brief.") == 200.0 / 3  # 6 and 8 right, 7 wrong: a bare number
    assert problem.scorer.calls == calls + 3 and problem.evaluate("Be brief.").value == 50.0
    assert problem.scorer.calls == calls + 3, "the scorer remembers its answers"
    result = Result("opro", problem.name, "max", best_solution="Be brief.", best_value=50.0)
    assert problem.extra_columns(result)["test_acc"] == 200.0 / 3
