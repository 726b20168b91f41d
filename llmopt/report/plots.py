"""matplotlib figures of Results: convergence against the other methods, value spreads, seed bands.

Every curve comes from the Result's own best-so-far; a problem draws its solutions through its hook.
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from llmopt.core.direction import to_loss, worst
from llmopt.core.stats import quantiles


class Plottable(Protocol):
    """What a figure reads of a run (`llmopt.core.result.Result` is one): this module draws, it imports no model."""

    # read-only members (properties), which a dataclass's field and a property both provide, and a narrower
    # type (`Result.kind`, a Literal) matches
    @property
    def method(self) -> str:
        """The method's name."""
        ...

    @property
    def problem(self) -> str:
        """The problem's name."""
        ...

    @property
    def direction(self) -> str:
        """ "min" or "max"."""
        ...

    @property
    def kind(self) -> str:
        """The method's kind ("model", "ablation", "black-box", "reference")."""
        ...

    @property
    def best_value(self) -> float | None:
        """The best value found, None when nothing was scored."""
        ...

    @property
    def best_solution(self) -> Any:
        """The solution of `best_value`."""
        ...

    @property
    def optimum(self) -> float | None:
        """The problem's known optimum, if any."""
        ...

    @property
    def side_by_side(self) -> bool:
        """Whether the method evaluated side by side (fewer rounds than evaluations)."""
        ...

    def evaluated(self) -> list[Any]:
        """The evaluated trials, in order."""
        ...

    def best_so_far(self) -> np.ndarray:
        """The best value after each evaluation."""
        ...

    def best_per_step(self) -> list[tuple[int, float]]:
        """(step, best so far) after every step that evaluated something."""
        ...


class Fronted(Plottable, Protocol):
    """A run with several objectives, as the front plot reads it (`llmopt.core.result.Result` is one)."""

    @property
    def directions(self) -> tuple[str, ...] | None:
        """One direction per objective; None for a run with one."""
        ...

    def front(self) -> list[Any]:
        """The feasible Pareto front's trials (each with its `values`), sorted along the first objective."""
        ...


def several(result: Any) -> bool:
    """Whether a run has several objectives (its best so far is the hypervolume of its front)."""
    return getattr(result, "directions", None) is not None


def _new_figure(**kwargs: Any) -> Any:
    """A figure for a file: matplotlib's object API, no pyplot, so no display or backend switch; constrained
    layout, which makes room for a legend beside its axes."""
    from matplotlib.figure import Figure

    return Figure(layout="constrained", **kwargs)


# Each kind its own line style, and each method its own end marker: a line that lies on another (a
# method that found the optimum, under the optimum's line) still shows where it ends.
KIND_STYLES: dict[str, dict[str, Any]] = {
    "model": {"linestyle": "-", "linewidth": 2.0},
    "ablation": {"linestyle": "--", "linewidth": 1.6},
    "black-box": {"linestyle": "-.", "linewidth": 1.3},
}
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*", "<", ">")
COLOURS = (
    "tab:blue",
    "tab:orange",
    "tab:green",
    "tab:red",
    "tab:purple",
    "tab:brown",
    "tab:pink",
    "tab:olive",
    "tab:cyan",
)


def plot_convergence(
    ax: Any, result: Plottable, others: Sequence[Plottable] = (), optimum: float | None = None
) -> None:
    """Best so far against evaluations (the budget every method spends): each evaluation of `result` as a
    dot, every evaluating method's best so far in its kind's style, and the references and the optimum
    as labelled horizontal lines. With several objectives the curves are each front's hypervolume, and an
    evaluation has no one value to show as a dot."""
    evaluated = [] if several(result) else result.evaluated()
    if evaluated:
        ax.scatter(
            [t.eval_index for t in evaluated],
            [t.value for t in evaluated],
            s=10,
            alpha=0.35,
            color=COLOURS[0],
            label=f"{result.method}: each evaluation",
        )

    def by_evaluation(r: Plottable) -> tuple[Any, Any]:
        curve = r.best_so_far()
        return np.arange(1, curve.size + 1), curve

    _curves(ax, [result, *others], by_evaluation)
    _levels(ax, [result, *others], optimum)
    values = [t.value for t in evaluated] + [r.best_value for r in others if r.best_value is not None]
    if values and min(values) > 0 and max(values) / min(values) > 100:
        ax.set_yscale("log")
    if several(result):
        title = f"{result.problem}: hypervolume against evaluations"
        _axes(ax, "evaluations", "hypervolume so far", title)
    else:
        _axes(ax, "evaluations", "best value so far", f"{result.problem}: best so far against evaluations")


