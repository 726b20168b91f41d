"""A reflective proposer (`reflect`), learned from GEPA (Agrawal et al. 2025, "GEPA: Reflective Prompt
Evolution Can Outperform Reinforcement Learning") and written for every space.

Each step picks one parent and shows the model that parent, its value, what its evaluation said about it
(its feedback, and the constraints it broke) and a few good relatives with their values, then asks for an
improved solution in the problem's format, decoded (grammar-constrained) as OPRO's answers are. The parent
is GEPA's Pareto pick when the evaluations carry per-case scores (prompt search): a solution is on the
front when it is best on at least one case, and members are drawn in proportion to the cases they win;
otherwise it is the better, by Deb's rules, of two drawn from the best `reflect_pool` solutions. With several
objectives, the parent is the member of the feasible Pareto front of the largest crowding distance (the ends
first, as theirs is infinite) among those not yet reflected on, shown with all its values beside its
neighbours on the front; the model is asked for a solution that none shown dominates.

`reflect-no-feedback` is the same proposer with the feedback and violations left out of the prompt (the
parents are picked alike), so a bench measures what the feedback is worth. Both are proposers on the
driver: OPRO's steps, proposals and evaluation budget, journaled and resumable; the draws come from the
run's generator, so a seed gives the same run.
"""

from __future__ import annotations

from collections.abc import Container, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

import numpy as np

from llmopt.contract.evaluation import cut
from llmopt.core import values
from llmopt.core.direction import to_loss
from llmopt.core.feasibility import feasible, rank_key, violation
from llmopt.core.pareto import crowding_distance
from llmopt.core.result import Spent, Trial
from llmopt.core.settings import Setting
from llmopt.engine.config import MetaPromptConfig
from llmopt.engine.proposer import Ask, Seen, Study
from llmopt.methods.method import Method, Methods, driven
from llmopt.methods.model.fronts import directions_of, goals_text, points_of, split_front
from llmopt.methods.model.metaprompt import Describable, format_score
from llmopt.methods.model.proposer import ModelProposer

NAME, ABLATION = "reflect", "reflect-no-feedback"
# Characters of feedback and violations shown with the parent by default: the meta-prompt's `feedback_chars`
# (a run's `--feedback-chars` sets it for reflect too).
FEEDBACK_BUDGET = MetaPromptConfig.feedback_chars
_GROUP = "reflective proposer (reflect, reflect-no-feedback)"
POOL = Setting(
    "reflect_pool",
    values.positive_int,
    8,
    "the best solutions a tournament draws its parent from (without per-case scores)",
    group=_GROUP,
    sweep=True,
)
RELATIVES = Setting(
    "reflect_relatives", values.non_negative_int, 3, "other good solutions shown with the parent", group=_GROUP
)
SETTINGS = (POOL, RELATIVES)


def ranked(seen: Sequence[Seen], direction: str) -> list[Seen]:
    """The solutions best first by Deb's rules (the first seen first among equals)."""
    return sorted(seen, key=lambda item: rank_key(item.value, item.constraints, direction))


def tournament(pool: Sequence[Seen], direction: str, rng: np.random.Generator) -> Seen:
    """The better, by Deb's rules, of two different members drawn at random (the one member of a pool of one)."""
    if len(pool) == 1:
        return pool[0]
    drawn = sorted(rng.choice(len(pool), size=2, replace=False))  # of two equals, the earlier in the pool wins
    return min((pool[i] for i in drawn), key=lambda item: rank_key(item.value, item.constraints, direction))


def case_wins(seen: Sequence[Seen], direction: str) -> dict[int, int]:
    """GEPA's Pareto front over per-case scores: the index in `seen` of each solution that is best on at least
    one case (ties: all the best win it), with how many cases it wins. Only solutions with as many cases as
    the first that has any take part, and only feasible ones when any is; {} when none has cases."""
    scored = [i for i, item in enumerate(seen) if item.cases]
    if not scored:
        return {}
    scored = [i for i in scored if len(seen[i].cases or ()) == len(seen[scored[0]].cases or ())]
    scored = [i for i in scored if feasible(seen[i].constraints)] or scored
    losses = np.array([[to_loss(case, direction) for case in seen[i].cases or ()] for i in scored])
    wins = (losses == losses.min(axis=0)).sum(axis=1)
    return {i: int(won) for i, won in zip(scored, wins) if won > 0}


def pareto_pick(seen: Sequence[Seen], direction: str, rng: np.random.Generator) -> Seen | None:
    """A member of the Pareto front over cases, drawn in proportion to the cases it wins (None: no cases)."""
    wins = case_wins(seen, direction)
    if not wins:
        return None
    members = list(wins)
    weights = np.array([wins[i] for i in members], dtype=float)
    return seen[members[rng.choice(len(members), p=weights / weights.sum())]]


