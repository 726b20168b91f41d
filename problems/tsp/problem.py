"""The travelling salesman problem as an OPRO plugin: traces in tags, optimality gap, tour drawing."""

from __future__ import annotations

from collections.abc import Callable
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from llmopt.contract.evaluation import Evaluation
from llmopt.contract.problem import Option, Problem, digest
from llmopt.contract.spaces import Permutation
from llmopt.core.direction import gap_pct
from llmopt.core.result import Result
from llmopt.problems.tsp import heuristics, solvers
from llmopt.problems.tsp.instance import Instance, format_coord, random_instance
from llmopt.problems.tsp.tsplib import read_tsplib

Tour = tuple[int, ...]
# Above this many cities the meta-prompt would not fit a small model's context; still solvable.
MATRIX_PROMPT_MAX = 30
NAMED_MOVES = 3  # 2-opt moves the feedback names: the largest savings
# The feedback scans every pair of edges; beyond this many cities that would cost black-box searches, which
# never read it, more than the tour's length (and no meta-prompt holds such an instance anyway).
FEEDBACK_MAX_CITIES = 1000


class TSP(Problem):
    """Find the shortest closed tour through every city, starting at city 0."""

    gives_feedback = True  # every evaluation says why it scores as it does

    name = "tsp"
    summary = "travelling salesman: propose traces through all cities (random or TSPLIB instances)"
    direction = "min"
    solution_label = "trace"
    value_label = "length"
    drawable = True
    paper_grid = {f"n={n}": {"cities": n} for n in (10, 15, 20, 50)}  # the sizes of the paper's Table 3
    options = (
        Option("--cities", int, 10, "number of random cities"),
        Option("--instance-seed", int, 0, "seed of the random instance"),
        Option("--instance", str, None, "a TSPLIB .tsp file instead of a random instance"),
        Option("--optimum", float, None, "known optimal length, e.g. the documented TSPLIB value"),
    )

    def __init__(self, instance: Instance | None = None, *, optimum: float | None = None) -> None:
        self.instance = instance or random_instance(10, 0)
        self.known_optimum = optimum
        self.n = self.instance.n
        self.space = Permutation(self.n, start=0, tag="trace", item="city", items="cities")

    @classmethod
    def from_options(
        cls, cities: int = 10, instance_seed: int = 0, instance: str | None = None, optimum: float | None = None
    ) -> TSP:
        """A random instance, or the TSPLIB file given with --instance."""
        if optimum is not None and not optimum > 0:
            raise ValueError("--optimum must be a positive length")
        loaded = read_tsplib(Path(instance)) if instance else random_instance(cities, instance_seed)
        return cls(loaded, optimum=optimum)

    def config(self) -> dict[str, Any]:
        """What defines this instance."""
        return {
            "instance": self.instance.name,
            "cities": self.n,
            "optimum": self.known_optimum,
            "edge_weight_type": self.instance.edge_weight_type,
        }

    def fingerprint(self) -> str:
        """The config plus the distances themselves (a TSPLIB file may change under the same name)."""
        return super().fingerprint() + digest(self.instance.dist.tobytes())

    # -- meta-prompt -----------------------------------------------------------------------

    def describe(self) -> str:
        """The cities, by coordinates or, without them, by distances."""
        if self.instance.coords is not None:
            points = ", ".join(
                f"({i}): ({format_coord(x)}, {format_coord(y)})" for i, (x, y) in enumerate(self.instance.coords)
            )
            return f"There are {self.n} cities, numbered 0 to {self.n - 1}, at these coordinates: {points}."
        rows = "\n".join(
            f"({i}): " + " ".join(format_coord(d) for d in row)
            for i, row in enumerate(self.instance.dist[:MATRIX_PROMPT_MAX])
        )
        return (
            f"There are {self.n} cities, numbered 0 to {self.n - 1}. Row i lists the distances from "
            f"city i to cities 0, 1, 2, …:\n{rows}"
        )

    def format_hint(self) -> str:
        """Trace tags, start at 0, each city once."""
        return (
            f"Give a new trace that differs from every trace above and is shorter than all of them. "
            f"It starts at city 0 and visits each city from 0 to {self.n - 1} exactly once. "
            "Write the city numbers separated by commas between <trace> and </trace>, "
            "for example <trace>0,2,1,3</trace>."
        )

    # -- scoring ---------------------------------------------------------------------------

    def length(self, solution: Tour) -> float:
        """Length of the closed tour."""
        return self.instance.length(solution)

    def evaluate(self, solution: Tour) -> Evaluation:
        """Length of the closed tour, and feedback naming its crossing edges (the moves 2-opt would make)."""
        feedback = self.feedback(solution) if self.n <= FEEDBACK_MAX_CITIES else None
        return Evaluation(self.length(solution), feedback=feedback)

    def feedback(self, solution: Tour) -> str:
        """The pairs of edges that are shorter reconnected (2-opt moves; two edges crossing in the plane always
        are one), how many, and the `NAMED_MOVES` that save most, by city index."""
        count, moves = heuristics.two_opt_moves(self.instance.dist, solution, NAMED_MOVES)
        if not count:
            return "No two edges cross: no 2-opt move shortens this tour."
        named = "; ".join(
            f"edges {a}-{b} and {c}-{d} as {a}-{c} and {b}-{d} ({format_coord(round(saving, 2))} shorter)"
            for saving, (a, b, c, d) in moves
        )
        pairs = "1 pair of edges crosses or is" if count == 1 else f"{count} pairs of edges cross or are"
        return f"{pairs} shorter reconnected (2-opt); the largest savings: {named}."

    @cached_property
    def _exact(self) -> Tour | None:
        if self.n <= solvers.HELD_KARP_MAX:
            return tuple(solvers.held_karp(self.instance.dist))
        if self.n <= solvers.EXACT_MAX:
            return tuple(solvers.subtour_milp(self.instance.dist))
        return None

    @cached_property
    def _lkh_tour(self) -> Tour:
        # One LKH solve per instance: the "lkh" reference and the heuristic bound share it.
        return tuple(solvers.lkh(self.instance.dist))

    def optimum(self) -> float | None:
        """--optimum if given, else the exact length (Held–Karp or the integer programme) where n allows."""
        if self.known_optimum is not None:
            return self.known_optimum
        return self.length(self._exact) if self._exact else None

    def reference(self) -> tuple[float, str]:
        """What gaps are measured against, and a label saying whether it is proven."""
        optimum = self.optimum()
        if optimum is not None:
            return optimum, "optimum"
        return self.length(self._lkh_tour), "LKH (heuristic bound)"

    def extra_columns(self, result: Result) -> dict[str, Any]:
        """`gap_pct` against the optimum, or `gap_pct_vs_lkh` when only a heuristic bound exists."""
        if result.best_value is None:
            return {}
        value, label = self.reference()
        key = "gap_pct" if label == "optimum" else "gap_pct_vs_lkh"
        return {key: gap_pct(result.best_value, value, "min")}

    # -- references and drawing ------------------------------------------------------------

    def references(self) -> dict[str, Callable[[], Tour]]:
        """NN and FI (the paper's), greedy, Christofides, 2-opt+Or-opt, LKH, and the exact solvers: Held–Karp
        when n ≤ 13, the integer programme with subtour constraints when n ≤ 60.

        All read the distance matrix, so they are white-box references, not black-box baselines.
        """
        dist = self.instance.dist
        solvers_by_name: dict[str, Callable[[], Any]] = {
            "nearest-neighbour": lambda: heuristics.nearest_neighbour(dist),
            "farthest-insertion": lambda: heuristics.farthest_insertion(dist),
            "greedy": lambda: heuristics.greedy(dist),
            "christofides": lambda: heuristics.christofides(dist),
            "2-opt+or-opt": lambda: heuristics.iterated_local_search(
                dist, heuristics.nearest_neighbour(dist), kicks=min(3000, 10 * self.n)
            ),
            "lkh": lambda: self._lkh_tour,
        }
        if self.n <= solvers.HELD_KARP_MAX:  # the exact ones solve again: their time is their own
            solvers_by_name["held-karp"] = lambda: solvers.held_karp(dist)
        if self.n <= solvers.EXACT_MAX:
            solvers_by_name["integer-programme"] = lambda: solvers.subtour_milp(dist)
        return {name: (lambda solve=solve: tuple(int(c) for c in solve())) for name, solve in solvers_by_name.items()}

    def positions(self) -> np.ndarray:
        """2-D points to draw: the coordinates, or a classical MDS embedding of the distances."""
        if self.instance.coords is not None:
            return self.instance.coords
        squared = self.instance.dist**2
        centre = np.eye(self.n) - 1.0 / self.n
        values, vectors = np.linalg.eigh(-0.5 * centre @ squared @ centre)
        top = np.argsort(values)[::-1][:2]
        return vectors[:, top] * np.sqrt(np.maximum(values[top], 0.0))

    def draw(self, ax: Any, solution: Tour, title: str) -> None:
        """Draw `solution` as a closed tour over the city map; city 0 is marked."""
        positions = self.positions()
        order = list(solution) + [solution[0]]
        ax.plot(positions[order, 0], positions[order, 1], "-", color="tab:blue", linewidth=1)
        ax.scatter(positions[:, 0], positions[:, 1], s=14, color="black", zorder=3)
        ax.scatter(*positions[solution[0]], s=60, color="tab:red", zorder=4, label="city 0")
        ax.set_title(title, fontsize=9)
        ax.set_aspect("equal", adjustable="datalim")
        ax.set_xticks([])
        ax.set_yticks([])
        if self.instance.coords is None:  # an explicit matrix has no map: say the drawing made one up
            ax.set_xlabel("positions invented (MDS of the distances): the instance has no coordinates", fontsize=7)
