"""matplotlib figures of Results: convergence against the other methods, value spreads, seed bands.

Every curve comes from the Result's own best-so-far; a problem draws its solutions through its hook.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np
from llmopt.result import side_by_side, to_loss

if TYPE_CHECKING:
    from llmopt.result import Result


def _new_figure(**kwargs: Any) -> Any:
    """A figure for a file: matplotlib's object API, no pyplot, so no display or backend switch."""
    from matplotlib.figure import Figure

    return Figure(**kwargs)


def plot_convergence(ax: Any, result: Result, baselines: Sequence[Result] = (),
                     optimum: float | None = None) -> None:
    """Best value per step, every evaluated proposal as a dot, baselines and the optimum as lines."""
    points = [(t.step, t.value) for t in result.evaluated()]
    if points:
        steps, values = zip(*points)
        ax.scatter(steps, values, s=10, alpha=0.35, color="tab:blue", label="proposals")
    curve = result.best_per_step()
    last_step = max((t.step for t in result.trials if t.step is not None), default=0)
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
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0)


def plot_rounds(ax: Any, results: Sequence[Result], optimum: float | None = None) -> None:
    """Best so far against rounds (the wall-clock measure of an expensive objective) for every method that
    evaluated; references, which evaluate nothing, as dotted lines labelled as references."""
    for result in results:
        if result.kind == "reference":
            if result.best_value is not None:
                ax.axhline(result.best_value, linestyle=":", linewidth=1, color="grey",
                           label=f"{result.method} (reference)")
            continue
        rounds = [t.round for t in result.evaluated() if t.round is not None]
        if rounds:
            best = result.best_so_far()[-len(rounds):]
            ax.step(rounds, best, where="post", linewidth=1.5, label=f"{result.method} ({result.kind})")
    if optimum is not None:
        ax.axhline(optimum, color="black", linewidth=1, label="optimum")
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("round (evaluations side by side)")
    ax.set_ylabel("best value so far")
    ax.set_title("best so far against rounds")
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0)


def plot_score_distribution(ax: Any, result: Result) -> None:
    """The values of each step's evaluated proposals as box plots, with the best so far on top."""
    by_step: dict[int, list[float]] = {}
    for trial in result.evaluated():
        by_step.setdefault(trial.step, []).append(trial.value)
    steps = sorted(by_step)
    if steps:
        ax.boxplot([by_step[s] for s in steps], positions=steps, widths=0.6, manage_ticks=False)
        curve = result.best_per_step()
        ax.plot(*zip(*curve), color="tab:blue", marker="o", linewidth=1.5, label="best so far")
        ax.legend(fontsize=7)
    ax.set_xlabel("step")
    ax.set_ylabel("value")
    ax.set_title(f"{result.problem}: values proposed per step")


def plot_bands(ax: Any, curves: dict[str, Sequence[np.ndarray]], optimum: float | None = None) -> None:
    """Median and interquartile band of best-so-far curves, one per label; a short run keeps its last value."""
    for label, found in curves.items():
        found = [c for c in found if c.size]
        if not found:
            continue
        length = max(c.size for c in found)
        padded = np.array([np.pad(c, (0, length - c.size), mode="edge") for c in found])
        low, median, high = np.percentile(padded, [25, 50, 75], axis=0)
        x = np.arange(1, length + 1)
        ax.plot(x, median, label=f"{label} (n={len(found)})")
        ax.fill_between(x, low, high, alpha=0.2)
    logarithmic = _wide_and_positive([c for found in curves.values() for c in found if c.size])
    if logarithmic:
        ax.set_yscale("log")  # best-so-far values falling over decades, as COCO plots them
    if optimum is not None and (optimum > 0 or not logarithmic):
        ax.axhline(optimum, color="black", linewidth=1, label="optimum")
    ax.set_xlabel("evaluations")
    ax.set_ylabel("best value so far")
    ax.legend(fontsize=7)


def _wide_and_positive(curves: Sequence[np.ndarray]) -> bool:
    """Whether the values are all positive and span more than two decades."""
    if not curves:
        return False
    values = np.concatenate(curves)
    values = values[np.isfinite(values)]
    return bool(values.size) and values.min() > 0 and values.max() / values.min() > 100


