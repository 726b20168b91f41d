"""EvoPrompt (Guo et al. 2023) for the text space: a genetic algorithm and differential evolution
whose variation operators are the optimizer model, at the same evaluation budget as OPRO.

Each child is one model answer, decoded by the space as OPRO's proposals are; an answer that does not
decode is counted as invalid and costs no evaluation, and a failed request is counted and skipped.
Both draw at most as many answers as OPRO may (steps × proposals, or fewer with `max_llm_calls`), and
a generation whose answers bring no new text (all invalid or already seen) ends the search as stalled.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import numpy as np

from llmopt.answers import read_completion
from llmopt.comparators.base import BudgetSpent, Method, ModelCallsSpent, Objective, Setup, Stalled, black_box
from llmopt.opro import OPROConfig
from llmopt.errors import BackendError, UsageError
from llmopt.result import Trial
from llmopt.spaces import Text

POPULATION = 10

CROSSOVER = """Here are two {label}s.
First: <{tag}>{a}</{tag}>
Second: <{tag}>{b}</{tag}>
Write one new {label} that joins ideas from the first and the second. Then change a few of its words so \
that it reads a little differently. Give only the new {label}, between <{tag}> and </{tag}>."""

DIFFERENTIAL = """Here are four {label}s.
A: <{tag}>{a}</{tag}>
B: <{tag}>{b}</{tag}>
Best: <{tag}>{best}</{tag}>
Base: <{tag}>{base}</{tag}>
Find the words in which A and B differ, and replace those words with other words at random. Put the \
replaced words into Best to make a new {label}. Then mix that {label} with Base. Give only the final \
{label}, between <{tag}> and </{tag}>."""

Member = tuple[float, str]  # (loss, text): the loss is the value, negated when the problem maximises


class ModelOperator:
    """The optimizer model as a variation operator: one seeded answer per request, decoded strictly."""

    def __init__(self, space: Text, f: Objective, setup: Setup) -> None:
        if setup.backend is None:
            raise UsageError("EvoPrompt samples from the optimizer model; give the comparison a backend")
        self.space, self.f, self.backend = space, f, setup.backend
        self.config = setup.opro or OPROConfig(seed=setup.seed)
        self.seed = setup.seed
        self.limit = min(self.config.steps * self.config.proposals, self.config.max_llm_calls or math.inf)
        self.requests = self.answered = 0

    def propose(self, template: str, **texts: str) -> str | None:
        """The decoded text of one answer to `template`, or None (the rejection is recorded)."""
        if self.f.spent:  # no request whose answer could not be scored
            raise BudgetSpent
        if self.requests >= self.limit:
            raise ModelCallsSpent
        self.requests += 1
        request = template.format(label=self.space.label, tag=self.space.tag, **texts)
        counts = self.f.result.counts
        try:
            generation = self.backend.generate(
                request, n=1, temperature=self.config.temperature, max_tokens=self.config.answer_tokens,
                seed=self.seed * 1_000_003 + self.requests,
                grammar=self.space.grammar() if self.config.use_grammar else None)
        except BackendError:
            counts.failed_requests += 1
            return None
        if not generation.completions:
            counts.failed_requests += 1
            return None
        self.answered += 1
        counts.add_generation(generation)
        counts.proposals += 1
        answer = generation.completions[0]
        text, reason = read_completion(self.space.decode, answer, generation.max_tokens or self.config.answer_tokens)
        if reason is not None:
            self.f.result.add(Trial(None, "invalid", raw=answer.text, reason=reason, reasoning=answer.reasoning or None))
        return text

    def generation(self) -> Generation:
        """A marker of where a generation starts, to tell afterwards whether it brought anything new."""
        return Generation(self.f.distinct, self.answered)

    def stop_if_nothing_new(self, start: Generation) -> None:
        """Stalled: answers came back since `start`, and none of them was a text not seen before."""
        if self.answered > start.answered and self.f.distinct == start.distinct:
            raise Stalled


class Generation(NamedTuple):
    """Counts at the start of a generation."""

    distinct: int
    answered: int


def initial_population(space: Text, f: Objective, setup: Setup, rng: np.random.Generator) -> list[Member]:
    """The shared start points, then texts of the space's pool, up to POPULATION, each evaluated."""
    texts = list(dict.fromkeys(setup.starts))
    if space.pool:
        texts += [t for t in space.sample(rng, len(space.pool)) if t not in texts]
    return [(f.loss(text), text) for text in texts[:POPULATION]]


def roulette(population: list[Member], rng: np.random.Generator) -> tuple[str, str]:
    """Two different parents, each drawn with a chance proportional to its fitness: how much better than the
    worst member it is, plus a share of the spread so that the worst keeps a chance (EvoPrompt draws in
    proportion to the raw score, which needs scores that are positive and higher-is-better)."""
    losses = np.array([loss for loss, _ in population], dtype=float)
    finite = np.isfinite(losses)
    worst = losses[finite].max() if finite.any() else 0.0
    spread = worst - losses[finite].min() if finite.any() else 0.0
    weights = np.where(finite, worst - losses + (spread / len(losses) or 1.0), 0.0)
    if np.count_nonzero(weights) < 2:
        weights = np.ones(len(population))
    first, second = rng.choice(len(population), size=2, replace=False, p=weights / weights.sum())
    return population[first][1], population[second][1]


def genetic_algorithm(space: Text, f: Objective, setup: Setup) -> None:
    """EvoPrompt-GA: per generation, one child per member from two roulette-chosen parents; the best of
    parents and children survive."""
    model, rng = ModelOperator(space, f, setup), setup.rng()
    population = _at_least(initial_population(space, f, setup, rng), 2)
    while True:
        start, children = model.generation(), []
        for _ in population:
            a, b = roulette(population, rng)
            child = model.propose(CROSSOVER, a=a, b=b)
            if child is not None:
                children.append((f.loss(child), child))
        model.stop_if_nothing_new(start)
        merged = {text: loss for loss, text in population + children}
        population = sorted(((loss, text) for text, loss in merged.items()))[:len(population)]


def differential_evolution(space: Text, f: Objective, setup: Setup) -> None:
    """EvoPrompt-DE: each member in turn is the base of a child built from the differing words of two
    others and the best member; the child replaces the base when it scores better."""
    model, rng = ModelOperator(space, f, setup), setup.rng()
    population = _at_least(initial_population(space, f, setup, rng), 3)
    while True:
        start = model.generation()
        for i, (base_loss, base) in enumerate(list(population)):
            others = [j for j in range(len(population)) if j != i]
            r1, r2 = rng.choice(others, size=2, replace=False)
            best = min(population)[1]
            child = model.propose(DIFFERENTIAL, a=population[r1][1], b=population[r2][1], best=best, base=base)
            if child is not None and (loss := f.loss(child)) < population[i][0]:
                population[i] = (loss, child)
        model.stop_if_nothing_new(start)


def _at_least(population: list[Member], size: int) -> list[Member]:
    if len(population) < size:
        raise UsageError(f"EvoPrompt needs at least {size} different starting texts; the space gives "
                         f"{len(population)}")
    return population


def methods(space: Any) -> dict[str, Method]:
    """EvoPrompt's two searches, as black-box methods that sample the optimizer model."""
    reads = frozenset({"temperature"})  # no meta-prompt, and one answer per request
    return {"evoprompt-ga": black_box("evoprompt-ga", genetic_algorithm, uses_model=True, reads=reads),
            "evoprompt-de": black_box("evoprompt-de", differential_evolution, uses_model=True, reads=reads)}
