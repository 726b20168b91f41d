"""Statistics over seeds as black-box benchmarking does them (COCO, IOHprofiler): ERT, fixed-target
ECDF, bootstrap intervals, and rank-sum tests against OPRO with Holm's correction."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence

import numpy as np

from llmopt.core.direction import to_loss, worst


def ert(evals_used: Sequence[int], evals_to_target: Sequence[int | None]) -> float:
    """Expected running time: the evaluations of every run (up to its success, or all it used) divided
    by the number of runs that reached the target; infinite when none did."""
    spent = sum(hit if hit is not None else used for used, hit in zip(evals_used, evals_to_target))
    successes = sum(hit is not None for hit in evals_to_target)
    return spent / successes if successes else math.inf


def quantiles(values: Iterable[float], levels: Sequence[float]) -> list[float]:
    """Quantiles as textbooks and numpy's default take them (linear between order statistics, so the
    median of an even count is the midpoint of the middle two); a failed run (±inf) beside a finite one
    gives that infinity, never NaN, so it ranks last instead of poisoning the statistic."""
    ordered = sorted(float(v) for v in values)
    if not ordered:
        return [math.nan for _ in levels]
    found = []
    for q in levels:
        position = (len(ordered) - 1) * q
        low, high = ordered[math.floor(position)], ordered[math.ceil(position)]
        if low == high or math.isinf(low) or math.isinf(high):
            found.append(high if math.isinf(high) and high > 0 else low)
        else:
            found.append(low + (high - low) * (position - math.floor(position)))
    return found


def median(values: Iterable[float]) -> float:
    """The sample median: the middle value, or the midpoint of the middle two."""
    return quantiles(values, [0.5])[0]


def bootstrap_ci(
    values: Sequence[float],
    statistic: Callable[[np.ndarray], float] = median,
    samples: int = 2000,
    level: float = 0.95,
    seed: int = 0,
) -> tuple[float, float]:
    """A percentile bootstrap interval of `statistic`, resampling the runs."""
    data = np.asarray(values, dtype=float)
    if data.size == 0:
        return math.nan, math.nan
    rng = np.random.default_rng(seed)
    resampled = [statistic(data[rng.integers(0, data.size, data.size)]) for _ in range(samples)]
    tail = 100 * (1 - level) / 2
    low, high = quantiles(resampled, [tail / 100, 1 - tail / 100])
    return float(low), float(high)


def rank_sum_p(a: Sequence[float], b: Sequence[float]) -> float:
    """Two-sided Wilcoxon rank-sum (Mann-Whitney U) p-value; NaN with fewer than one run on a side."""
    from scipy.stats import mannwhitneyu

    if len(a) < 1 or len(b) < 1:
        return math.nan
    if len(set(a) | set(b)) == 1:  # every value tied: nothing tells the methods apart
        return 1.0
    return float(mannwhitneyu(a, b, alternative="two-sided").pvalue)


def holm(pvalues: dict[str, float]) -> dict[str, float]:
    """Holm-Bonferroni adjusted p-values (NaN stays NaN and is not counted)."""
    valid = sorted((p, name) for name, p in pvalues.items() if not math.isnan(p))
    adjusted, running = {name: math.nan for name in pvalues}, 0.0
    for rank, (p, name) in enumerate(valid):
        running = max(running, min(1.0, (len(valid) - rank) * p))
        adjusted[name] = running
    return adjusted


def log_targets(start: float, optimum: float, direction: str, count: int = 20, decades: float = 6.0) -> np.ndarray:
    """Targets between the starting value and the optimum, log-spaced in their distance to the optimum."""
    gap = abs(start - optimum) or 1.0
    distances = gap * np.logspace(0, -decades, count)
    return optimum + distances if direction == "min" else optimum - distances


def ecdf(curves: Sequence[np.ndarray], targets: np.ndarray, direction: str, length: int) -> np.ndarray:
    """Fixed-target ECDF: after each of `length` evaluations, the share of (run, target) pairs reached."""
    if not len(curves) or not targets.size:
        return np.zeros(length)
    reached = np.zeros(length)
    for curve in curves:
        padded = (
            np.pad(curve, (0, max(0, length - curve.size)), mode="edge")[:length]
            if curve.size
            else np.full(length, worst(direction))
        )
        hits = to_loss(padded[:, None], direction) <= to_loss(targets[None, :], direction)
        reached += hits.sum(axis=1)
    return reached / (len(curves) * targets.size)
