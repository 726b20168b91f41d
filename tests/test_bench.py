"""Multi-seed experiments through local processes and a Dask LocalCluster, with the embedded model."""

from __future__ import annotations

import pytest

import json
import math
import subprocess
import sys
from pathlib import Path

from llmopt.bench import PAPER_GRID, make_jobs, summary_table

ROOT = Path(__file__).resolve().parents[1]
OPRO = {"steps": 1, "proposals": 2, "initial": 3, "temperature": 1.0, "answer_tokens": 32, "max_evals": None,
        "target": None, "patience": None, "use_grammar": True}


def bench(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "llmopt.cli", "bench", *args], capture_output=True, text=True,
                          cwd=ROOT, timeout=1200)


def test_paper_grid_jobs() -> None:
    jobs = make_jobs("linear-regression", {"points": 50}, ["opro", "random-search"], 2, OPRO, {}, paper_grid=True)
    assert len(jobs) == len(PAPER_GRID) * 2 * 2
    assert {(j.options["w_true"], j.options["b_true"]) for j in jobs} == {(float(w), float(b)) for w, b in PAPER_GRID}


def test_summary_table_counts_seeds_reaching_the_target() -> None:
    common = {"label": "p", "method": "opro", "kind": "opro", "budget": 9, "target": 1.0, "direction": "min"}
    rows = [{**common, "best_value": 1.0, "reached": True, "evals_to_target": 4, "steps_to_target": 1, "n_evals": 5},
            {**common, "best_value": 3.0, "reached": False, "evals_to_target": None, "steps_to_target": None,
             "n_evals": 7}]
    table = summary_table(rows)
    assert "1/2" in table and "2 ± 1.4" in table and table.splitlines()[2].split()[-1] == "9"


@pytest.mark.slow
def test_bench_linear_regression_in_processes() -> None:
    done = bench("linear-regression", "--seeds", "2", "--steps", "1", "--proposals", "2", "--json")
    assert done.returncode == 0, done.stderr
    runs = json.loads(done.stdout)["runs"]
    assert {r["method"] for r in runs} == {"opro", "least-squares", "nelder-mead", "powell", "differential-evolution",
                                           "dual-annealing", "cma-es", "random-search"}
    assert {r["seed"] for r in runs} == {0, 1}
    ls = [r for r in runs if r["method"] == "least-squares"]
    assert all(r["reached"] and r["kind"] == "reference" for r in ls)
    assert {r["budget"] for r in runs} == {5 + 1 * 2}
    assert all(r["n_evals"] <= 5 + 1 * 2 for r in runs)
    assert [r["n_evals"] for r in runs if r["method"] == "random-search"] == [7, 7]


@pytest.mark.slow
def test_bench_on_a_dask_local_cluster() -> None:
    from distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        done = bench("sphere", "--seeds", "2", "--steps", "1", "--proposals", "2", "--dask",
                     cluster.scheduler_address, "--methods", "opro", "random-search", "powell")
        assert done.returncode == 0, done.stderr
        lines = done.stdout.splitlines()
        assert lines[0].split()[:2] == ["problem", "method"]
        assert {line.split()[1] for line in lines[2:]} == {"opro", "random-search", "powell"}


def test_unreachable_dask_scheduler_is_a_usage_error() -> None:
    done = bench("sphere", "--seeds", "1", "--steps", "1", "--dask", "tcp://127.0.0.1:9")
    assert done.returncode == 2 and "Dask scheduler" in done.stderr


def test_bench_plot_draws_bands_and_the_ecdf(tmp_path: Path) -> None:
    figure = tmp_path / "bench.png"
    done = bench("sphere", "--seeds", "3", "--steps", "2", "--methods", "random-search", "powell", "--workers", "1",
                 "--plot", str(figure))
    assert done.returncode == 0, done.stderr
    assert figure.read_bytes()[:4] == b"\x89PNG" and figure.stat().st_size > 20_000


@pytest.mark.slow
def test_bench_gives_each_ablation_its_statistics_against_opro() -> None:
    methods = ["opro", "opro-no-history", "opro-no-scores", "opro-shuffled-scores", "random-search"]
    done = bench("linear-regression", "--seeds", "3", "--steps", "1", "--proposals", "2", "--methods", *methods,
                 "--json")
    assert done.returncode == 0, done.stderr
    payload = json.loads(done.stdout)
    summary = {s["method"]: s for s in payload["summary"]}
    assert list(summary) == methods and all(s["runs"] == 3 for s in summary.values())
    for name, s in summary.items():
        assert {"median", "q1", "q3", "median_ci95", "success_rate", "ert"} <= set(s)
        assert math.isnan(s["p_vs_opro"]) is (name == "opro")  # every other method is tested against OPRO
    assert {r["kind"] for r in payload["runs"] if r["method"].startswith("opro-")} == {"ablation"}


def test_a_run_that_found_nothing_ranks_last_instead_of_vanishing() -> None:
    from llmopt.bench import summarize

    def row(method: str, best: float | None) -> dict:
        return {"label": "p", "method": method, "kind": "black-box", "budget": 9, "best_value": best,
                "reached": False, "evals_to_target": None, "steps_to_target": None, "n_evals": 9,
                "direction": "min", "target": None}

    rows = [row("opro", 5.0), row("opro", 6.0), row("opro", 7.0), row("rs", 1.0), row("rs", None), row("rs", None)]
    opro, rs = summarize(rows)
    assert rs["runs"] == 3 and rs["median"] == float("inf") and rs["q1"] == 1.0
    assert rs["success_rate"] is None and rs["ert"] is None  # no target, so no success to count
    assert opro["median"] == 6.0 and math.isnan(opro["p_vs_opro"]) and 0 < rs["p_vs_opro"] <= 1
