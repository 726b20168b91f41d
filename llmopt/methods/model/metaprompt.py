"""The one meta-prompt renderer shared by every problem: a pure function of its inputs.

The history is ranked by Deb's rules (`llmopt.core.feasibility`): a solution that keeps every constraint
beats any that breaks one, and those that break one rank by their total violation. Under each shown
solution's score stand its constraint violation (when the objective gave constraints) and its feedback, cut to
`MetaPromptConfig.feedback_chars`; a history without either renders as it always did.

With several objectives (`problem.directions`), the history is the feasible Pareto front (cut to `top_k` by
crowding distance) after up to DOMINATED_SHOWN of the least dominated others, each list sorted along the first
objective and each solution with all its values labelled by `problem.labels()`; the block closes by naming the
front's widest gap (`fronts.widest_gap`) and asking for a solution that fills it or that none shown dominates.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

import numpy as np

from llmopt.contract.evaluation import cut
from llmopt.core.feasibility import broken_count, feasible, rank_key, violation
from llmopt.engine.config import MetaPromptConfig
from llmopt.engine.proposer import Seen
from llmopt.methods.model.fronts import (
    directions_of,
    goals_text,
    points_of,
    split_front,
    thinned,
    values_text,
    widest_gap,
)

Shown = Seen | tuple[str, float]  # what the renderer takes: a `Seen`, or a plain (text, value) pair

# With several objectives, the meta-prompt shows the front and at most this many dominated solutions (the least
# dominated, most recent first), within the history's budget (`top_k`), so the model sees what not to repeat.
DOMINATED_SHOWN = 3

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

    def labels(self) -> tuple[str, ...]:
        """The objectives' names (read with several objectives)."""
        ...


def select_history(
    history: Sequence[Shown], direction: str, config: MetaPromptConfig, rng: np.random.Generator | None = None
) -> list[Any]:
    """The top-k by Deb's rules (feasible ones by value, then the others by violation), ordered as the config
    says; each item as it was given (a (text, value) pair, or a `Seen`)."""

    def rank(index: int) -> tuple[int, float]:
        seen = Seen.of(history[index])
        return rank_key(seen.value, seen.constraints, direction)

    ranked = sorted(range(len(history)), key=rank)[: max(config.top_k, 0)]
    if config.order == "found":  # the top-k in the order found: a newcomer joins the end, what stood stays put
        return [history[i] for i in sorted(ranked)]
    top = [history[i] for i in ranked]
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


def _figure(value: float, decimals: int | None) -> str:
    """A violation or a feedback number as shown: rounded as the scores are, unless that would make it 0."""
    shown = format_score(value, decimals)
    return f"{value:.2g}" if shown.lstrip("-") == "0" and value != 0 else shown


def feedback_text(feedback: str | Mapping[str, Any] | None, decimals: int | None = None) -> str:
    """The feedback as the model reads it: the text, or a flat dict's `key: value` pairs one a line ("" for
    none)."""
    if isinstance(feedback, Mapping):
        return "\n".join(
            f"{key}: {item if isinstance(item, str) else _figure(item, decimals)}" for key, item in feedback.items()
        )
    return (feedback or "").strip()


def notes(seen: Shown, config: MetaPromptConfig = MetaPromptConfig()) -> list[str]:
    """The lines under a solution's score: its constraint violation (when it has constraints) and its feedback
    (cut to `config.feedback_chars`, continued lines indented); none when the config hides them."""
    seen = Seen.of(seen)
    if not config.show_feedback:
        return []
    lines = []
    if seen.constraints is not None:
        broken, total = broken_count(seen.constraints), len(seen.constraints)
        amount = _figure(violation(seen.constraints), config.decimals)
        lines.append(
            f"violation: {amount} ({broken} of {total} constraints broken)" if broken else "violation: 0 (feasible)"
        )
    text = feedback_text(seen.feedback, config.decimals)
    if text:
        body = cut(text, config.feedback_chars).replace("\n", "\n  ")
        lines.append(f"feedback:\n  {body}" if isinstance(seen.feedback, Mapping) else f"feedback: {body}")
    return lines


def constrained(history: Sequence[Shown]) -> bool:
    """Whether any of these solutions came with constraint values."""
    return any(Seen.of(item).constraints is not None for item in history)


def _order_sentence(problem: Describable, config: MetaPromptConfig, rule: bool = False) -> str:
    """How the list is ordered; with `rule`, how a broken constraint ranks too (Deb's rules)."""
    base = _value_sentence(problem, config)
    if not rule:
        return base
    label = problem.solution_label
    return (
        f"{base} A {label} that keeps every constraint is better than any {label} that breaks one, and of two "
        f"that break one, the one with the smaller violation is better."
    )


