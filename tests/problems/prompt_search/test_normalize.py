"""One test per answer-normalisation rule."""

from __future__ import annotations

import pytest

from llmopt.problems.prompt_search.normalize import (
    extract_boolean,
    extract_choice,
    extract_number,
    infer_kind,
    is_correct,
)


@pytest.mark.parametrize(
    "text, value",
    [
        ("It costs $1,234.50 in total", 1234.5),
        ("about 45%", 45.0),
        ("First 3, then 7, so the answer is 12. Later 99.", 12.0),
        ("work work\n#### 42", 42.0),
        ("We get 3 then 8", 8.0),
        ("no digits here", None),
        ("The answer is: -17", -17.0),
    ],
)
def test_numbers(text: str, value: float | None) -> None:
    assert extract_number(text) == value


def test_numbers_compare_numerically() -> None:
    assert is_correct("The answer is 12.0", "12", "number")
    assert is_correct("$1,000", "1000", "number")
    assert not is_correct("13", "12", "number")
    assert not is_correct("none", "12", "number")


@pytest.mark.parametrize(
    "text, letter",
    [
        ("The correct option is (B).", "B"),
        ("(a) or maybe (c)", "C"),
        ("D. because", "D"),
        ("C", "C"),
        ("Because it rains", None),
    ],
)
def test_multiple_choice(text: str, letter: str | None) -> None:
    assert extract_choice(text) == letter
    if letter:
        assert is_correct(text, f"({letter})", "choice")


@pytest.mark.parametrize(
    "text, word",
    [
        ("True, since both hold", "true"),
        ("It is FALSE.", "false"),
        ("Yes.", "yes"),
        ("no way", "no"),
        ("I do not know", None),
    ],
)
def test_true_false_yes_no(text: str, word: str | None) -> None:
    assert extract_boolean(text) == word


def test_boolean_matching() -> None:
    assert is_correct("True", "True", "boolean") and is_correct("yes!", "Yes", "boolean")
    assert not is_correct("False", "True", "boolean") and not is_correct("maybe", "True", "boolean")


def test_free_text_exact_after_case_and_whitespace() -> None:
    assert is_correct("  Apple   BANANA cherry ", "apple banana cherry", "text")
    assert is_correct("A: apple banana.\nmore text", "apple banana", "text")
    assert not is_correct("apple, banana", "apple banana", "text")


def test_infer_kind() -> None:
    assert infer_kind(["12", "1,000", "-3"]) == "number"
    assert infer_kind(["(A)", "(C)"]) == "choice"
    assert infer_kind(["True", "False"]) == "boolean"
    assert infer_kind(["apple pie", "12"]) == "text"
