"""Reasoning apart from the answer: think blocks, cut-off answers, and the room a reasoning model gets."""

from __future__ import annotations

import pytest

from llmopt.backends.base import Completion, Generation
from llmopt.backends.reasoning import ReasoningBudget, split_reasoning, with_room_for_reasoning
from llmopt.methods.model.answers import read_answer
from llmopt.problems.linear_regression import LinearRegression


@pytest.mark.parametrize(
    "content, answer, reasoning",
    [
        ("[3, 4]", "[3, 4]", ""),
        ("<think>maybe [20, 3]? no</think>\n[3, 4]", "[3, 4]", "maybe [20, 3]? no"),
        ("<THINK>a</THINK>[3, 4]", "[3, 4]", "a"),
        ("<thinking>x</thinking> <reasoning>y</reasoning> [3, 4]", "[3, 4]", "x\ny"),
        ("<seed:think>x</seed:think>[3, 4]", "[3, 4]", "x"),
        ("maybe [20, 3]? no</think>\n[3, 4]", "[3, 4]", "maybe [20, 3]? no"),  # the template opened the block
        ("<think>maybe [20, 3]? then", "", "maybe [20, 3]? then"),  # cut off inside its reasoning
        (
            "<|channel|>analysis<|message|>try [20, 3]<|end|><|start|>assistant<|channel|>final<|message|>[3, 4]",
            "[3, 4]",
            "try [20, 3]",
        ),
        ("<|channel|>analysis<|message|>try [20, 3] and", "", "try [20, 3] and"),
    ],
)
def test_the_answer_never_holds_the_reasoning(content: str, answer: str, reasoning: str) -> None:
    got_answer, got_reasoning = split_reasoning(content)
    assert got_answer == answer
    assert " ".join(got_reasoning.split()) == " ".join(reasoning.split())


def test_a_decoy_inside_the_reasoning_is_never_decoded() -> None:
    answer, reasoning = split_reasoning("<think>the best is [20, 3]</think>")
    solution, reason = read_answer(LinearRegression().decode, answer, reasoning=reasoning)
    assert solution is None and reason is not None and "20" not in reason


def test_a_cut_off_answer_names_the_limit_and_the_flag() -> None:
    decode = LinearRegression().decode
    assert read_answer(decode, "", reasoning="let me see", cut_off_at=128) == (
        None,
        "answer cut off inside its reasoning at 128 tokens; raise --reasoning-tokens",
    )
    assert read_answer(decode, "[3,", cut_off_at=16) == (None, "answer cut off at 16 tokens; raise --answer-tokens")
    assert read_answer(decode, "[3, 4]", cut_off_at=16) == ((3, 4), None)  # whole despite the limit
    assert read_answer(decode, "[3,")[1] != read_answer(decode, "[3,", cut_off_at=16)[1]


def test_room_for_reasoning_once_the_model_shows_it_reasons() -> None:
    budget = ReasoningBudget(extra=1000)
    sent: list[int] = []

    def sample() -> Generation:
        sent.append(budget.limit(16))
        cut = len(sent) == 1
        return Generation(
            [
                Completion(
                    "" if cut else "[1, 2]",
                    5,
                    16 if cut else 40,
                    reasoning="hmm",
                    finish_reason="length" if cut else "stop",
                )
            ],
            calls=1,
            max_tokens=sent[-1],
        )

    generation = with_room_for_reasoning(sample, budget)
    assert sent == [16, 1016], "asked again once, with room for the reasoning"
    assert generation.completions[0].text == "[1, 2]" and generation.calls == 2
    assert generation.completion_tokens == 56 and generation.prompt_tokens == 10, "the first try's cost is kept"
    with_room_for_reasoning(sample, budget)
    assert sent[-1] == 1016 and len(sent) == 3, "learned once: later requests get the room from the start"


def test_a_model_that_does_not_reason_keeps_the_answers_limit() -> None:
    budget = ReasoningBudget(extra=1000)
    generation = with_room_for_reasoning(
        lambda: Generation([Completion("[1,", finish_reason="length")], calls=1, max_tokens=budget.limit(8)), budget
    )
    assert generation.max_tokens == 8 and generation.calls == 1 and not budget.reasons
