"""Language-model crossover (LMX; Meyerson et al. 2023): a second way to optimize with a model.

A few parents, one per line in the space's text form, with no instruction and no scores; the model
continues the list, and its first new line is a child. A steady-state evolutionary loop supplies the
selection: parents are drawn from the population (the best `lmx_population` solutions so far, from
OPRO's start points), and a child better than the worst member replaces it. `lmx-no-model` is the
same loop with a classical variation operator of the space in place of the model (blend and mutate
for boxes, uniform crossover and bit flips for bit vectors, order crossover for orderings), so the
table says whether the model contributed anything.

With several objectives, parents are drawn from the feasible Pareto front of the study (the least dominated
others join when it is smaller than `lmx_parents`; a tournament prefers the larger crowding distance), and
`lmx` shows each after its values, "f1 = 0.2, f2 = 0.55: [0.2, 0]", so the model writes a child's values
before the child.

Both are proposers on the driver, so they take OPRO's steps, proposals and evaluation budget (at most
steps x proposals children; a repeat costs no evaluation) and are journaled step by step, each prompt
with its continuations, like OPRO.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

import numpy as np

from llmopt.contract.spaces import Bits, Box, Permutation
from llmopt.core import values
from llmopt.core.feasibility import rank_key
from llmopt.core.pareto import crowding_distance
from llmopt.core.result import Spent, Trial
from llmopt.core.settings import Setting
from llmopt.engine.proposer import Ask, Proposal, Seen, Study
from llmopt.methods.classical.bits import flip_bits
from llmopt.methods.classical.permutation import order_crossover, swap_or_reverse
from llmopt.methods.method import Method, Methods, driven
from llmopt.methods.model.fronts import directions_of, points_of, split_front, values_text
from llmopt.methods.model.metaprompt import format_score
from llmopt.methods.model.proposer import ModelProposer

Member = tuple[tuple[int, float], Any]  # (Deb's rank: feasible by loss, then infeasible by violation; solution)
Vary = Callable[[list[Any], int, int], list[Any]]  # (parents, children wanted, step) -> children
_GROUP = "language-model crossover (lmx, lmx-no-model)"
PARENTS = Setting("lmx_parents", values.positive_int, 4, "parents in each few-shot list", group=_GROUP, sweep=True)
POPULATION = Setting(
    "lmx_population", values.positive_int, 8, "the best solutions parents are drawn from", group=_GROUP, sweep=True
)
SELECTION = Setting(
    "lmx_selection",
    values.selection,
    "uniform",
    "how parents are drawn",
    group=_GROUP,
    sweep=True,
    choices=("uniform", "tournament"),
)
SETTINGS = (PARENTS, POPULATION, SELECTION)


def few_shot(problem: Any, parents: list[Any]) -> str:
    """The parents one per line, and an open line for the model to continue."""
    return "".join(problem.encode(p) + "\n" for p in parents)


def few_shot_with_values(problem: Any, parents: Sequence[Seen], decimals: int | None) -> str:
    """With several objectives: each parent on its line after its values ("f1 = 0.2, f2 = 0.55: [0.2, 0]"),
    and an open line; the model writes a child's values, then the child (`Continuation.answer_text`)."""
    labels, show = problem.labels(), lambda value: format_score(value, decimals)
    return "".join(f"{values_text(labels, p.values or (), show)}: {p.text}\n" for p in parents)


def front_pool(seen: Sequence[Seen], directions: Sequence[str], k: int) -> list[tuple[tuple[int, float], Seen]]:
    """With several objectives, the members parents are drawn from: the feasible front, each keyed by its
    crowding distance (larger first, for a tournament); when it has fewer than `k`, the least dominated others
    after it (`fronts.split_front`), in that order."""
    front, rest = split_front(seen, directions)
    distance = crowding_distance(points_of(front))
    pool = [((0, -float(d)), item) for d, item in zip(distance, front)]
    return pool + [((1 + i, 0.0), item) for i, item in enumerate(rest[: max(k - len(front), 0)])]