def pick_parent(seen: Sequence[Seen], direction: str, pool: int, rng: np.random.Generator) -> Seen:
    """This step's parent: the Pareto pick over cases when the evaluations carry them, else a tournament
    among the best `pool` solutions."""
    picked = pareto_pick(seen, direction, rng)
    return picked if picked is not None else tournament(ranked(seen, direction)[:pool], direction, rng)


def crowding_pick(front: Sequence[Seen], used: Container[str], rng: np.random.Generator) -> Seen:
    """With several objectives: the member of the front (sorted along the first objective) of the largest
    crowding distance (the ends' is infinite) among those no step has reflected on yet (`used`: their
    texts), or among all once each has been; of equal distances, one drawn by `rng`."""
    fresh = [i for i, item in enumerate(front) if item.text not in used] or list(range(len(front)))
    distance = crowding_distance(points_of(front))[fresh]
    widest = [index for index, d in zip(fresh, distance) if d == distance.max()]
    return front[widest[0] if len(widest) == 1 else int(rng.choice(widest))]


def front_parent(
    seen: Sequence[Seen], directions: Sequence[str], used: Container[str], rng: np.random.Generator
) -> Seen:
    """With several objectives, this step's parent: the `crowding_pick` of the feasible front, else (none is
    feasible) the least violating solution."""
    front, rest = split_front(seen, directions)
    return crowding_pick(front, used, rng) if front else rest[0]


def front_relatives(parent: Seen, seen: Sequence[Seen], directions: Sequence[str], k: int) -> list[Seen]:
    """With several objectives: the parent's `k` nearest neighbours on the front along the first objective,
    sorted along it."""
    front, _ = split_front(seen, directions)
    at = next((i for i, item in enumerate(front) if item.text == parent.text), 0)
    near = sorted((i for i, item in enumerate(front) if item.text != parent.text), key=lambda i: abs(i - at))
    return [front[i] for i in sorted(near[:k])]


def relatives_of(parent: Seen, seen: Sequence[Seen], direction: str, k: int) -> list[Seen]:
    """The best `k` solutions other than the parent, best first."""
    return [item for item in ranked(seen, direction) if item.text != parent.text][:k]


def violations(constraints: Sequence[float]) -> str:
    """The constraints a solution broke, each with its amount, as one line."""
    broken = [(index, amount) for index, amount in enumerate(constraints, 1) if amount > 0]
    if not broken:
        return f"Constraints: all {len(constraints)} met."
    each = ", ".join(f"{index} by {amount:.4g}" for index, amount in broken)
    total = violation(constraints)
    return f"Constraints: {len(broken)} of {len(constraints)} violated, by {total:.4g} in all (constraint {each})."


def explained(item: Seen) -> str:
    """What the evaluation said about a solution: its feedback (a text, or a dict as one `key: value` line
    each) and the constraints it broke; "" when it said nothing."""
    lines = []
    if isinstance(item.feedback, str) and item.feedback.strip():
        lines.append(f"Feedback: {item.feedback.strip()}")
    elif isinstance(item.feedback, Mapping) and item.feedback:
        lines += ["Feedback:", *(f"- {key}: {_entry(entry)}" for key, entry in item.feedback.items())]
    if item.constraints:
        lines.append(violations(item.constraints))
    return "\n".join(lines)


def _entry(entry: Any) -> str:
    return entry if isinstance(entry, str) else f"{entry:.6g}"


def shown(problem: Describable, item: Seen, decimals: int | None, said: str = "") -> str:
    """One solution as the prompt shows it: its text, its value (with several objectives, a line per value,
    labelled by `problem.labels()`), and what its evaluation said (`said`)."""
    lines = [f"{problem.solution_label}: {item.text}"]
    if item.values is not None and directions_of(problem) is not None:
        labels = problem.labels()
        lines += [f"{label}: {format_score(value, decimals)}" for label, value in zip(labels, item.values)]
    else:
        lines.append(f"{problem.value_label}: {format_score(item.value, decimals)}")
    return "\n".join([*lines, *([said] if said else [])])


def _wording(problem: Describable) -> tuple[str, str, str]:
    """(what the values are called, which are better, the request): for one objective or several."""
    label, value = problem.solution_label, problem.value_label
    directions = directions_of(problem)
    if directions is None:
        goal = "lower" if problem.direction == "min" else "higher"
        return value, f"a {goal} {value} is better", f"write an improved {label}"
    names = problem.labels()
    ask = f"write a {label} that is better in at least one objective and that none listed here dominates"
    return "values", goals_text(names, directions), ask


