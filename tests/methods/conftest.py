"""A small text problem shared by the text-space tests."""

from __future__ import annotations

import pytest

from llmopt.contract.problem import Problem
from llmopt.contract.spaces import Text


class Vowels(Problem):
    """Maximise the share of vowels in a short instruction."""

    name, summary, direction = "vowels", "test problem", "max"
    solution_label, value_label = "instruction", "score"

    def __init__(
        self, pool: tuple[str, ...] = ("Answer.", "Be brief.", "Think."), handwritten: dict[str, str] | None = None
    ) -> None:
        self.space = Text(
            max_length=80,
            tag="INS",
            label="instruction",
            pool=pool,
            handwritten={"short": "Go.", "polite": "Please answer the question."}
            if handwritten is None
            else handwritten,
        )

    def describe(self) -> str:
        return "Write an instruction; its score is the percentage of vowels in it."

    def format_hint(self) -> str:
        return "Write a new instruction between <INS> and </INS>."

    def evaluate(self, text: str) -> float:
        letters = [c for c in text.lower() if c.isalpha()]
        return 100.0 * sum(c in "aeiou" for c in letters) / max(1, len(letters))


@pytest.fixture
def vowels() -> type[Vowels]:
    """The Vowels problem class: build it with a pool and hand-written texts of your choice."""
    return Vowels