def _value_sentence(problem: Describable, config: MetaPromptConfig) -> str:
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
    history: Sequence[Shown],
    config: MetaPromptConfig = MetaPromptConfig(),
    exemplars: str | None = None,
    rng: np.random.Generator | None = None,
) -> str:
    """Build the meta-prompt text from the problem, the scored history (`Seen`s, or plain (text, value) pairs)
    and the config (pure, given `rng`). With several objectives (`problem.directions`), the history shown is
    the front and a few dominated solutions, sorted along the first objective (`order` and `scores` are
    unused: see `_front_block`)."""
    directions = directions_of(problem)
    if directions is None:
        shown = _history_block(problem, history, config, rng)
    else:
        shown = _front_block(problem, [Seen.of(item) for item in history], config, directions)
    fixed = [*([exemplars.strip()] if exemplars and config.show_exemplars else []), problem.format_hint().strip()]
    if config.layout == "cache":
        parts = [problem.describe().strip(), *fixed, *([shown, ANSWER_NOW] if shown else [])]
    else:
        parts = [problem.describe().strip(), *([shown] if shown else []), *fixed]
    return "\n\n".join(parts) + "\n"


def _history_block(
    problem: Describable, history: Sequence[Shown], config: MetaPromptConfig, rng: np.random.Generator | None
) -> str:
    """The shown solutions with their scores, violations and feedback, under the sentence that says how they are
    ordered ("" for none)."""
    shown = [Seen.of(item) for item in select_history(history, problem.direction, config, rng)]
    if not shown:
        return ""
    lines = [_order_sentence(problem, config, constrained(shown)), ""]
    for seen, score in zip(shown, shown_scores([seen.value for seen in shown], config, rng)):
        lines.append(f"{problem.solution_label}: {seen.text}")
        if score:
            lines.append(f"{problem.value_label}: {score}")
        lines += [*notes(seen, config), ""]
    return "\n".join(lines).rstrip()


def select_front(
    history: Sequence[Seen], directions: Sequence[str], config: MetaPromptConfig
) -> tuple[list[Seen], list[Seen]]:
    """(the front shown, the dominated solutions shown), each sorted along the first objective: the feasible
    front (cut to `top_k` by crowding distance), then up to DOMINATED_SHOWN of the least dominated others
    while the budget lasts."""
    front, rest = split_front(history, directions)
    shown = thinned(front, max(config.top_k, 0))
    dominated = rest[: max(min(DOMINATED_SHOWN, config.top_k - len(shown)), 0)]
    sign = 1.0 if directions[0] == "min" else -1.0
    return shown, sorted(dominated, key=lambda item: sign * (item.values or (0.0,))[0])


def gap_sentence(problem: Any, front: Sequence[Seen], decimals: int | None) -> str:
    """The closing request: a solution that fills the front's widest gap (named by its two neighbours'
    values), or any that no shown solution dominates."""
    label, labels = problem.solution_label, problem.labels()
    anyone = f"any {label} that none listed here dominates"
    gap = widest_gap(points_of(front))
    if gap is None:
        return f"Propose {anyone}: it improves the front."
    ends = [values_text(labels, front[i].values or (), lambda v: format_score(v, decimals)) for i in gap]
    return (
        f"The widest gap in the front lies between ({ends[0]}) and ({ends[1]}): a {label} that fills it "
        f"improves the front, as does {anyone}."
    )


def _front_block(problem: Any, history: Sequence[Seen], config: MetaPromptConfig, directions: Sequence[str]) -> str:
    """The history of a run with several objectives: a few dominated solutions, then the front, each with
    all its values (labelled by `problem.labels()`) and notes, and the closing request ("" for none)."""
    front, dominated = select_front(history, directions, config)
    if not front and not dominated:
        return ""
    label, labels = problem.solution_label, problem.labels()
    names = f"{', '.join(labels[:-1])} and {labels[-1]}"
    lines = [
        f"Below are previous {label}s with their values of {names}; {goals_text(labels, directions)}. A {label} "
        f"dominates another when it is at least as good in every objective and better in at least one."
    ]
    kept = ""
    if constrained([*front, *dominated]):
        lines[0] += f" A {label} that keeps every constraint is better than any {label} that breaks one."
        kept = " that keep every constraint and"
    by = f"sorted by {labels[0]}, the best {labels[0]} first"
    broken = [item for item in dominated if not feasible(item.constraints)]  # dominated or not: infeasible
    dominated = [item for item in dominated if feasible(item.constraints)]
    if dominated:
        lines += ["", f"A few dominated {label}s, {by}:", "", *_listed(problem, dominated, config)]
    if broken:
        lines += ["", f"A few {label}s that break a constraint, {by}:", "", *_listed(problem, broken, config)]
    if front:
        lines += ["", f"The current Pareto front, the {label}s{kept} that no other dominates, {by}:", ""]
        lines += _listed(problem, front, config)
    return "\n".join([*lines, "", gap_sentence(problem, front, config.decimals)])


def _listed(problem: Any, items: Sequence[Seen], config: MetaPromptConfig) -> list[str]:
    """Each solution with one line per value and its notes, a blank line after each but the last."""
    lines: list[str] = []
    for item in items:
        lines.append(f"{problem.solution_label}: {item.text}")
        lines += [f"{name}: {format_score(v, config.decimals)}" for name, v in zip(problem.labels(), item.values or ())]
        lines += [*notes(item, config), ""]
    return lines[:-1]