def plot_rounds(ax: Any, results: Sequence[Plottable], optimum: float | None = None) -> None:
    """Best so far against rounds (the wall-clock measure of an expensive objective) for every method that
    evaluated, in the styles of `plot_convergence`; references and the optimum as labelled lines."""

    def by_round(result: Plottable) -> tuple[Any, Any]:
        rounds, curve = [t.round for t in result.evaluated() if t.round is not None], result.best_so_far()
        return np.array(rounds), curve[curve.size - len(rounds) :]

    _curves(ax, results, by_round)
    _levels(ax, results, optimum)
    if any(several(r) for r in results):
        _axes(ax, "round (evaluations side by side)", "hypervolume so far", "hypervolume against rounds")
    else:
        _axes(ax, "round (evaluations side by side)", "best value so far", "best so far against rounds")


def _curves(ax: Any, results: Sequence[Plottable], xy: Any) -> None:
    """The best-so-far step line of each evaluating result, its kind's style, its own colour and end marker."""
    drawn = 0
    for result in results:
        x, y = xy(result) if result.kind != "reference" else ((), ())
        if not len(x):
            continue
        ax.plot(
            x,
            y,
            drawstyle="steps-post",
            color=COLOURS[drawn % len(COLOURS)],
            marker=MARKERS[drawn % len(MARKERS)],
            markevery=[len(x) - 1],
            markersize=7,
            label=f"{result.method} ({result.kind})",
            zorder=3,
            **KIND_STYLES.get(result.kind, {}),
        )
        drawn += 1


def _levels(ax: Any, results: Sequence[Plottable], optimum: float | None) -> None:
    """The optimum and the references' values as horizontal lines under the curves; the methods at one
    value share one line and one label, so none hides another. With several objectives the optimum is the
    true front's hypervolume, and its label says so."""
    named = "optimum (the true front's hypervolume)" if any(several(r) for r in results) else "optimum"
    levels: dict[float, list[str]] = {}
    if optimum is not None:
        levels[float(optimum)] = ["optimum"]
    for result in results:
        if result.kind == "reference" and result.best_value is not None:
            levels.setdefault(float(result.best_value), []).append(result.method)
    for value, names in levels.items():
        methods = [n for n in names if n != "optimum"]
        said = f"{', '.join(methods)} (reference{'s' * (len(methods) > 1)})" if methods else ""
        label = " = ".join(part for part in (named if "optimum" in names else "", said) if part)
        ax.axhline(
            value,
            color="black" if "optimum" in names else "grey",
            linewidth=1,
            linestyle="-" if "optimum" in names else ":",
            label=label,
            zorder=2,
        )


def _axes(ax: Any, xlabel: str, ylabel: str, title: str) -> None:
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    _legend_beside(ax)


# Characters a legend line holds before it wraps: a long list of references at one value stays narrow.
LEGEND_WIDTH = 40


def _legend_beside(ax: Any) -> Any:
    """The legend right of the axes, long labels wrapped, in as many columns as keep it within the axes'
    height: with the figure's constrained layout (matplotlib's way to fit a legend outside its axes), no
    entry is cut at the figure's edge however many methods ran."""
    handles, labels = ax.get_legend_handles_labels()
    wrapped = [textwrap.fill(label, LEGEND_WIDTH, subsequent_indent="  ", break_on_hyphens=False) for label in labels]
    height = ax.get_window_extent().height  # before the layout, which only makes the axes taller
    for columns in range(1, max(len(labels), 1) + 1):
        legend = ax.legend(
            handles, wrapped, fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0, ncols=columns
        )
        if legend.get_window_extent().height <= height:
            break
    return legend


