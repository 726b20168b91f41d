"""Share of valid proposals from the embedded model, with and without the grammar; prints a table.

python benchmarks/validity.py --steps 3 --seeds 2
"""

from __future__ import annotations

import argparse
import time

from llmopt.backends.local import LocalBackend
from llmopt.contract.registry import registry
from llmopt.core.result import Counts
from llmopt.opro import OPRO, OPROConfig


def measure(problem_name: str, grammar: bool, steps: int, seeds: int, backend: LocalBackend) -> tuple[Counts, float]:
    """Pooled counts over `seeds` runs of `steps` steps, and the seconds they took."""
    total = Counts()
    began = time.perf_counter()
    for seed in range(seeds):
        problem = registry()[problem_name]()
        config = OPROConfig(steps=steps, seed=seed, use_grammar=grammar)
        counts = OPRO(problem, backend, config).run().counts
        total.proposals += counts.proposals
        total.duplicates += counts.duplicates
        for reason, n in counts.invalid.items():
            total.invalid[reason] = total.invalid.get(reason, 0) + n
    return total, time.perf_counter() - began


def main() -> None:
    """Run both settings and print proposals, valid share, duplicates and the top rejection."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--problem", default="linear-regression")
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--seeds", type=int, default=2)
    args = parser.parse_args()
    backend = LocalBackend()
    print(f"{'grammar':8} {'proposals':>9} {'valid %':>8} {'duplicate %':>11} {'seconds':>8}  top rejection")
    for grammar in (True, False):
        counts, seconds = measure(args.problem, grammar, args.steps, args.seeds, backend)
        valid = 100 * (1 - counts.n_invalid / counts.proposals)
        dup = 100 * counts.duplicates / counts.proposals
        top = max(counts.invalid.items(), key=lambda kv: kv[1], default=("-", 0))
        print(
            f"{'on' if grammar else 'off':8} {counts.proposals:9d} {valid:8.1f} {dup:11.1f} {seconds:8.1f}"
            f"  {top[0]} ({top[1]})"
        )


if __name__ == "__main__":
    main()
