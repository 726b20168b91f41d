"""Answer normalisation: turn a model's free-form answer into something comparable with the target."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Literal

AnswerKind = Literal["number", "choice", "boolean", "text"]

_NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?")
_AFTER = re.compile(r"(?:answer is|####)\s*:?\s*(.*)", re.I | re.S)
_CHOICE = re.compile(r"\(([A-Za-z])\)")
_BOOLEAN = re.compile(r"\b(true|false|yes|no)\b", re.I)


def extract_number(text: str) -> float | None:
    """The number after 'answer is' or '####', else the last number; `$`, `,` and `%` ignored."""
    cleaned = re.sub(r"(?<=\d),(?=\d)", "", text).replace("$", "").replace("%", "")
    after = _AFTER.search(cleaned)
    if after:
        first = _NUMBER.search(after.group(1))
        if first:
            return float(first.group())
    numbers = _NUMBER.findall(cleaned)
    return float(numbers[-1]) if numbers else None


def extract_choice(text: str) -> str | None:
    """The letter of the last '(X)' option, else a lone leading letter ('B', 'B.' or 'B)')."""
    found = _CHOICE.findall(text)
    if found:
        return found[-1].upper()
    lone = re.match(r"\s*([A-Za-z])(?:[.):]|\s|$)", text)
    return lone.group(1).upper() if lone else None


def extract_boolean(text: str) -> str | None:
    """The first true/false/yes/no word, lower-cased."""
    found = _BOOLEAN.search(text)
    return found.group(1).lower() if found else None


def normalize_text(text: str) -> str:
    """Case- and whitespace-insensitive form of free text."""
    return " ".join(text.lower().split())


def first_answer_line(text: str) -> str:
    """The first non-empty line, without an 'A:' or 'Answer:' lead or a final full stop."""
    for line in text.splitlines():
        line = re.sub(r"^\s*(?:a|answer)\s*:\s*", "", line.strip(), flags=re.I)
        if line:
            return line.rstrip(".")
    return ""


def _numbers_equal(prediction: str, target: str) -> bool:
    got, want = extract_number(prediction), extract_number(target)
    return got is not None and want is not None and math.isclose(got, want, rel_tol=1e-9, abs_tol=1e-9)


def _choices_equal(prediction: str, target: str) -> bool:
    got = extract_choice(prediction)
    return got is not None and got == extract_choice(target)


def _booleans_equal(prediction: str, target: str) -> bool:
    got = extract_boolean(prediction)
    return got is not None and got == extract_boolean(target)


def _texts_equal(prediction: str, target: str) -> bool:
    return normalize_text(first_answer_line(prediction)) == normalize_text(target)


MATCHERS: dict[AnswerKind, Callable[[str, str], bool]] = {
    "number": _numbers_equal,
    "choice": _choices_equal,
    "boolean": _booleans_equal,
    "text": _texts_equal,
}


def is_correct(prediction: str, target: str, kind: AnswerKind) -> bool:
    """Whether the model's answer matches the target under the rule for `kind`."""
    return MATCHERS[kind](prediction, target)


def infer_kind(targets: list[str]) -> AnswerKind:
    """The answer kind that fits every target of a dataset."""
    if targets and all(re.fullmatch(r"\s*-?[\d,]+(?:\.\d+)?\s*", t) for t in targets):
        return "number"
    if targets and all(re.fullmatch(r"\s*\([A-Za-z]\)\s*", t) for t in targets):
        return "choice"
    if targets and all(t.strip().lower() in ("true", "false", "yes", "no") for t in targets):
        return "boolean"
    return "text"
