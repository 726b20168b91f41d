"""A first run against a cached rerun of the same command; prints model calls and the wall-clock ratio.

python benchmarks/cache.py --steps 3
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def run(cache: Path, out: Path, steps: int) -> tuple[float, str]:
    """One `llmopt run linear-regression` with the embedded model; wall seconds and its stderr."""
    began = time.perf_counter()
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "llmopt.cli",
            "run",
            "linear-regression",
            "--steps",
            str(steps),
            "--cache",
            str(cache),
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    return time.perf_counter() - began, done.stderr


def model_calls(stderr: str) -> str:
    """The number of requests the cache sent to the model, from the CLI's cache line."""
    line = next(line for line in stderr.splitlines() if line.startswith("cache:"))
    return line.split(",")[1].split()[0]


def in_process(cache: Path, steps: int) -> tuple[float, float]:
    """The same comparison inside one process, so interpreter start-up does not hide the ratio."""
    from llmopt.backends import make_backend
    from llmopt.opro import OPRO, OPROConfig
    from llmopt.problems.linear_regression import LinearRegression

    times = []
    for _ in range(2):
        backend = make_backend("local", cache=str(cache))
        began = time.perf_counter()
        OPRO(LinearRegression(), backend, OPROConfig(steps=steps, seed=1)).run()
        times.append(time.perf_counter() - began)
    return times[0], times[1]


def main() -> None:
    """Print the table."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--steps", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        first, first_err = run(root / "c.sqlite", root / "one", args.steps)
        second, second_err = run(root / "c.sqlite", root / "two", args.steps)
        cold, warm = in_process(root / "p.sqlite", args.steps)
    print(f"{'run':42} {'model calls':>11} {'seconds':>8} {'ratio':>8}")
    print(f"{'CLI, first run':42} {model_calls(first_err):>11} {first:8.2f} {'1.00x':>8}")
    print(
        f"{'CLI, cached rerun (whole process)':42} {model_calls(second_err):>11} {second:8.2f} {first / second:7.1f}x"
    )
    print(f"{'in process, first run':42} {'-':>11} {cold:8.3f} {'1.00x':>8}")
    print(f"{'in process, cached rerun':42} {'0':>11} {warm:8.3f} {cold / warm:7.1f}x")


if __name__ == "__main__":
    main()
