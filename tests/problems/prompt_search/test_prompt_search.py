"""Prompt search without a model: decoding, prompt positions, exemplars, tasks, splits."""

from __future__ import annotations

import ast
import operator

import numpy as np
import pytest

from llmopt.contract.problem import InvalidSolution
from llmopt.problems.prompt_search.problem import POSITIONS, PromptSearch, build_prompt
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
