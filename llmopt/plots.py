"""matplotlib figures: convergence against baselines, and TSP tours."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import numpy as np

from llmopt.result import Result


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")  # files only; works without a display
    import matplotlib.pyplot as plt

    return plt


def plot_convergence(ax: Any, result: Result, baselines: Sequence[Result] = (),
                     optimum: float | None = None) -> None:
    """Best value per step, every evaluated proposal as a dot, baselines and the optimum as lines."""
    points = [(t.step, t.value) for t in result.trials if t.value is not None]
    if points:
        steps, values = zip(*points)
        ax.scatter(steps, values, s=10, alpha=0.35, color="tab:blue", label="proposals")
    curve = result.best_per_step()
    last_step = max((t.step for t in result.trials), default=0)
    if curve and curve[-1][0] < last_step:
        curve.append((last_step, curve[-1][1]))
    if curve:
        ax.step(*zip(*curve), where="post", color="tab:blue", linewidth=2, label=f"{result.method} best")
    colours = iter(["tab:orange", "tab:green", "tab:red", "tab:purple", "tab:brown", "tab:pink",
                    "tab:olive", "tab:cyan"])
    for baseline in baselines:
        if baseline.best_value is not None:
            ax.axhline(baseline.best_value, linestyle="--", linewidth=1, color=next(colours, "grey"),
                       label=baseline.method)
    if optimum is not None:
        ax.axhline(optimum, color="black", linewidth=1, label="optimum")
    values = [v for _, v in points] + [b.best_value for b in baselines if b.best_value is not None]
    if values and min(values) > 0 and max(values) / min(values) > 100:
        ax.set_yscale("log")
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("step")
    ax.set_ylabel("value")
    ax.set_title(f"{result.problem}: convergence")
    ax.legend(fontsize=7, loc="best")


def draw_tour(ax: Any, positions: np.ndarray, tour: Sequence[int], title: str) -> None:
    """A closed tour over the city map; city 0 is marked."""
    order = list(tour) + [tour[0]]
    ax.plot(positions[order, 0], positions[order, 1], "-", color="tab:blue", linewidth=1)
    ax.scatter(positions[:, 0], positions[:, 1], s=14, color="black", zorder=3)
    ax.scatter(*positions[tour[0]], s=60, color="tab:red", zorder=4, label="city 0")
    ax.set_title(title, fontsize=9)
    ax.set_aspect("equal", adjustable="datalim")
    ax.set_xticks([])
    ax.set_yticks([])


def plot_run(problem: Any, results: Sequence[Result], path: str | Path) -> Path:
    """Convergence of the first result against the rest; tours too when the problem can draw."""
    plt = _pyplot()
    opro, baselines = results[0], list(results[1:])
    drawable = hasattr(problem, "draw") and opro.best_solution is not None
    fig, axes = plt.subplots(1, 3 if drawable else 1, figsize=(15 if drawable else 7, 4.8), squeeze=False)
    plot_convergence(axes[0][-1], opro, baselines, problem.optimum())
    if drawable:
        problem.draw(axes[0][0], opro.best_solution, f"{opro.method}: {opro.best_value:.6g}")
        scored = [b for b in baselines if b.best_value is not None and b.best_solution is not None]
        if scored:
            best = min(scored, key=lambda b: b.best_value if problem.direction == "min" else -b.best_value)
            problem.draw(axes[0][1], best.best_solution, f"best baseline, {best.method}: {best.best_value:.6g}")
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
