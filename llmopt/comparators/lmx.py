"""Language-model crossover (LMX; Meyerson et al. 2023): a second way to optimize with a model.

A few parents, one per line in the space's text form, with no instruction and no scores; the model
continues the list, and its first new line is a child. A steady-state evolutionary loop supplies the
selection: parents are drawn from the population (the best `lmx_population` solutions so far, from
OPRO's start points), and a child better than the worst member replaces it. `lmx-no-model` is the
same loop with a classical variation operator of the space in place of the model (blend and mutate
for boxes, uniform crossover and bit flips for bit vectors, order crossover for orderings), so the
table says whether the model contributed anything.

Both take OPRO's steps and proposals: at most steps x proposals children (model answers), and the
same evaluation budget; a repeat costs no evaluation.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from llmopt.answers import read_completion
from llmopt.comparators.base import Method, ModelCallsSpent, Objective, Setup, black_box
from llmopt.comparators.bits import flip_bits
from llmopt.comparators.permutation import swap_or_reverse, order_crossover
from llmopt.errors import BackendError, UsageError
from llmopt.opro import OPROConfig
from llmopt.result import Trial
from llmopt.spaces import Bits, Box, Permutation

Member = tuple[float, Any]  # (loss, solution)
Vary = Callable[[list[Any], int, int], list[Any]]  # (parents, children wanted, step) -> children
# The OPRO settings LMX reads, so a sweep of any other leaves it alone.
READS = frozenset({"temperature", "proposals", "lmx-parents", "lmx-population", "lmx-selection"})


def few_shot(f: Objective, parents: list[Any]) -> str:
    """The parents one per line, and an open line for the model to continue."""
    return "".join(f.problem.encode(p) + "\n" for p in parents)


def select(population: list[Member], k: int, how: str, rng: np.random.Generator) -> list[Any]:
    """k parents: at random from the population ("uniform"), or each the better of two ("tournament");
    in random order, as the list's order is a signal the model reads."""
    if how == "tournament":
        picks = [min(population[i] for i in rng.choice(len(population), size=2)) for _ in range(k)]
        return [solution for _, solution in picks]
    chosen = rng.choice(len(population), size=min(k, len(population)), replace=False)
    return [population[i][1] for i in chosen]


def evolve(f: Objective, setup: Setup, vary: Vary) -> str:
    """The steady-state loop shared by `lmx` and `lmx-no-model`."""
    config = setup.opro or OPROConfig()
    rng = setup.rng()
    population = sorted((f.loss(s), s) for s in dict.fromkeys(setup.starts))
    if not population:
        raise UsageError("LMX starts from the shared start points; the comparison gave none")
    for step in range(1, config.steps + 1):
        parents = select(population, config.lmx_parents, config.lmx_selection, rng)
        for child in vary(parents, config.proposals, step):
            loss = f.loss(child)
            if any(child == member for _, member in population):
                continue
            if len(population) < config.lmx_population:
                population.append((loss, child))
            elif loss < population[-1][0]:
                population[-1] = (loss, child)
            population.sort(key=lambda member: member[0])
    return "max_steps"


class Continuation:
    """The optimizer model as LMX's operator: it continues the few-shot list, each answer's first line a child."""

    def __init__(self, f: Objective, setup: Setup) -> None:
        if setup.backend is None:
            raise UsageError("lmx samples from the optimizer model; give the comparison a backend")
        self.f, self.backend, self.config = f, setup.backend, setup.opro or OPROConfig()
        self.seed = setup.seed

    def __call__(self, parents: list[Any], n: int, step: int) -> list[Any]:
        """Up to n children from one request; failed requests and invalid lines are counted, not returned."""
        config, counts, problem = self.config, self.f.result.counts, self.f.problem
        if config.max_llm_calls is not None:
            n = min(n, config.max_llm_calls - counts.llm_calls)
            if n <= 0:
                raise ModelCallsSpent
        try:
            generation = self.backend.complete(
                few_shot(self.f, parents), n=n, temperature=config.temperature, max_tokens=config.answer_tokens,
                seed=self.seed * 1_000_003 + step * n, grammar=problem.grammar() if config.use_grammar else None)
        except BackendError:
            counts.failed_requests += 1
            return []
        counts.add_generation(generation)
        children = []
        for answer in generation.completions:
            counts.proposals += 1
            line = next((part for part in answer.text.splitlines() if part.strip()), "")
            child, reason = read_completion(problem.decode, answer, generation.max_tokens or config.answer_tokens, line)
            if reason is None:
                children.append(child)
            else:
                self.f.result.add(Trial(None, "invalid", raw=answer.text, reason=reason,
                                        reasoning=answer.reasoning or None))
        return children


def lmx(space: Any, f: Objective, setup: Setup) -> str:
    """LMX with the optimizer model continuing the parents' list."""
    return evolve(f, setup, Continuation(f, setup))


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
            a, b = (list(parents[i][len(head):]) for i in rng.choice(len(parents), size=2))
            child = order_crossover(a, b, rng)
            if len(child) >= 2:
                child = swap_or_reverse(child, rng)
            out.append(head + tuple(child))
        return out

    return vary


CLASSICAL: dict[type, Callable[[Any, np.random.Generator], Vary]] = {
    Box: _box_children, Bits: _bits_children, Permutation: _permutation_children}


def lmx_no_model(space: Any, f: Objective, setup: Setup) -> str:
    """The LMX loop with the space's classical variation operator instead of the model."""
    operator = next(make for cls, make in CLASSICAL.items() if isinstance(space, cls))
    rng = np.random.default_rng((setup.seed, 1))  # apart from selection's stream
    return evolve(f, setup, operator(space, rng))


def methods(space: Any) -> dict[str, Method]:
    """`lmx` for every space; `lmx-no-model` where the space has a classical operator (not free text)."""
    found = {"lmx": black_box("lmx", lmx, uses_model=True, reads=READS, default=False)}
    if any(isinstance(space, cls) for cls in CLASSICAL):
        found["lmx-no-model"] = black_box("lmx-no-model", lmx_no_model, default=False)
    return found