def plot_front(
    ax: Any, results: Sequence[Fronted], true_front: np.ndarray | None = None, labels: Sequence[str] | None = None
) -> None:
    """Each method's feasible Pareto front in two dimensions (objective 1 against 2, the first two of more,
    as the title says), joined in its order along the first objective, its own colour and marker, with
    the true front (`Problem.true_front()`) as a black line where it is known."""
    drawn, objectives = 0, 2
    for result in results:
        points = np.array([t.values for t in result.front()], dtype=float).reshape(-1, len(result.directions or ()))
        objectives = max(objectives, points.shape[1])
        if not len(points):
            continue
        ax.plot(
            points[:, 0],
            points[:, 1],
            color=COLOURS[drawn % len(COLOURS)],
            marker=MARKERS[drawn % len(MARKERS)],
            markersize=5,
            linewidth=1,
            label=f"{result.method} ({result.kind}): {len(points)} on its front",
            zorder=3,
        )
        drawn += 1
    if true_front is not None and len(true_front):
        known = np.asarray(true_front, dtype=float)
        objectives = max(objectives, known.shape[1])
        ax.plot(known[:, 0], known[:, 1], color="black", linewidth=1, label="true front", zorder=2)
    names = list(labels or ())[:2] or ["objective 1", "objective 2"]
    problem = results[0].problem if results else ""
    title = f"{problem}: each method's front" + (f" (objectives 1 and 2 of {objectives})" if objectives > 2 else "")
    ax.set_xlabel(names[0])
    ax.set_ylabel(names[1])
    ax.set_title(title)
    _legend_beside(ax)


def plot_score_distribution(ax: Any, result: Plottable) -> None:
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


def plot_bands(ax: Any, curves: Mapping[str, Sequence[np.ndarray]], optimum: float | None = None) -> None:
    """Median and interquartile band of best-so-far curves, one per label, by the same `stats.quantiles` as
    the bench table, so a line ends at the table's median; a short run keeps its last value."""
    for label, found in curves.items():
        found = [c for c in found if c.size]
        if not found:
            continue
        length = max(c.size for c in found)
        padded = np.array([np.pad(c, (0, length - c.size), mode="edge") for c in found])
        low, median, high = np.array([quantiles(column, [0.25, 0.5, 0.75]) for column in padded.T]).T
        x = np.arange(1, length + 1)
        ax.plot(x, median, label=f"{label}: median, IQR shaded (n={len(found)})")
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
            curve = np.array(row.get("best_so_far") or [], dtype=float)
            # nothing feasible yet (None): the worst value, as the statistics count a run without a feasible one
            curve[np.isnan(curve)] = worst(row.get("direction", "min"))
            curves.setdefault(f"{row['label']}: {row['method']}", []).append(curve)
    return curves


def plot_ecdf(ax: Any, curves: Mapping[str, Sequence[np.ndarray]], targets: np.ndarray, direction: str) -> None:
    """Fixed-target ECDF per label: the share of (run, target) pairs reached after each evaluation."""
    from llmopt.core.stats import ecdf

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
    from llmopt.core.stats import log_targets

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
        best = optimum if optimum is not None else min(finals, key=lambda v: to_loss(v, direction)) if finals else 0.0
        start = float(np.median(starts)) if starts else best
        plot_ecdf(right, curves, log_targets(start, best, direction), direction)
    path = Path(path)
    fig.savefig(path, dpi=100)
    return path


def figure_for(result: Plottable, baselines: Sequence[Plottable] = (), optimum: float | None = None) -> Any:
    """A new figure with the convergence plot of `result` (what `Result.plot()` returns)."""
    import matplotlib.pyplot as plt  # pyplot, so notebooks show it inline

    optimum = optimum if optimum is not None else result.optimum
    if several(result):  # each front beside the hypervolume against evaluations
        fig, (left, right) = plt.subplots(1, 2, figsize=(15, 4.5), layout="constrained")
        plot_front(left, [result, *baselines])  # type: ignore[list-item]
        plot_convergence(right, result, baselines, optimum)
        return fig
    fig, ax = plt.subplots(figsize=(8, 4.5), layout="constrained")
    plot_convergence(ax, result, baselines, optimum)
    return fig


