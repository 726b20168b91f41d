"""The travelling salesman problem: instances, TSPLIB reader, heuristics, exact solvers, plugin."""

from __future__ import annotations

from llmopt.problems.tsp.problem import TSP

__all__ = ["TSP"]
