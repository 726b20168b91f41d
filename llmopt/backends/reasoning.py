"""Reasoning apart from the answer: think blocks in the content, and how many tokens reasoning may take."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from dataclasses import replace

from llmopt.backends.base import Generation

# The tags thinking models write around their reasoning (Qwen3, DeepSeek-R1, QwQ: think; others: the rest).
THINK_TAGS = ("think", "thinking", "reasoning", "thought", "seed:think")
_OPEN = re.compile(r"<(" + "|".join(re.escape(t) for t in THINK_TAGS) + r")>", re.IGNORECASE)
# gpt-oss written raw (harmony format): analysis channel, then the final channel holds the answer.
_HARMONY_FINAL = re.compile(r"<\|channel\|>\s*final\s*<\|message\|>", re.IGNORECASE)
_HARMONY_TOKENS = re.compile(
    r"<\|channel\|>\s*\w+\s*<\|message\|>|<\|start\|>\s*assistant|"
    r"<\|(?:start|end|return|channel|message|call)\|>",
    re.IGNORECASE,
)
# With no reasoning limit of its own, a model that reasons gets this many tokens on top of the answer's.
DEFAULT_REASONING_TOKENS = 4096


def split_reasoning(content: str) -> tuple[str, str]:
    """(answer, reasoning) of a completion's content; an unclosed think block is all reasoning.

    A closing tag with no opening one (chat templates that open the block in the prompt) makes
    everything before it reasoning. No part of the reasoning is ever left in the answer.
    """
    final = _HARMONY_FINAL.search(content)
    if final or "<|channel|>" in content:
        cut = final.end() if final else len(content)
        reasoning = _HARMONY_TOKENS.sub(" ", content[: final.start() if final else cut]).strip()
        return _HARMONY_TOKENS.sub("", content[cut:]).strip(), reasoning
    answer, thoughts = content, []
    while True:
        opened = _OPEN.search(answer)
        closing = re.search(r"</(" + "|".join(re.escape(t) for t in THINK_TAGS) + r")>", answer, re.IGNORECASE)
        if opened and (closing is None or opened.start() < closing.start()):
            end = re.search(rf"</{re.escape(opened.group(1))}>", answer[opened.end() :], re.IGNORECASE)
            if end is None:  # cut off inside its reasoning
                thoughts.append(answer[opened.end() :])
                answer = answer[: opened.start()]
                break
            thoughts.append(answer[opened.end() : opened.end() + end.start()])
            answer = answer[: opened.start()] + answer[opened.end() + end.end() :]
        elif closing:  # the template opened the block: all before the close is reasoning
            thoughts.append(answer[: closing.start()])
            answer = answer[closing.end() :]
        else:
            break
    return answer.strip(), "\n".join(t.strip() for t in thoughts if t.strip())


class ReasoningBudget:
    """The token limit of one request: the answer's, plus room for reasoning once the model is known to reason.

    A model is known to reason when a reasoning effort was asked for, when the server wants
    `max_completion_tokens` (OpenAI's reasoning models), or once an answer came with reasoning.
    """

    def __init__(self, extra: int = DEFAULT_REASONING_TOKENS, reasons: bool = False) -> None:
        self.extra, self.reasons = extra, reasons
        self._lock = threading.Lock()

    def limit(self, answer_tokens: int) -> int:
        """The limit to send for an answer of at most `answer_tokens` tokens."""
        return answer_tokens + self.extra if self.reasons else answer_tokens

    def learn(self, reasoned: bool) -> bool:
        """Note an answer that showed reasoning; True the first time, when the request deserves a resend."""
        with self._lock:
            if not reasoned or self.reasons:
                return False
            self.reasons = True
            return True


def with_room_for_reasoning(sample: Callable[[], Generation], budget: ReasoningBudget) -> Generation:
    """`sample()`, and once more with room for reasoning when its answers first show the model reasons and
    the answer's limit cut them off; the calls and tokens of the first try are kept in the count."""
    generation = sample()
    reasoned = any(c.reasoning or c.reasoning_tokens for c in generation.completions)
    if not (budget.learn(reasoned) and any(c.cut_off for c in generation.completions)):
        return generation
    again = sample()
    if not again.completions:
        return again
    first = replace(
        again.completions[0],
        prompt_tokens=again.completions[0].prompt_tokens + generation.prompt_tokens,
        completion_tokens=again.completions[0].completion_tokens + generation.completion_tokens,
        reasoning_tokens=again.completions[0].reasoning_tokens + generation.reasoning_tokens,
    )
    return Generation(
        [first, *again.completions[1:]], calls=generation.calls + again.calls, max_tokens=again.max_tokens
    )
