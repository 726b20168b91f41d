"""Strict, linear-time helpers for plugin decoders: find the answer in a completion, read numbers."""

from __future__ import annotations

import re

import numpy as np

_BRACKETED = re.compile(r"\[([^\[\]]*)\]")
_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")


def last_tagged(text: str, open_tag: str, close_tag: str, *, ignore_case: bool = False) -> str | None:
    """The content of the last `open_tag…close_tag` pair, found in linear time (no regex backtracking)."""
    haystack = text.lower() if ignore_case else text
    opening, closing = (open_tag.lower(), close_tag.lower()) if ignore_case else (open_tag, close_tag)
    end = haystack.rfind(closing)
    if end < 0:
        return None
    start = haystack.rfind(opening, 0, end)
    return None if start < 0 else text[start + len(opening) : end]


def last_bracketed(text: str) -> str | None:
    """The content of the last `[...]` without nested brackets."""
    found = _BRACKETED.findall(text)
    return found[-1] if found else None


def parse_decimal(token: str) -> float | None:
    """A plain decimal number (no nan, inf, hex or words), else None; 1e400 reads as inf."""
    token = token.strip()
    if not _NUMBER.fullmatch(token):
        return None
    return float(token) + 0.0  # + 0.0 folds -0.0 into 0.0


def format_number(value: float) -> str:
    """Integers as integers, floats in their shortest exact form."""
    return str(int(value)) if isinstance(value, (int, np.integer)) else repr(float(value))
