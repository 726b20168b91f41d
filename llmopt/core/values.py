"""Readers of the values a user types (command-line flags, sweep values): each returns the value or raises
ValueError with a message that says what was expected."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any


def selection(text: str) -> str:
    """How LMX draws parents: uniform (at random from the population) or tournament (the better of two)."""
    if text not in ("uniform", "tournament"):
        raise ValueError(f"the selection is uniform or tournament, not {text!r}")
    return text


def one_of(what: str, allowed: tuple[str, ...]) -> Callable[[str], str]:
    """A reader of one of the `allowed` words (a meta-prompt's order, its layout), naming them when refused."""

    def read(text: str) -> str:
        if text not in allowed:
            raise ValueError(f"the {what} is one of {', '.join(allowed)}, not {text!r}")
        return text

    return read


def price(text: str) -> tuple[float, ...]:
    """Dollars per million tokens: IN,OUT (prompt and completion, e.g. 0.15,0.6) or IN,CACHED,OUT (a cached
    prompt token's price in the middle, e.g. 1.25,0.125,10)."""
    parts = text.split(",")
    if len(parts) not in (2, 3):
        raise ValueError(
            "write the price as IN,OUT or IN,CACHED,OUT dollars per million prompt (cached prompt) and "
            f"completion tokens, not {text!r}"
        )
    return tuple(non_negative_float(part) for part in parts)


def _number(read: Callable[[str], Any], text: str, what: str) -> Any:
    try:
        return read(text)
    except (TypeError, ValueError):
        raise ValueError(f"must be {what}, got {text!r}") from None


def positive_int(text: str) -> int:
    """An integer of at least 1."""
    value = _number(int, text, "a positive integer")
    if value < 1:
        raise ValueError(f"must be a positive integer, got {text}")
    return value


def non_negative_int(text: str) -> int:
    """A whole number of at least 0."""
    value = _number(int, text, "a whole number of at least 0")
    if value < 0:
        raise ValueError(f"must be a whole number of at least 0, got {text}")
    return value


MAX_SEED = 2**32 - 1


def seed(text: str) -> int:
    """A seed: a whole number from 0 to 2**32 - 1 (what every generator and model server takes)."""
    value = _number(int, text, f"a whole number from 0 to {MAX_SEED}")
    if not 0 <= value <= MAX_SEED:
        raise ValueError(f"must be a whole number from 0 to {MAX_SEED}, got {text}")
    return value


def non_negative_float(text: str) -> float:
    """A finite number of at least 0 (a sampling temperature)."""
    value = _number(float, text, "a number of at least 0")
    if not 0 <= value < math.inf:
        raise ValueError(f"must be a finite number of at least 0, got {text}")
    return value


def positive_float(text: str) -> float:
    """A finite number above 0 (seconds)."""
    value = _number(float, text, "a number above 0")
    if not 0 < value < math.inf:
        raise ValueError(f"must be a finite number above 0, got {text}")
    return value


def finite_float(text: str) -> float:
    """Any finite number (a target value)."""
    value = _number(float, text, "a number")
    if not math.isfinite(value):
        raise ValueError(f"must be a finite number, got {text}")
    return value
