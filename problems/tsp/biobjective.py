"""The bi-objective travelling salesman: one tour, two distance matrices over the same cities, both lengths
minimised. Random instances put the cities at two independent uniform random positions (the "random uniform
Euclidean" instances of Lust and Teghem); or two TSPLIB files of the same size are combined, as the
multi-objective TSP literature combines kroA100 with kroB100."""

from __future__ import annotations

import itertools
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from llmopt.contract.evaluation import Evaluation
from llmopt.contract.problem import Option, Problem, digest
from llmopt.core.pareto import hypervolume, nondominated
from llmopt.problems.tsp.instance import Instance, random_instance
from llmopt.problems.tsp.problem import FEEDBACK_MAX_CITIES, TSP, Tour
from llmopt.problems.tsp.tsplib import read_tsplib

# Up to this many cities the true front is found by scoring every tour from city 0: (n - 1)! / 2 of them, 20,160.
ENUMERATE_MAX_CITIES = 9


class BiTSP(Problem):
    """Find closed tours through every city, from city 0, short in both distance matrices: their Pareto front.
    Measured against the reference point derived from random tours (`derive_reference`: the worst lengths of
    16 random tours plus 10 % of their range), the same for every method on one instance."""

    gives_feedback = True  # every evaluation names the 2-opt moves that shorten each length

    name = "tsp2"
    summary = "two objectives: a tour short in two distance matrices (random instances, or two TSPLIB files)"
    solution_label = "trace"
    value_label = "lengths"
    options = (
        Option("--cities", int, 10, "number of random cities"),
        Option("--instance-seed", int, 0, "seed of the random instance"),
        Option("--instances", str, None, "two TSPLIB .tsp files of the same size, FIRST,SECOND (e.g. kroA and kroB)"),
    )

    def __init__(self, first: Instance, second: Instance) -> None:
        if first.n != second.n:
            raise ValueError(f"the two instances must have the same cities: {first.n} and {second.n}")
        self.maps = (TSP(first), TSP(second))
        self.n, self.space = first.n, self.maps[0].space
        self.directions, self.objective_labels = ("min", "min"), ("length1", "length2")

    @classmethod
    def from_options(cls, cities: int = 10, instance_seed: int = 0, instances: str | None = None) -> BiTSP:
        """Two random city sets, or the two TSPLIB files of --instances."""
        if instances is None:
            return cls(*random_pair(cities, instance_seed))
        paths = [part.strip() for part in instances.split(",")]
        if len(paths) != 2 or not all(paths):
            raise ValueError(f"--instances needs two TSPLIB files, FIRST,SECOND; got {instances!r}")
        return cls(read_tsplib(Path(paths[0])), read_tsplib(Path(paths[1])))

    def config(self) -> dict[str, Any]:
        """What defines this instance."""
        first, second = (tsp.instance for tsp in self.maps)
        return {"instances": [first.name, second.name], "cities": self.n, "edge_weight_type": first.edge_weight_type}

    def fingerprint(self) -> str:
        """The config plus both distance matrices."""
        return super().fingerprint() + digest(*(tsp.instance.dist.tobytes() for tsp in self.maps))

    def describe(self) -> str:
        """The cities on each map (coordinates or distances), and the two goals."""
        first, second = (tsp.describe() for tsp in self.maps)
        return (
            f"Each city lies on two maps; a tour has a length on each. Map 1: {first}\nMap 2: {second}\n"
            "The objectives conflict: minimize length1, the tour's length on map 1, and minimize length2, its "
            "length on map 2."
        )

    def format_hint(self) -> str:
        """Trace tags, start at 0, each city once."""
        return (
            "Give a new trace that differs from every trace above and is dominated by none of them. "
            f"It starts at city 0 and visits each city from 0 to {self.n - 1} exactly once. "
            "Write the city numbers separated by commas between <trace> and </trace>, "
            "for example <trace>0,2,1,3</trace>."
        )

    def lengths(self, solution: Tour) -> tuple[float, float]:
        """The closed tour's length on each map."""
        first, second = (tsp.length(solution) for tsp in self.maps)
        return first, second

    def evaluate(self, solution: Tour) -> Evaluation:
        """Both lengths, and each map's 2-opt feedback (the TSP's)."""
        feedback = None
        if self.n <= FEEDBACK_MAX_CITIES:
            first, second = (tsp.feedback(solution) for tsp in self.maps)
            feedback = f"On map 1: {first} On map 2: {second}"
        return Evaluation(values=self.lengths(solution), feedback=feedback)

    @cached_property
    def _front(self) -> np.ndarray | None:
        if self.n > ENUMERATE_MAX_CITIES:
            return None
        return enumerated_front([tsp.instance.dist for tsp in self.maps])

    def true_front(self) -> np.ndarray | None:
        """The exact front, by scoring every tour, up to `ENUMERATE_MAX_CITIES` cities."""
        return self._front

    def optimum(self) -> float | None:
        """The exact front's hypervolume, up to `ENUMERATE_MAX_CITIES` cities."""
        front = self.true_front()
        return None if front is None else hypervolume(front, self.reference_point() or (), ("min", "min"))


def random_pair(n: int, seed: int) -> tuple[Instance, Instance]:
    """Two independent random city sets of n cities (the TSP's random instances, seeds 2 seed and 2 seed + 1)."""
    return random_instance(n, 2 * seed), random_instance(n, 2 * seed + 1)


def enumerated_front(matrices: list[np.ndarray]) -> np.ndarray:
    """The Pareto front of every closed tour from city 0 (n of 3 or more), by scoring them all, sorted by the
    first length."""
    n = len(matrices[0])
    rest = np.array(list(itertools.permutations(range(1, n))), dtype=np.intp).reshape(-1, n - 1)
    rest = rest[rest[:, 0] < rest[:, -1]]  # each tour in one direction: its reverse sums to the same lengths
    tours = np.column_stack([np.zeros(len(rest), dtype=np.intp), rest])
    following = np.roll(tours, -1, axis=1)
    lengths = np.column_stack([dist[tours, following].sum(axis=1) for dist in matrices])
    front = lengths[nondominated(lengths, ("min",) * len(matrices))]
    return front[np.argsort(front[:, 0], kind="stable")]
