"""Black-box methods for permutations, each written once: every ordering they try costs one evaluation."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from llmopt.contract.spaces import Permutation, Tour
from llmopt.methods.classical.base import Method, Methods, Objective, Setup, best_start, black_box, random_sampling

POPULATION = 20
MUTATION_RATE = 0.3


def _free(space: Permutation) -> int:
    """Index of the first position a move may change (the fixed start stays put)."""
    return 0 if space.start is None else 1


def _neighbours(space: Permutation, tour: Tour, rng: np.random.Generator) -> Iterator[Tour]:
    """2-opt reversals and Or-opt moves of segments of 1 to 3 items, in random order."""
    lo, n = _free(space), space.n
    moves = [("reverse", i, j, 0) for i in range(lo, n - 1) for j in range(i + 1, n)]
    moves += [
        ("move", i, length, k)
        for length in (1, 2, 3)
        for i in range(lo, n - length + 1)
        for k in range(lo, n - length + 1)
        if k != i
    ]
    for index in rng.permutation(len(moves)):
        kind, i, j, k = moves[index]
        if kind == "reverse":
            yield tour[:i] + tour[i : j + 1][::-1] + tour[j + 1 :]
        else:
            segment, rest = tour[i : i + j], tour[:i] + tour[i + j :]
            yield rest[:k] + segment + rest[k:]


def _double_bridge(space: Permutation, tour: Tour, rng: np.random.Generator) -> Tour:
    """Cut the free part into four pieces and swap the middle two (a kick out of a local optimum)."""
    lo = _free(space)
    if space.n - lo < 4:
        return space.sample(rng, 1)[0]
    a, b, c = sorted(rng.choice(np.arange(lo + 1, space.n), size=3, replace=False))
    return tour[:a] + tour[b:c] + tour[a:b] + tour[c:]


def local_search(space: Permutation, f: Objective, setup: Setup) -> None:
    """First-improvement 2-opt + Or-opt from the best start, kicked by a double bridge at each local optimum
    (sequential: the first improving move is taken)."""
    rng = setup.generator()
    best = current = best_start(space, f, setup)
    while True:
        improved = next((t for t in _neighbours(space, current, rng) if f.loss(t) < f.loss(current)), None)
        if improved is not None:
            current = improved
            best = min(best, current, key=f.loss)
            continue
        current = _double_bridge(space, best, rng)


def order_crossover(a: list[int], b: list[int], rng: np.random.Generator) -> list[int]:
    """OX: keep a random slice of parent a, fill the rest in parent b's order."""
    i, j = sorted(rng.choice(len(a) + 1, size=2, replace=False))
    kept = set(a[i:j])
    filler = [c for c in b if c not in kept]
    return filler[:i] + a[i:j] + filler[i:]


def swap_or_reverse(order: list[int], rng: np.random.Generator) -> list[int]:
    """A swap of two items or the reversal of a slice, half the time each."""
    i, j = sorted(rng.choice(len(order), size=2, replace=False))
    if rng.random() < 0.5:
        order[i], order[j] = order[j], order[i]
        return order
    return order[:i] + order[i : j + 1][::-1] + order[j + 1 :]


def genetic_algorithm(space: Permutation, f: Objective, setup: Setup) -> None:
    """Generational GA: binary tournaments, order crossover, swap or inversion mutation, one elite."""
    rng = setup.generator()
    head = tuple([] if space.start is None else [space.start])
    population = list(setup.starts) + space.sample(rng, max(0, POPULATION - len(setup.starts)))

    def pick() -> list[int]:
        a, b = rng.choice(len(population), size=2, replace=False)
        return list(min(population[a], population[b], key=f.loss)[len(head) :])

    while True:
        f.losses(population)  # the generation's new members, evaluated side by side in one round
        children = [min(population, key=f.loss)]
        while len(children) < len(population):
            child = order_crossover(pick(), pick(), rng)
            if rng.random() < MUTATION_RATE and len(child) >= 2:
                child = swap_or_reverse(child, rng)
            children.append(head + tuple(child))
        population = children


def methods(space: Permutation) -> dict[str, Method]:
    """Every black-box method for permutations."""
    searches = {
        "random-orderings": random_sampling,
        "local-search": local_search,
        "genetic-algorithm": genetic_algorithm,
    }
    # random sampling needs no ranking: it runs with several objectives too (the floor of their comparisons)
    return {
        name: black_box(name, search, multiobjective=name == "random-orderings") for name, search in searches.items()
    }


METHODS = Methods.of_space(Permutation, methods, rank=22)
