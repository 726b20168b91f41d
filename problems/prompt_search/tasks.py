"""Built-in, seedable prompt-search tasks that need no downloaded data."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from llmopt.problems.prompt_search.normalize import AnswerKind


@dataclass(frozen=True)
class Example:
    """One question and its reference answer."""

    input: str
    target: str


@dataclass(frozen=True)
class Task:
    """A named generator of examples with the answer rule that scores them."""

    name: str
    kind: AnswerKind
    make: Callable[[np.random.Generator], Example]
    summary: str

    def examples(self, seed: int, count: int) -> list[Example]:
        """`count` distinct examples from the seeded generator."""
        rng = np.random.default_rng(seed)
        seen: dict[str, Example] = {}
        for _ in range(count * 50):
            example = self.make(rng)
            seen.setdefault(example.input, example)
            if len(seen) == count:
                break
        return list(seen.values())


def _bool_expr(rng: np.random.Generator, depth: int) -> tuple[str, bool]:
    if depth == 0 or rng.random() < 0.3:
        value = bool(rng.integers(2))
        return str(value), value
    kind = rng.choice(["not", "and", "or"])
    if kind == "not":
        text, value = _bool_expr(rng, depth - 1)
        return f"not {text}", not value
    left, lv = _bool_expr(rng, depth - 1)
    right, rv = _bool_expr(rng, depth - 1)
    return f"( {left} {kind} {right} )", (lv and rv) if kind == "and" else (lv or rv)


def boolean_expression(rng: np.random.Generator) -> Example:
    """`not ( True and False )` → True."""
    text, value = _bool_expr(rng, 3)
    return Example(f"Evaluate the result of this Boolean expression: {text}", str(value))


def _arith(rng: np.random.Generator, depth: int) -> tuple[str, int]:
    if depth == 0:
        value = int(rng.integers(-9, 10))
        return str(value), value
    op = str(rng.choice(["+", "-", "*"]))
    (lt, lv), (rt, rv) = _arith(rng, depth - 1), _arith(rng, depth - 1)
    value = {"+": lv + rv, "-": lv - rv, "*": lv * rv}[op]
    return f"({lt} {op} {rt})", value


def multistep_arithmetic(rng: np.random.Generator) -> Example:
    """`((-5 + 9) * (3 - 7)) =` → -16."""
    text, value = _arith(rng, 2)
    return Example(f"{text[1:-1]} =", str(value))


OBJECTS = ["apple", "banana", "carrot", "grape", "peach", "onion", "plum", "potato"]
NUMBER_WORDS = ["a", "two", "three", "four", "five"]


def object_counting(rng: np.random.Generator) -> Example:
    """`I have a plum, two apples and an onion. How many items do I have?` → 4."""
    picks = rng.choice(OBJECTS, size=int(rng.integers(2, 5)), replace=False)
    counts = rng.integers(1, 5, size=len(picks))
    parts = [
        f"{'an' if n == 1 and o[0] in 'aeiou' else NUMBER_WORDS[n - 1]} {o}{'s' if n > 1 else ''}"
        for o, n in zip(picks, counts)
    ]
    listing = ", ".join(parts[:-1]) + f" and {parts[-1]}"
    return Example(f"I have {listing}. How many items do I have?", str(int(counts.sum())))


WORDS = [
    "river",
    "apple",
    "quiet",
    "mango",
    "zebra",
    "cloud",
    "bread",
    "lemon",
    "tiger",
    "olive",
    "house",
    "grass",
    "stone",
    "pearl",
    "flute",
    "night",
    "earth",
    "dance",
    "ivory",
    "vivid",
    "wheat",
    "young",
]


def word_sorting(rng: np.random.Generator) -> Example:
    """`Sort the following words alphabetically: List: river apple` → apple river."""
    words = [str(w) for w in rng.choice(WORDS, size=int(rng.integers(3, 6)), replace=False)]
    return Example(f"Sort the following words alphabetically: List: {' '.join(words)}", " ".join(sorted(words)))


def next_number(rng: np.random.Generator) -> Example:
    """`Continue the sequence: 4, 5, 6, 7,` → 8 (easy enough for a 135M model)."""
    start, length = int(rng.integers(1, 90)), int(rng.integers(3, 6))
    shown = ", ".join(str(start + i) for i in range(length))
    return Example(f"What number comes next? {shown},", str(start + length))


TASKS: dict[str, Task] = {
    task.name: task
    for task in (
        Task("boolean_expressions", "boolean", boolean_expression, "evaluate nested and/or/not expressions"),
        Task("multistep_arithmetic", "number", multistep_arithmetic, "two-level integer arithmetic"),
        Task("object_counting", "number", object_counting, "count items in a sentence"),
        Task("word_sorting", "text", word_sorting, "sort words alphabetically"),
        Task("next_number", "number", next_number, "continue a counting sequence (easy; for small models)"),
    )
}