def render(
    problem: Describable,
    parent: Seen | None,
    relatives: Sequence[Seen] = (),
    feedback: bool = True,
    decimals: int | None = 2,
    budget: int = FEEDBACK_BUDGET,
) -> str:
    """The reflection prompt (pure): the problem, the parent with its value and, with `feedback`, what its
    evaluation said (cut to `budget` characters), the relatives with their values (and violations), and the
    request for an improved solution in the problem's format. Without a parent: the problem and the format."""
    parts = [problem.describe().strip()]
    if parent is not None:
        label, (value, goal, ask) = problem.solution_label, _wording(problem)
        said = cut(explained(parent), budget) if feedback else ""
        what = " and what its evaluation said about it" if said else ""
        parts.append(f"The {label} to improve, with its {value} ({goal}){what}:")
        parts.append(shown(problem, parent, decimals, said))
        if relatives:
            others = "Its neighbours on the Pareto front" if value == "values" else f"Other good {label}s"
            parts.append(f"{others}, with their {value}:")
            marks = [violations(r.constraints) if feedback and r.constraints else "" for r in relatives]
            parts.append("\n\n".join(shown(problem, r, decimals, mark) for r, mark in zip(relatives, marks)))
        why = "its value and what its evaluation said" if said else "its value and the other solutions"
        if value == "values":
            why = why.replace("its value", "its values")
        parts.append(
            f"Think about what holds the {label} to improve back, from {why}, and {ask}, different from each "
            "listed here."
        )
    parts.append(problem.format_hint().strip())
    return "\n\n".join(parts) + "\n"


@dataclass
class Reflect(ModelProposer):
    """Each step: pick a parent, show it with what its evaluation said and a few relatives, ask for better."""

    feedback: bool = True  # False: `reflect-no-feedback`, the prompt without feedback and violations

    def __post_init__(self) -> None:
        super().__post_init__()
        self.pool, self.relatives = (self.config.option(setting) for setting in SETTINGS)
        self.directions = directions_of(self.problem)
        self.used: set[str] = set()  # with several objectives, the parents reflected on so far

    def observe(self, trials: list[Trial]) -> None:
        """Remember the parents reflected on (live, and again when a journal is replayed)."""
        self.used |= {trial.parent for trial in trials if trial.parent is not None}

    def prompt(self, study: Study) -> tuple[str, Seen | None]:
        """This step's prompt and the parent it shows (None before anything was evaluated)."""
        if self.directions is not None:
            return self._front_prompt(study)
        seen, direction = study.seen(), self.problem.direction
        parent = pick_parent(seen, direction, self.pool, study.rng) if seen else None
        family = relatives_of(parent, seen, direction, self.relatives) if parent is not None else []
        decimals = self.config.metaprompt.decimals
        budget = self.config.metaprompt.feedback_chars
        return render(self.problem, parent, family, self.feedback, decimals, budget), parent

    def _front_prompt(self, study: Study) -> tuple[str, Seen | None]:
        """With several objectives: the parent picked by crowding distance on the front, its neighbours on it."""
        seen, directions = [item for item in study.seen() if item.values is not None], cast(tuple, self.directions)
        parent = front_parent(seen, directions, self.used, study.rng) if seen else None
        family = front_relatives(parent, seen, directions, self.relatives) if parent is not None else []
        decimals, budget = self.config.metaprompt.decimals, self.config.metaprompt.feedback_chars
        return render(self.problem, parent, family, self.feedback, decimals, budget), parent

    def propose(self, study: Study) -> Ask:
        """Up to `proposals` answers to one request, each with the parent it improves on."""
        prompt, parent = self.prompt(study)
        n, spent = int(min(self.config.proposals, study.answers_left, study.evals_left)), Spent()
        generation = self.request(prompt, n, study.step * n, spent)
        if generation is None:
            return Ask(study.step, prompt, [], error=spent.last_error, spent=spent)
        proposals = self.read_generation(generation)
        for proposal in proposals:
            proposal.parent = parent.text if parent is not None else None
        return Ask(study.step, prompt, proposals, spent=spent)


def methods(space: Any = None) -> dict[str, Method]:
    """`reflect` and its ablation `reflect-no-feedback`, for every problem; each runs when named."""
    reads = frozenset({"temperature", "proposals"})

    def maker(name: str, feedback: bool) -> Any:
        return lambda problem, setup, config: Reflect(problem, setup.backend, config, name=name, feedback=feedback)

    return {
        NAME: driven(NAME, maker(NAME, True), reads=reads, settings=SETTINGS, multiobjective=True),
        ABLATION: driven(
            ABLATION, maker(ABLATION, False), kind="ablation", reads=reads, settings=SETTINGS, multiobjective=True
        ),
    }


METHODS = Methods(methods, SETTINGS, rank=60)
