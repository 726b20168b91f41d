"""Figures: convergence, score distribution, seed bands, Result.plot, and `llmopt report` on a real run."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import matplotlib
import pytest

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from llmopt.core.result import Result, Trial  # noqa: E402
from llmopt.report.plots import plot_bands, plot_score_distribution  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def run_with(values: list[float], method: str = "opro") -> Result:
    result = Result(method, "p", "min")
    for i, v in enumerate(values):
        result.add(Trial(step=i // 2, status="ok", value=v))
    return result


def test_seed_bands_and_distribution_draw() -> None:
    fig, (left, right) = plt.subplots(1, 2)
    runs = {"opro": [run_with([5, 4, 3]), run_with([6, 2])], "random": [run_with([9, 8, 7, 1])]}
    plot_bands(left, {method: [r.best_so_far() for r in results] for method, results in runs.items()}, optimum=0.0)
    plot_score_distribution(right, run_with([5, 7, 3, 4, 2, 2]))
    assert len(left.lines) == 3 and len(left.collections) == 2
    line = left.lines[0].get_ydata()
    assert np.allclose(line, [5.5, 3.0, 2.5])
    assert right.get_xlabel() == "step"
    plt.close(fig)


def test_result_plot_returns_a_figure() -> None:
    fig = run_with([3, 2, 1]).plot(baselines=[run_with([1.5], "nelder-mead")], optimum=1.0)
    assert fig.axes[0].get_title() == "p: best so far against evaluations"
    plt.close(fig)


@pytest.mark.slow
def test_report_on_a_real_run_directory(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "llmopt.cli",
            "run",
            "linear-regression",
            "--steps",
            "1",
            "--proposals",
            "3",
            "--out",
            str(run_dir),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=900,
    )
    assert done.returncode == 0, done.stderr
    report = subprocess.run(
        [sys.executable, "-m", "llmopt.cli", "report", str(run_dir)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )
    assert report.returncode == 0, report.stderr
    assert report.stdout.splitlines()[2].startswith("opro") and "nelder-mead" in report.stdout
    png = run_dir / "report.png"
    assert png.read_bytes()[:4] == b"\x89PNG" and png.stat().st_size > 20_000
    missing = subprocess.run(
        [sys.executable, "-m", "llmopt.cli", "report", str(tmp_path)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )
    assert missing.returncode == 2 and "no results.json" in missing.stderr


def test_bands_use_a_log_scale_only_for_positive_values_spanning_decades() -> None:
    from llmopt.report.plots import plot_bands

    fig, (wide, narrow, signed) = plt.subplots(1, 3)
    plot_bands(wide, {"a": [np.array([5000.0, 40.0, 0.3])]})
    plot_bands(narrow, {"a": [np.array([50.0, 40.0, 30.0])]})
    plot_bands(signed, {"a": [np.array([5000.0, -1.0])]})
    assert (wide.get_yscale(), narrow.get_yscale(), signed.get_yscale()) == ("log", "linear", "linear")
    plt.close(fig)


def test_the_bench_figure_has_a_row_of_panels_per_task_with_its_own_optimum(tmp_path: Path) -> None:
    from llmopt.report.plots import bench_figure

    def rows(label: str, optimum: float) -> list[dict]:
        return [
            {
                "label": label,
                "method": m,
                "kind": "black-box",
                "direction": "min",
                "optimum": optimum,
                "best_so_far": [optimum + 9, optimum + 3, optimum + 1],
            }
            for m in ("a", "b")
        ]

    one = bench_figure(rows("n=10", 100.0), tmp_path / "one.png")
    two = bench_figure(rows("n=10", 100.0) + rows("n=20", 500.0), tmp_path / "two.png")
    height = {path.name: plt.imread(path).shape[0] for path in (one, two)}
    assert height["two.png"] == 2 * height["one.png"] == 900


def test_the_bench_figure_draws_the_statistic_the_bench_table_prints() -> None:
    from llmopt.bench import summarize
    from llmopt.report.plots import bench_curves

    def row(seed: int, curve: list[float]) -> dict:
        return {
            "label": "sphere",
            "method": "powell",
            "base_method": "powell",
            "under_study": False,
            "kind": "black-box",
            "direction": "min",
            "optimum": 0.0,
            "budget": 3,
            "target": None,
            "best_value": curve[-1],
            "best_so_far": curve,
            "reached": False,
            "evals_to_target": None,
            "steps_to_target": None,
            "n_evals": len(curve),
            "seed": seed,
        }

    rows = [row(0, [9.0, 4.0, 0.6164]), row(1, [9.0, 7.0, 5.58])]
    median = summarize(rows)[0]["median"]
    fig, ax = plt.subplots()
    plot_bands(ax, {k.partition(": ")[2]: v for k, v in bench_curves(rows).items()})
    line = ax.get_lines()[0]
    assert line.get_ydata()[-1] == pytest.approx(median) == pytest.approx(3.0982)
    assert "median" in line.get_label() and "IQR" in line.get_label()
    plt.close(fig)


def of_kind(method: str, kind: str, values: list[float]) -> Result:
    result = run_with(values, method)
    result.kind = kind  # type: ignore[assignment]
    return result


def solved(method: str, value: float) -> Result:
    result = Result(method, "p", "min", kind="reference", best_value=value)
    return result


def test_convergence_draws_every_method_against_evaluations_each_kind_in_its_style() -> None:
    fig, ax = plt.subplots()
    from llmopt.report.plots import plot_convergence

    others = [
        of_kind("powell", "black-box", [9, 4, 1]),
        of_kind("opro-no-history", "ablation", [8, 7]),
        solved("least-squares", 1.0),
    ]
    plot_convergence(ax, of_kind("opro", "model", [5, 3, 2, 2]), others, optimum=1.0)
    lines = {line.get_label(): line for line in ax.get_lines()}
    assert ax.get_xlabel() == "evaluations"
    styles = {
        lines[f"{m} ({k})"].get_linestyle()
        for m, k in (("opro", "model"), ("opro-no-history", "ablation"), ("powell", "black-box"))
    }
    assert len(styles) == 3, "each kind has its own line style"
    powell = lines["powell (black-box)"]
    assert list(powell.get_xdata()) == [1, 2, 3], "a black-box row is drawn against its evaluations"
    # Powell ends on the optimum: it is drawn above that line and ends in a marker of its own
    assert powell.get_zorder() > lines["optimum = least-squares (reference)"].get_zorder()
    assert powell.get_marker() not in ("None", None, "") and powell.get_marker() != lines["opro (model)"].get_marker()
    plt.close(fig)


def test_references_at_one_value_share_one_labelled_line() -> None:
    fig, ax = plt.subplots()
    from llmopt.report.plots import plot_convergence

    names = ["nearest-neighbour", "farthest-insertion", "christofides", "lkh", "held-karp"]
    plot_convergence(
        ax, of_kind("opro", "model", [3100, 3050]), [solved(n, 2992.0) for n in names] + [solved("greedy", 3010.0)]
    )
    labels = [line.get_label() for line in ax.get_lines()]
    assert f"{', '.join(names)} (references)" in labels and "greedy (reference)" in labels
    assert sum("reference" in label for label in labels) == 2
    plt.close(fig)


def test_the_tour_panel_of_a_reference_says_reference(tmp_path: Path, build_problem, monkeypatch) -> None:
    from llmopt.report.plots import plot_run

    problem = build_problem("tsp")
    tour = tuple(range(problem.n))
    opro = Result("opro", "tsp", "min", best_solution=tour, best_value=problem.length(tour))
    lkh = Result("lkh", "tsp", "min", kind="reference", best_solution=tour, best_value=problem.length(tour))
    titles: list[str] = []
    original = type(problem).draw
    monkeypatch.setattr(
        type(problem),
        "draw",
        lambda self, ax, solution, title: (titles.append(title), original(self, ax, solution, title)),
    )
    plot_run(problem, [opro, lkh], tmp_path / "t.png")
    assert any("lkh (reference)" in t for t in titles) and not any("baseline" in t for t in titles)


def test_the_best_of_the_others_is_the_best_scored_baseline_with_a_tour(
    tmp_path: Path, build_problem, monkeypatch
) -> None:
    from llmopt.report.plots import plot_run

    problem = build_problem("tsp")
    tour = tuple(range(problem.n))
    length = problem.length(tour)
    opro = Result("opro", "tsp", "min", best_solution=tour, best_value=length)
    others = [
        Result("worse", "tsp", "min", best_solution=tour, best_value=length + 5),
        Result("unscored", "tsp", "min", best_solution=tour),  # a tour but no value: never the best
        Result("tourless", "tsp", "min", kind="reference", best_value=length - 9),  # nothing to draw
        Result("better", "tsp", "min", best_solution=tour, best_value=length + 1),
    ]
    titles: list[str] = []
    monkeypatch.setattr(type(problem), "draw", lambda self, ax, solution, title: titles.append(title))
    plot_run(problem, [opro, *others], tmp_path / "t.png")
    assert titles[1] == f"best of the others: better (model), {length + 1:.6g}"


def test_a_tour_on_an_explicit_matrix_says_its_positions_are_invented(tmp_path: Path) -> None:
    from llmopt.contract.registry import build_problem

    path = tmp_path / "m.tsp"
    path.write_text(
        "NAME: m\nTYPE: TSP\nDIMENSION: 4\nEDGE_WEIGHT_TYPE: EXPLICIT\nEDGE_WEIGHT_FORMAT: FULL_MATRIX\n"
        "EDGE_WEIGHT_SECTION\n0 1 2 1\n1 0 1 2\n2 1 0 1\n1 2 1 0\nEOF\n"
    )
    explicit = build_problem("tsp", {"instance": str(path)})
    fig, (ax, plain) = plt.subplots(1, 2)
    explicit.draw(ax, (0, 1, 2, 3), "t")
    assert "invented" in ax.get_xlabel()
    build_problem("tsp", {"cities": 5}).draw(plain, (0, 1, 2, 3, 4), "t")
    assert plain.get_xlabel() == ""
    plt.close(fig)


def crowded(problem) -> list[Result]:
    """A run beside 30 other methods and seven references at the optimum: a legend taller than its axes in
    one column, and a label longer than a line."""
    rng = np.random.default_rng(0)
    tour = tuple(range(problem.n))
    runs = [of_kind(f"method-number-{i}", "black-box", list(700 + 100 * rng.random(20))) for i in range(31)]
    for result in runs[:2]:
        result.best_solution, result.best_value = tour, problem.length(tour)
    names = [
        "nearest-neighbour",
        "farthest-insertion",
        "christofides",
        "2-opt+or-opt",
        "lkh",
        "held-karp",
        "integer-programme",
    ]
    return runs + [solved(name, 600.0) for name in names]


def test_every_legend_entry_lies_within_the_figure_however_many_methods_ran(
    tmp_path: Path, build_problem, monkeypatch
) -> None:
    import llmopt.report.plots as plots

    made: list = []
    new_figure = plots._new_figure
    monkeypatch.setattr(plots, "_new_figure", lambda **kwargs: made.append(new_figure(**kwargs)) or made[-1])
    problem = build_problem("tsp")
    results = crowded(problem)
    plots.plot_run(problem, results, tmp_path / "plot.png")  # --plot
    plots.report_figure(results, "table\n" * 40, tmp_path / "report.png")  # llmopt report
    made.append(results[0].plot(baselines=results[1:], optimum=600.0))  # Result.plot in a notebook
    assert len(made) == 3
    for fig in made:
        fig.draw_without_rendering()  # the layout as it is saved
        ((ax, legend),) = [(ax, ax.get_legend()) for ax in fig.axes if ax.get_legend()]
        box, page = legend.get_window_extent(), fig.bbox
        assert page.x0 <= box.x0 and box.x1 <= page.x1 and page.y0 <= box.y0 and box.y1 <= page.y1, (
            f"legend {box.bounds} outside the figure {page.bounds}"
        )
        assert len(legend.get_texts()) == len(ax.get_legend_handles_labels()[1]) > 31, "an entry per line"
    plt.close(made[-1])


def test_the_figures_protocol_is_plottable_and_its_old_name_warns() -> None:
    import llmopt.report.plots as plots

    assert "Result" not in vars(plots), "one name, one thing: Result is the dataclass"
    with pytest.warns(DeprecationWarning, match="Plottable"):
        assert plots.Result is plots.Plottable
