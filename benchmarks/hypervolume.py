"""Which library computes the hypervolume: moocore (what llmopt uses), Optuna's own (a private module,
`optuna._hypervolume`) and pymoo's `HV` indicator, where installed. Each computes the hypervolume of the same
point sets (random fronts of 2, 3 and 4 objectives, and sets with dominated points, as a run's history is);
the table prints each one's median seconds per call over repeats, its ratio to moocore's, and its largest
relative difference from moocore's value (0 where they agree).

    python benchmarks/hypervolume.py
    python benchmarks/hypervolume.py --repeats 20
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import moocore
import numpy as np

Compute = Callable[[np.ndarray, np.ndarray], float]


def libraries() -> dict[str, Compute]:
    """Each installed library's hypervolume of minimised points against a reference point."""
    found: dict[str, Compute] = {"moocore": lambda points, ref: float(moocore.hypervolume(points, ref=ref))}
    try:
        from optuna._hypervolume import compute_hypervolume

        found["optuna"] = lambda points, ref: float(compute_hypervolume(points, ref))
    except ImportError:
        pass
    try:
        from pymoo.indicators.hv import HV

        found["pymoo"] = lambda points, ref: float(HV(ref_point=ref)(points))
    except ImportError:
        pass
    return found


def cases(seed: int = 0) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Point sets: a front on the unit sphere of 2, 3 and 4 objectives, and uniform points (mostly dominated)."""
    rng = np.random.default_rng(seed)
    found = {}
    for m, n in ((2, 1000), (3, 300), (4, 100)):
        front = np.abs(rng.standard_normal((n, m)))
        found[f"front, {m} objectives, {n} points"] = (
            front / np.linalg.norm(front, axis=1, keepdims=True),
            np.full(m, 1.1),
        )
    for m, n in ((2, 5000), (3, 2000)):
        found[f"uniform, {m} objectives, {n} points"] = (rng.uniform(size=(n, m)), np.full(m, 1.1))
    return found


def timed(compute: Compute, points: np.ndarray, ref: np.ndarray, repeats: int) -> tuple[float, float]:
    """The median seconds per call and the value."""
    seconds, value = [], 0.0
    for _ in range(repeats):
        began = time.perf_counter()
        value = compute(points, ref)
        seconds.append(time.perf_counter() - began)
    return float(np.median(seconds)), value


def main() -> None:
    """Print one row per case and library."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    found = libraries()
    print(f"{'case':34} {'library':8} {'seconds':>10} {'x moocore':>10} {'max rel. diff':>14}")
    for label, (points, ref) in cases().items():
        base, expected = timed(found["moocore"], points, ref, args.repeats)
        for name, compute in found.items():
            seconds, value = (base, expected) if name == "moocore" else timed(compute, points, ref, args.repeats)
            diff = abs(value - expected) / expected
            print(f"{label:34} {name:8} {seconds:10.2e} {seconds / base:10.1f} {diff:14.1e}")


if __name__ == "__main__":
    main()