def select(population: list[Member], k: int, how: str, rng: np.random.Generator) -> list[Any]:
    """k parents: at random from the population ("uniform"), or each the better of two ("tournament");
    in random order, as the list's order is a signal the model reads."""
    if how == "tournament":
        picks = [min(population[i] for i in rng.choice(len(population), size=2)) for _ in range(k)]
        return [solution for _, solution in picks]
    chosen = rng.choice(len(population), size=min(k, len(population)), replace=False)
    return [population[i][1] for i in chosen]


@dataclass
class Population:
    """LMX's steady-state population: the best `size` distinct solutions seen, best first by Deb's rules (any
    feasible solution before any infeasible one)."""

    size: int
    direction: str
    members: list[Member] = field(default_factory=list)
    known: dict[str, tuple[int, float]] = field(default_factory=dict)  # text -> rank, for a repeat's

    def take(self, trials: list[Trial]) -> None:
        """Each scored (or repeated) child joins while there is room, else replaces the worst if better."""
        for trial in trials:
            if trial.value is not None and trial.text is not None:
                self.known.setdefault(trial.text, rank_key(trial.value, trial.constraints, self.direction))
            loss = self.known.get(trial.text) if trial.text is not None else None
            if loss is None or any(trial.solution == member for _, member in self.members):
                continue
            if len(self.members) < self.size or not self.members:
                self.members.append((loss, trial.solution))
            elif loss < self.members[-1][0]:
                self.members[-1] = (loss, trial.solution)
            self.members.sort(key=lambda member: member[0])


class Evolve(ModelProposer):
    """The loop `lmx` and `lmx-no-model` share: select parents, vary them, keep the better children."""

    def __post_init__(self) -> None:  # no model check here: `lmx-no-model` has none
        self.k, self.size, self.how = (self.config.option(s) for s in SETTINGS)  # SETTINGS' order
        self.population = Population(self.size, self.problem.direction)
        self.directions = directions_of(self.problem)  # several objectives: parents come from the front
        self.solutions: dict[str, Any] = {}  # text -> solution, for the classical operator's parents

    def observe(self, trials: list[Trial]) -> None:
        """Step 0's points start the population (all of them); later children compete for a place. With
        several objectives, the parents come from the study's front (`front_parents`) instead."""
        if self.directions is not None:
            self.solutions |= {t.text: t.solution for t in trials if t.text is not None and t.scored}
            return
        if trials and trials[0].step == 0:
            self.population.size = max(self.size, len(trials))
            self.population.take(trials)
            self.population.size = self.size
            return
        self.population.take(trials)

    def parents(self, study: Study) -> list[Any]:
        """This step's parents, drawn from the population (with several objectives, from the front)."""
        if self.directions is not None:
            chosen = self.front_parents(study)
            return [self.solutions[p.text] if p.text in self.solutions else self.problem.decode(p.text) for p in chosen]
        return select(self.population.members, self.k, self.how, study.rng)

    def front_parents(self, study: Study) -> list[Seen]:
        """With several objectives: this step's parents, drawn from the front (`front_pool`) as `lmx_selection`
        says (a tournament prefers the larger crowding distance)."""
        return select(front_pool(study.seen(), cast(tuple, self.directions), self.k), self.k, self.how, study.rng)


class Continuation(Evolve):
    """LMX: the optimizer model continues the parents' list; each answer's first line is a child."""

    def __post_init__(self) -> None:
        ModelProposer.__post_init__(self)
        super().__post_init__()

    def propose(self, study: Study) -> Ask:
        """Up to `proposals` children from one raw-completion request."""
        if self.directions is None:
            prompt = few_shot(self.problem, self.parents(study))
        else:
            prompt = few_shot_with_values(self.problem, self.front_parents(study), self.config.metaprompt.decimals)
        n, spent = int(min(self.config.proposals, study.answers_left, study.evals_left)), Spent()
        generation = self.request(prompt, n, study.step * n, spent, raw=True)
        if generation is None:
            return Ask(study.step, prompt, [], error=spent.last_error, spent=spent)
        return Ask(study.step, prompt, self.read_generation(generation), spent=spent)

    def answer_text(self, raw: str) -> str:
        """The continuation's first non-blank line (with several objectives, after the values it starts with)."""
        line = next((part for part in raw.splitlines() if part.strip()), "")
        if self.directions is not None and line.lstrip().startswith(f"{self.problem.labels()[0]} =") and ": " in line:
            return line.split(": ", 1)[1]
        return line

    def reread(self, item: dict[str, Any]) -> Proposal:
        """A journaled continuation, its first line decoded again."""
        return self.read(
            item["raw"], item.get("reasoning", ""), item.get("cut_off_at"), text=self.answer_text(item["raw"])
        )


