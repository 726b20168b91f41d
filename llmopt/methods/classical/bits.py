"""Black-box methods for bit vectors, each written once for every problem over subsets or yes/no choices."""

from __future__ import annotations

import math

import numpy as np

from llmopt.contract.spaces import Bits, Bitvector
from llmopt.methods.classical.base import Method, Methods, Objective, Setup, best_start, black_box, random_sampling

POPULATION = 20


def flip_bits(bits: Bitvector, rng: np.random.Generator) -> Bitvector:
    """Standard bit-flip mutation: each bit flips with probability 1/n, at least one bit always."""
    mask = rng.random(len(bits)) < 1.0 / len(bits)
    if not mask.any():
        mask[rng.integers(len(bits))] = True
    return tuple(b ^ int(m) for b, m in zip(bits, mask))


def one_plus_one(space: Bits, f: Objective, setup: Setup) -> None:
    """The (1+1) evolutionary algorithm: keep the child when it is at least as good as its parent
    (sequential: each child comes from the last parent)."""
    rng = setup.generator()
    parent = best_start(space, f, setup)
    while True:
        child = flip_bits(parent, rng)
        if f.loss(child) <= f.loss(parent):
            parent = child


def genetic_algorithm(space: Bits, f: Objective, setup: Setup) -> None:
    """Generational GA: binary tournaments, uniform crossover, bit-flip mutation, one elite."""
    rng = setup.generator()
    population = list(setup.starts) + space.sample(rng, max(0, POPULATION - len(setup.starts)))

    def pick() -> Bitvector:
        a, b = rng.choice(len(population), size=2, replace=False)
        return min(population[a], population[b], key=f.loss)

    while True:
        f.losses(population)  # the generation's new members, evaluated side by side in one round
        children = [min(population, key=f.loss)]
        while len(children) < len(population):
            mother, father = pick(), pick()
            mask = rng.random(space.n) < 0.5
            child = tuple(m if keep else d for m, d, keep in zip(mother, father, mask))
            children.append(flip_bits(child, rng))
        population = children


def simulated_annealing(space: Bits, f: Objective, setup: Setup) -> None:
    """Single bit flips accepted by the Metropolis rule; the temperature falls geometrically with the
    evaluations spent, from the spread of the start values to a hundredth of it (sequential)."""
    rng = setup.generator()
    current = best_start(space, f, setup)
    finite = [loss for loss in (f.loss(s) for s in (setup.starts or [current])) if math.isfinite(loss)]
    spread = float(np.std(finite)) if len(finite) > 1 else 0.0
    start_temperature = spread or 1.0
    while True:
        temperature = start_temperature * 0.01 ** (f.result.counts.evals / max(1, f.max_evals))
        i = int(rng.integers(space.n))
        candidate = current[:i] + (1 - current[i],) + current[i + 1 :]
        delta = f.loss(candidate) - f.loss(current)
        if delta <= 0 or (math.isfinite(delta) and rng.random() < math.exp(-delta / temperature)):
            current = candidate


def methods(space: Bits) -> dict[str, Method]:
    """Every black-box method for bit vectors."""
    searches = {
        "random-search": random_sampling,
        "one-plus-one-ea": one_plus_one,
        "genetic-algorithm": genetic_algorithm,
        "simulated-annealing": simulated_annealing,
    }
    # random sampling needs no ranking: it runs with several objectives too (the floor of their comparisons)
    return {name: black_box(name, search, multiobjective=name == "random-search") for name, search in searches.items()}


METHODS = Methods.of_space(Bits, methods, rank=21)
