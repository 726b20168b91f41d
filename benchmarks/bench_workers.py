"""Bench wall time by `--workers`: model-bound jobs on the embedded model, and CPU-bound classical methods.

Each row runs `llmopt bench` as a user would (a fresh process, no cache) and prints its wall time
and the ratio to the same bench with `--workers 1`. With the embedded model, more workers must not
be slower (they share the cores); classical methods should gain from them.

    python benchmarks/bench_workers.py
"""

from __future__ import annotations

import subprocess
import sys
import time

BENCHES = {
    "embedded model: opro, opro-no-history": [
        "linear-regression",
        "--seeds",
        "2",
        "--steps",
        "2",
        "--methods",
        "opro",
        "opro-no-history",
    ],
    "classical: differential-evolution, dual-annealing": [
        "rastrigin",
        "--dim",
        "5",
        "--seeds",
        "4",
        "--steps",
        "40",
        "--methods",
        "differential-evolution",
        "dual-annealing",
    ],
}


def wall(args: list[str], workers: int) -> float:
    """Seconds of one `llmopt bench` run with `workers` worker processes."""
    began = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "llmopt.cli", "bench", *args, "--no-cache", "--json", "--workers", str(workers)],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise SystemExit(done.stderr)
    return time.perf_counter() - began


def main() -> None:
    """Print the table."""
    print(f"{'bench':<52} {'workers':>7} {'wall s':>8} {'vs 1 worker':>11}")
    for label, args in BENCHES.items():
        base = wall(args, 1)
        print(f"{label:<52} {1:>7} {base:>8.1f} {1.0:>11.2f}")
        for workers in (2,):
            seconds = wall(args, workers)
            print(f"{label:<52} {workers:>7} {seconds:>8.1f} {seconds / base:>11.2f}")


if __name__ == "__main__":
    main()
