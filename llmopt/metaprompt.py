"""The one meta-prompt renderer shared by every problem: a pure function of its inputs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol, Sequence

Order = Literal["ascending", "descending"]


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


@dataclass(frozen=True)
class MetaPromptConfig:
    """Knobs of the meta-prompt, so the paper's ablations can be rerun.

    `order="ascending"` lists the worst first and the best last (the paper's choice);
    `"descending"` puts the best first. `decimals` rounds shown values (None: as is).
    """

    top_k: int = 20
    order: Order = "ascending"
    decimals: int | None = 2
    show_exemplars: bool = True


def select_history(history: Sequence[tuple[str, float]], direction: str,
                   config: MetaPromptConfig) -> list[tuple[str, float]]:
    """The top-k (text, value) pairs, ordered as the config says."""
    best_first = sorted(history, key=lambda item: item[1], reverse=(direction == "max"))
    top = best_first[: max(config.top_k, 0)]
    return top if config.order == "descending" else top[::-1]


def format_score(value: float, decimals: int | None) -> str:
    """A value as shown to the model; integers lose their trailing '.0'."""
    if decimals is not None:
        value = round(value, decimals)
    if float(value).is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(float(value)) if decimals is None else f"{value:.{decimals}f}"


def _order_sentence(problem: Describable, config: MetaPromptConfig) -> str:
    goal = "lower" if problem.direction == "min" else "higher"
    place = "last" if config.order == "ascending" else "first"
    return (f"Below are previous {problem.solution_label}s with their {problem.value_label}; "
            f"a {goal} {problem.value_label} is better, and the best one is listed {place}.")


def render(problem: Describable, history: Sequence[tuple[str, float]],
           config: MetaPromptConfig = MetaPromptConfig(), exemplars: str | None = None) -> str:
    """Build the meta-prompt text from the problem, the scored history and the config."""
    parts = [problem.describe().strip()]
    shown = select_history(history, problem.direction, config)
    if shown:
        lines = [_order_sentence(problem, config), ""]
        for text, value in shown:
            lines.append(f"{problem.solution_label}: {text}")
            lines.append(f"{problem.value_label}: {format_score(value, config.decimals)}")
            lines.append("")
        parts.append("\n".join(lines).rstrip())
    if exemplars and config.show_exemplars:
        parts.append(exemplars.strip())
    parts.append(problem.format_hint().strip())
    return "\n\n".join(parts) + "\n"
