"""The one meta-prompt renderer shared by every problem: a pure function of its inputs."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np

from llmopt.core.direction import to_loss
from llmopt.engine.config import MetaPromptConfig

# The cache layout's last line, after the history: the answer format stands above it, in the fixed part.
ANSWER_NOW = "Now answer: a new one, different from each listed here, in the format given before the list."


class Describable(Protocol):
    """The part of a problem the renderer reads."""

    direction: str
    solution_label: str
    value_label: str

    def describe(self) -> str:
        """The problem statement."""
        ...

    def format_hint(self) -> str:
        """The answer-format instruction."""
        ...


def select_history(
    history: Sequence[tuple[str, float]],
    direction: str,
    config: MetaPromptConfig,
    rng: np.random.Generator | None = None,
) -> list[tuple[str, float]]:
    """The top-k (text, value) pairs, ordered as the config says."""
    if config.order == "found":  # the top-k in the order found: a newcomer joins the end, what stood stays put
        ranked = sorted(range(len(history)), key=lambda i: to_loss(history[i][1], direction))
        return [history[i] for i in sorted(ranked[: max(config.top_k, 0)])]
    best_first = sorted(history, key=lambda item: to_loss(item[1], direction))
    top = best_first[: max(config.top_k, 0)]
    if config.order == "random":
        return [top[i] for i in _rng(rng).permutation(len(top))]
    return top if config.order == "descending" else top[::-1]


def shown_scores(values: list[float], config: MetaPromptConfig, rng: np.random.Generator | None = None) -> list[str]:
    """The score text next to each shown solution: as is, shuffled among them, bucketed, or none."""
    if config.scores == "hidden":
        return [""] * len(values)
    if config.scores == "shuffled":
        values = [values[i] for i in _rng(rng).permutation(len(values))]
    if config.scores == "bucketed" and values:
        low, high = min(values), max(values)
        width = (high - low) / max(config.buckets - 1, 1) or 1.0
        values = [low + round((v - low) / width) * width for v in values]
    return [format_score(v, config.decimals) for v in values]


def _rng(rng: np.random.Generator | None) -> np.random.Generator:
    if rng is None:
        raise ValueError("this meta-prompt config draws at random: pass render() an rng")
    return rng


def format_score(value: float, decimals: int | None) -> str:
    """A value as shown to the model; integers lose their trailing '.0'."""
    if decimals is not None:
        value = round(value, decimals)
    if float(value).is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(float(value)) if decimals is None else f"{value:.{decimals}f}"


def _order_sentence(problem: Describable, config: MetaPromptConfig) -> str:
    if config.scores == "hidden":
        return f"Below are previous {problem.solution_label}s."
    goal = "lower" if problem.direction == "min" else "higher"
    place = {
        "ascending": ", and the best one is listed last",
        "descending": ", and the best one is listed first",
        "random": "",
        "found": ", listed in the order they were found",
    }[config.order]
    return (
        f"Below are previous {problem.solution_label}s with their {problem.value_label}; "
        f"a {goal} {problem.value_label} is better{place}."
    )


def render(
    problem: Describable,
    history: Sequence[tuple[str, float]],
    config: MetaPromptConfig = MetaPromptConfig(),
    exemplars: str | None = None,
    rng: np.random.Generator | None = None,
) -> str:
    """Build the meta-prompt text from the problem, the scored history and the config (pure, given `rng`)."""
    shown = _history_block(problem, history, config, rng)
    fixed = [*([exemplars.strip()] if exemplars and config.show_exemplars else []), problem.format_hint().strip()]
    if config.layout == "cache":
        parts = [problem.describe().strip(), *fixed, *([shown, ANSWER_NOW] if shown else [])]
    else:
        parts = [problem.describe().strip(), *([shown] if shown else []), *fixed]
    return "\n\n".join(parts) + "\n"


def _history_block(
    problem: Describable,
    history: Sequence[tuple[str, float]],
    config: MetaPromptConfig,
    rng: np.random.Generator | None,
) -> str:
    """The shown solutions with their scores, under the sentence that says how they are ordered ("" for none)."""
    shown = select_history(history, problem.direction, config, rng)
    if not shown:
        return ""
    lines = [_order_sentence(problem, config), ""]
    for (text, _), score in zip(shown, shown_scores([v for _, v in shown], config, rng)):
        lines.append(f"{problem.solution_label}: {text}")
        if score:
            lines.append(f"{problem.value_label}: {score}")
        lines.append("")
    return "\n".join(lines).rstrip()