def report_figure(results: Sequence[Plottable], table: str, path: str | Path) -> Path:
    """A PNG summary of a run: convergence against the baselines above the comparison table."""
    lines = table.count("\n") + 1
    fronts = several(results[0])  # with several objectives, each front beside the hypervolume
    fig = _new_figure(figsize=(16 if fronts else 11, 4.5 + 0.16 * lines))
    grid = fig.add_gridspec(2, 2 if fronts else 1, height_ratios=[4.5, 0.3 + 0.16 * lines])
    if fronts:
        plot_front(fig.add_subplot(grid[0, 0]), results)  # type: ignore[arg-type]
    top, bottom = fig.add_subplot(grid[0, -1]), fig.add_subplot(grid[1, :])
    plot_convergence(top, results[0], list(results[1:]), results[0].optimum)
    bottom.axis("off")
    bottom.text(0.0, 1.0, table, family="monospace", fontsize=8, va="top")
    path = Path(path)
    fig.savefig(path, dpi=110)
    return path


def plot_run(problem: Any, results: Sequence[Plottable], path: str | Path) -> Path:
    """Convergence of the first result against the rest; tours too when the problem can draw; with several
    objectives, each method's front (and the true one where known) beside the hypervolume."""
    if problem.directions is not None:
        return _plot_fronts(problem, results, path)
    opro, baselines = results[0], list(results[1:])
    drawable = problem.drawable and opro.best_solution is not None
    rounds = any(result.side_by_side for result in results)
    panels = (2 if drawable else 0) + 1 + rounds
    fig = _new_figure(figsize=(8 * panels if panels > 1 else 8, 4.8))
    axes = fig.subplots(1, panels, squeeze=False)
    plot_convergence(axes[0][2 if drawable else 0], opro, baselines, problem.optimum())
    if rounds:
        plot_rounds(axes[0][-1], results, problem.optimum())
    if drawable:
        problem.draw(axes[0][0], opro.best_solution, f"{opro.method}: {opro.best_value:.6g}")
        # only a baseline with a value and a solution to draw can be the best of the others
        scored = [(b.best_value, b) for b in baselines if b.best_value is not None and b.best_solution is not None]
        if scored:
            value, best = min(scored, key=lambda pair: to_loss(pair[0], problem.direction))
            problem.draw(
                axes[0][1], best.best_solution, f"best of the others: {best.method} ({best.kind}), {value:.6g}"
            )
    path = Path(path)
    fig.savefig(path, dpi=110)
    return path


def _plot_fronts(problem: Any, results: Sequence[Plottable], path: str | Path) -> Path:
    """`plot_run` of a problem with several objectives: the fronts, the hypervolume against evaluations (and
    against rounds when some method evaluated side by side), the true front's hypervolume as the optimum."""
    rounds = any(result.side_by_side for result in results)
    fig = _new_figure(figsize=(8 * (2 + rounds), 4.8))
    axes = fig.subplots(1, 2 + rounds, squeeze=False)[0]
    plot_front(axes[0], results, problem.true_front(), problem.labels())  # type: ignore[arg-type]
    plot_convergence(axes[1], results[0], list(results[1:]), problem.optimum())
    if rounds:
        plot_rounds(axes[2], results, problem.optimum())
    path = Path(path)
    fig.savefig(path, dpi=110)
    return path


if not TYPE_CHECKING:  # so that a type checker still flags a name this module does not have

    def __getattr__(name: str) -> Any:
        """`Result`, this Protocol's name before 0.6 (the dataclass's name too): `Plottable`, with a warning."""
        if name == "Result":
            import warnings

            warnings.warn("llmopt.report.plots.Result is now Plottable", DeprecationWarning, stacklevel=2)
            return Plottable
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
