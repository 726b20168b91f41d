"""Reading a model's answer: decode it strictly, and say when the token limit, not the model, spoiled it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from llmopt.core.errors import InvalidSolution

CUT_OFF = "answer cut off"
# The default answer limit: the longest answer a space can hold, plus room for a few words around it, and
# never below the limit every answer had before it was sized (so small spaces answer as they always did).
ANSWER_ROOM = 64
MIN_ANSWER_TOKENS = 128


def answer_tokens_for(longest: str | None, count: Callable[[str], int] | None = None) -> int:
    """The token limit that fits the `longest` answer text: counted with the model's tokenizer (`count`)
    where one is at hand, else one token per byte (no tokenizer makes more tokens than bytes); plus
    ANSWER_ROOM, at least MIN_ANSWER_TOKENS."""
    if not longest:
        return MIN_ANSWER_TOKENS
    tokens = count(longest) if count is not None else len(longest.encode())
    return max(MIN_ANSWER_TOKENS, tokens + ANSWER_ROOM)


def cut_off_reason(limit: int | None, inside_reasoning: bool) -> str:
    """Why an answer that the token limit ended is invalid, naming the flag that raises the limit."""
    at = f" at {limit} tokens" if limit else ""
    if inside_reasoning:
        return f"{CUT_OFF} inside its reasoning{at}; raise --reasoning-tokens"
    return f"{CUT_OFF}{at}; raise --answer-tokens"


def read_completion(
    decode: Callable[[str], Any], answer: Any, limit: int | None, text: str | None = None
) -> tuple[Any, str | None]:
    """`read_answer` for a backend Completion (or `text` taken from it): its reasoning apart, and `limit`, the
    token limit it was asked with, named when that limit ended it."""
    return read_answer(
        decode,
        answer.text if text is None else text,
        reasoning=answer.reasoning,
        cut_off_at=limit if answer.cut_off else None,
    )


def read_answer(
    decode: Callable[[str], Any], text: str, *, reasoning: str = "", cut_off_at: int | None = None
) -> tuple[Any, str | None]:
    """(solution, None), or (None, reason); `text` is the answer alone, never the reasoning.

    `cut_off_at` is the token limit of an answer the limit ended; if it does not decode, the reason
    names the limit instead of the format.
    """
    try:
        return decode(text), None
    except InvalidSolution as error:
        if cut_off_at is None:
            return None, error.reason
        return None, cut_off_reason(cut_off_at, inside_reasoning=bool(reasoning) and not text.strip())
