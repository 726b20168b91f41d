"""Decoding time against input length, for every registered problem's decoder; prints a table.

    python benchmarks/decoders.py

Each row decodes a long adversarial input of 20,000 and then 160,000 repeated units. A decoder that
runs in linear time shows a ratio near 8; backtracking shows up as a far larger one.
"""

from __future__ import annotations

import time

from llmopt.contract.problem import InvalidSolution
from llmopt.contract.registry import registry

UNITS = ["[", "<trace>", "<INS>", "[1, ", "<trace>0,", "x"]
SMALL = {
    "prompt-search": {"train_size": 3, "test_size": 2},
    "function": {"function": "llmopt.problems.functions:himmelblau"},
}


def seconds(problem, text: str) -> float:
    """The best of three decodings of `text`."""
    best = float("inf")
    for _ in range(3):
        began = time.perf_counter()
        try:
            problem.decode(text)
        except InvalidSolution:
            pass
        best = min(best, time.perf_counter() - began)
    return best


def main() -> None:
    """Print one row per problem and unit."""
    print(f"{'problem':18} {'unit':12} {'20k units ms':>13} {'160k units ms':>14} {'ratio':>7}")
    for name, cls in registry().items():
        problem = cls.from_options(**({o.dest: o.default for o in cls.options} | SMALL.get(name, {})))
        for unit in UNITS:
            small, large = seconds(problem, unit * 20_000), seconds(problem, unit * 160_000)
            print(f"{name:18} {unit!r:12} {small * 1e3:13.2f} {large * 1e3:14.2f} {large / max(small, 1e-9):7.1f}")


if __name__ == "__main__":
    main()