class Classical(Evolve):
    """`lmx-no-model`: the same loop, with the space's classical variation operator in place of the model."""

    def __post_init__(self) -> None:
        super().__post_init__()
        self.operator = next(make for cls, make in CLASSICAL.items() if isinstance(self.problem.space, cls))

    def propose(self, study: Study) -> Ask:
        """`proposals` children of this step's parents, with no model request."""
        # a generator apart from selection's, drawn anew each step so that a resumed run draws as this one
        vary = self.operator(self.problem.space, np.random.default_rng((self.config.seed, 1, study.step)))
        children = vary(self.parents(study), self.config.proposals, study.step)
        return Ask(study.step, None, [Proposal(self.problem.encode(c), solution=c) for c in children])


def _box_children(space: Box, rng: np.random.Generator) -> Vary:
    """BLX-0.5 blend of two parents, then Gaussian mutation of a tenth of each side."""

    def vary(parents: list[Any], n: int, step: int) -> list[Any]:
        out = []
        for _ in range(n):
            a, b = (np.asarray(parents[i % len(parents)], dtype=float) for i in rng.choice(len(parents), size=2))
            low, high = np.minimum(a, b), np.maximum(a, b)
            spread = high - low
            child = rng.uniform(low - 0.5 * spread, high + 0.5 * spread)
            child += rng.normal(0.0, 0.1 * (space.highs - space.lows))
            out.append(space.snap(child))
        return out

    return vary


def _bits_children(space: Bits, rng: np.random.Generator) -> Vary:
    def vary(parents: list[Any], n: int, step: int) -> list[Any]:
        out = []
        for _ in range(n):
            a, b = (parents[i] for i in rng.choice(len(parents), size=2))
            mask = rng.random(space.n) < 0.5
            out.append(flip_bits(tuple(x if keep else y for x, y, keep in zip(a, b, mask)), rng))
        return out

    return vary


def _permutation_children(space: Permutation, rng: np.random.Generator) -> Vary:
    head = () if space.start is None else (space.start,)

    def vary(parents: list[Any], n: int, step: int) -> list[Any]:
        out = []
        for _ in range(n):
            a, b = (list(parents[i][len(head) :]) for i in rng.choice(len(parents), size=2))
            child = order_crossover(a, b, rng)
            if len(child) >= 2:
                child = swap_or_reverse(child, rng)
            out.append(head + tuple(child))
        return out

    return vary


CLASSICAL: dict[type, Callable[[Any, np.random.Generator], Vary]] = {
    Box: _box_children,
    Bits: _bits_children,
    Permutation: _permutation_children,
}


def methods(space: Any) -> dict[str, Method]:
    """`lmx` for every space; `lmx-no-model` where the space has a classical operator (not free text)."""
    if space is None:
        return {}
    found = {
        "lmx": driven(
            "lmx",
            lambda problem, setup, config: Continuation(problem, setup.backend, config, name="lmx"),
            reads=frozenset({"temperature", "proposals"}),
            settings=SETTINGS,
            multiobjective=True,
        )
    }
    if any(isinstance(space, cls) for cls in CLASSICAL):
        found["lmx-no-model"] = driven(
            "lmx-no-model",
            lambda problem, setup, config: Classical(problem, None, config, name="lmx-no-model"),
            kind="ablation",
            samples_model=False,
            settings=SETTINGS,
            multiobjective=True,
        )
    return found


METHODS = Methods(methods, SETTINGS, rank=50)