def bench_curves(rows: Sequence[dict[str, Any]]) -> dict[str, list[np.ndarray]]:
    """Best-so-far curves of a bench's rows, by "label: method" (references have none)."""
    curves: dict[str, list[np.ndarray]] = {}
    for row in rows:
        if row.get("kind") != "reference":
            curves.setdefault(f"{row['label']}: {row['method']}", []).append(np.array(row.get("best_so_far") or []))
    return curves


def plot_ecdf(ax: Any, curves: dict[str, Sequence[np.ndarray]], targets: np.ndarray, direction: str) -> None:
    """Fixed-target ECDF per label: the share of (run, target) pairs reached after each evaluation."""
    from llmopt.stats import ecdf

    length = max((c.size for found in curves.values() for c in found), default=0)
    for label, found in curves.items():
        ax.plot(np.arange(1, length + 1), ecdf(list(found), targets, direction, length), label=label)
    ax.set_xscale("log")
    ax.set_ylim(0, 1)
    ax.set_xlabel("evaluations")
    ax.set_ylabel("share of (run, target) pairs reached")
    ax.legend(fontsize=7)


def bench_figure(rows: Sequence[dict[str, Any]], path: str | Path) -> Path:
    """Bands of best so far and the fixed-target ECDF of a bench, side by side, one row of panels per task
    (each with its own optimum and targets), as a PNG."""
    from llmopt.stats import log_targets

    tasks: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        tasks.setdefault(row["label"], []).append(row)
    fig = _new_figure(figsize=(13, 4.5 * len(tasks)))
    for (left, right), (label, mine) in zip(fig.subplots(len(tasks), 2, squeeze=False), tasks.items()):
        direction, optimum = mine[0].get("direction", "min"), mine[0].get("optimum")
        curves = {key.partition(": ")[2]: found for key, found in bench_curves(mine).items()}
        plot_bands(left, curves, optimum)
        left.set_title(label)
        starts = [c[0] for found in curves.values() for c in found if c.size]
        finals = [c[-1] for found in curves.values() for c in found if c.size]
        best = optimum if optimum is not None else min(finals, key=lambda v: to_loss(v, direction)) \
            if finals else 0.0
        start = float(np.median(starts)) if starts else best
        plot_ecdf(right, curves, log_targets(start, best, direction), direction)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=100)
    return path


def figure_for(result: Result, baselines: Sequence[Result] = (), optimum: float | None = None) -> Any:
    """A new figure with the convergence plot of `result` (what `Result.plot()` returns)."""
    import matplotlib.pyplot as plt  # pyplot, so notebooks show it inline

    fig, ax = plt.subplots(figsize=(8, 4.5))
    plot_convergence(ax, result, baselines, optimum if optimum is not None else result.optimum)
    fig.tight_layout()
    return fig


def report_figure(results: Sequence[Result], table: str, path: str | Path) -> Path:
    """A PNG summary of a run: convergence against the baselines above the comparison table."""
    lines = table.count("\n") + 1
    fig = _new_figure(figsize=(11, 4.5 + 0.16 * lines))
    top, bottom = fig.subplots(2, 1, gridspec_kw={"height_ratios": [4.5, 0.3 + 0.16 * lines]})
    plot_convergence(top, results[0], list(results[1:]), results[0].optimum)
    bottom.axis("off")
    bottom.text(0.0, 1.0, table, family="monospace", fontsize=8, va="top")
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=110)
    return path


def plot_run(problem: Any, results: Sequence[Result], path: str | Path) -> Path:
    """Convergence of the first result against the rest; tours too when the problem can draw."""
    opro, baselines = results[0], list(results[1:])
    drawable = problem.drawable and opro.best_solution is not None
    rounds = side_by_side(results)
    panels = (2 if drawable else 0) + 1 + rounds
    fig = _new_figure(figsize=(8 * panels if panels > 1 else 8, 4.8))
    axes = fig.subplots(1, panels, squeeze=False)
    plot_convergence(axes[0][2 if drawable else 0], opro, baselines, problem.optimum())
    if rounds:
        plot_rounds(axes[0][-1], results, problem.optimum())
    if drawable:
        problem.draw(axes[0][0], opro.best_solution, f"{opro.method}: {opro.best_value:.6g}")
        scored = [b for b in baselines if b.best_value is not None and b.best_solution is not None]
        if scored:
            best = min(scored, key=lambda b: to_loss(b.best_value, problem.direction))
            problem.draw(axes[0][1], best.best_solution, f"best baseline, {best.method}: {best.best_value:.6g}")
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=110)
    return path
