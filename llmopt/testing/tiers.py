"""Which test tier a pytest run is: read from its marker expression (`-m`) by pytest's documented grammar.

    expression := [or_expr];  or_expr := and_expr ("or" and_expr)*;  and_expr := not_expr ("and" not_expr)*
    not_expr := "not" not_expr | "(" or_expr ")" | mark name

This module imports nothing of pytest: the grammar is small, and pytest's own parser is not public.
"""

from __future__ import annotations

import re
from collections.abc import Collection

# A mark name as pytest reads one (letters, digits, _ and the characters : + - . [ ] \\ /), or a parenthesis.
_TOKEN = re.compile(r"\s*([()]|[\w:+\-.\[\]\\/]+)")


def deselects(markexpr: str, mark: str = "slow") -> bool:
    """Whether `-m markexpr` leaves out every test marked `mark` (as `-m "not slow and not gpu"` does); an
    expression this reader cannot parse (a mark with arguments) leaves nothing out."""
    try:
        return not selects(markexpr, {mark})
    except ValueError:
        return False


def selects(markexpr: str, marks: Collection[str]) -> bool:
    """Whether `-m markexpr` selects a test with `marks` (an empty expression selects every test)."""
    tokens = _tokens(markexpr)
    if not tokens:
        return True
    value, rest = _or(tokens, marks)
    if rest:
        raise ValueError(f"unexpected {rest[0]!r} in {markexpr!r}")
    return value


def _tokens(markexpr: str) -> list[str]:
    tokens, at = [], 0
    while markexpr[at:].strip():
        found = _TOKEN.match(markexpr, at)
        if found is None:
            raise ValueError(f"cannot read {markexpr[at:]!r}")
        tokens.append(found.group(1))
        at = found.end()
    return tokens


def _or(tokens: list[str], marks: Collection[str]) -> tuple[bool, list[str]]:
    value, tokens = _and(tokens, marks)
    while tokens[:1] == ["or"]:
        right, tokens = _and(tokens[1:], marks)
        value = value or right
    return value, tokens


def _and(tokens: list[str], marks: Collection[str]) -> tuple[bool, list[str]]:
    value, tokens = _not(tokens, marks)
    while tokens[:1] == ["and"]:
        right, tokens = _not(tokens[1:], marks)
        value = value and right
    return value, tokens


def _not(tokens: list[str], marks: Collection[str]) -> tuple[bool, list[str]]:
    if not tokens or tokens[0] in (")", "and", "or"):
        raise ValueError(f"a mark name expected, not {tokens[0] if tokens else 'the end'!r}")
    head, rest = tokens[0], tokens[1:]
    if head == "not":
        value, rest = _not(rest, marks)
        return not value, rest
    if head == "(":
        value, rest = _or(rest, marks)
        if rest[:1] != [")"]:
            raise ValueError("a parenthesis is not closed")
        return value, rest[1:]
    return head in marks, rest
