"""Figures: convergence, score distribution, seed bands, Result.plot, and `llmopt report` on a real run."""

from __future__ import annotations

import pytest

import subprocess
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from llmopt.plots import plot_bands, plot_score_distribution  # noqa: E402
from llmopt.result import Result, Trial  # noqa: E402

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
    assert fig.axes[0].get_title() == "p: convergence"
    plt.close(fig)


@pytest.mark.slow
def test_report_on_a_real_run_directory(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    done = subprocess.run([sys.executable, "-m", "llmopt.cli", "run", "linear-regression", "--steps", "1",
                           "--proposals", "3", "--out", str(run_dir)], capture_output=True, text=True, cwd=ROOT,
                          timeout=900)
    assert done.returncode == 0, done.stderr
    report = subprocess.run([sys.executable, "-m", "llmopt.cli", "report", str(run_dir)], capture_output=True,
                            text=True, cwd=ROOT, timeout=300)
    assert report.returncode == 0, report.stderr
    assert report.stdout.splitlines()[2].startswith("opro") and "nelder-mead" in report.stdout
    png = run_dir / "report.png"
    assert png.read_bytes()[:4] == b"\x89PNG" and png.stat().st_size > 20_000
    missing = subprocess.run([sys.executable, "-m", "llmopt.cli", "report", str(tmp_path)], capture_output=True,
                             text=True, cwd=ROOT, timeout=300)
    assert missing.returncode == 2 and "no results.json" in missing.stderr


def test_bands_use_a_log_scale_only_for_positive_values_spanning_decades() -> None:
    from llmopt.plots import plot_bands

    fig, (wide, narrow, signed) = plt.subplots(1, 3)
    plot_bands(wide, {"a": [np.array([5000.0, 40.0, 0.3])]})
    plot_bands(narrow, {"a": [np.array([50.0, 40.0, 30.0])]})
    plot_bands(signed, {"a": [np.array([5000.0, -1.0])]})
    assert (wide.get_yscale(), narrow.get_yscale(), signed.get_yscale()) == ("log", "linear", "linear")
    plt.close(fig)


def test_the_bench_figure_has_a_row_of_panels_per_task_with_its_own_optimum(tmp_path: Path) -> None:
    from llmopt.plots import bench_figure

    def rows(label: str, optimum: float) -> list[dict]:
        return [{"label": label, "method": m, "kind": "black-box", "direction": "min", "optimum": optimum,
                 "best_so_far": [optimum + 9, optimum + 3, optimum + 1]} for m in ("a", "b")]

    one = bench_figure(rows("n=10", 100.0), tmp_path / "one.png")
    two = bench_figure(rows("n=10", 100.0) + rows("n=20", 500.0), tmp_path / "two.png")
    height = {path.name: plt.imread(path).shape[0] for path in (one, two)}
    assert height["two.png"] == 2 * height["one.png"] == 900
