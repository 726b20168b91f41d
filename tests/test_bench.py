"""Multi-seed experiments through local processes and a Dask LocalCluster, with the embedded model."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

from llmopt.bench import make_jobs, paper_table, summarize, summary_table
from llmopt.bench.sweep import Axis
from llmopt.problems.linear_regression import LinearRegression

ROOT = Path(__file__).resolve().parents[1]
OPRO = {
    "steps": 1,
    "proposals": 2,
    "initial": 3,
    "temperature": 1.0,
    "answer_tokens": 32,
    "max_evals": None,
    "target": None,
    "patience": None,
    "use_grammar": True,
}


@pytest.fixture
def stub_url():
    """A stub OpenAI-compatible server (seeded answers, no model): the statistics need no real model."""
    from llmopt.testing.stub_server import StubSettings, serve

    server, url = serve(StubSettings())
    yield url
    server.shutdown()


def bench(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "llmopt.cli", "bench", *args], capture_output=True, text=True, cwd=ROOT, timeout=1200
    )


def test_paper_grid_jobs() -> None:
    grid = LinearRegression.paper_grid
    jobs = make_jobs("linear-regression", {"points": 50}, ["opro", "random-search"], 2, OPRO, {}, grid=grid)
    assert len(grid) == 7 and len(jobs) == 7 * 2 * 2
    assert {(j.options["w_true"], j.options["b_true"]) for j in jobs} == {
        (15.0, 14.0),
        (17.0, 17.0),
        (16.0, 10.0),
        (3.0, 5.0),
        (25.0, 23.0),
        (2.0, 30.0),
        (36.0, -1.0),
    }
    assert {j.label for j in jobs} == set(grid) and all(j.options["points"] == 50 for j in jobs)


def test_sweeps_vary_the_model_driven_methods_and_run_the_others_once() -> None:
    axes = [
        Axis("temperature", "method", (0.5, 1.5)),
        Axis("proposals", "method", (1, 4)),
        Axis("model", "model", ("local", "qwen@http://127.0.0.1:9/v1")),
    ]
    jobs = make_jobs("sphere", {}, ["opro", "opro-no-scores", "random-search"], 2, OPRO, {"cache": None}, axes=axes)
    names = {j.name for j in jobs}
    assert len([n for n in names if n.startswith("opro[")]) == 8 and "random-search" in names
    assert len(jobs) == 2 * (8 + 8 + 1)
    one = next(j for j in jobs if j.name == "opro[temperature=1.5, proposals=1, model=qwen]")
    assert one.settings["temperature"] == 1.5 and one.settings["proposals"] == 1
    assert one.model == {"cache": None, "model": "qwen", "base_url": "http://127.0.0.1:9/v1", "model_path": None}
    # the same evaluation budget at every number of proposals: 3 + 1 x 2 = 5
    assert {j.settings["max_evals"] for j in jobs if j.method != "random-search"} == {5}
    assert {j.settings["steps"] for j in jobs if j.variant.get("proposals") == 1} == {2}
    assert all(j.variant == {} and j.settings == OPRO for j in jobs if j.method == "random-search")


def test_a_sweep_leaves_alone_the_methods_that_do_not_read_its_setting() -> None:
    axes = [Axis("order", "method", ("ascending", "descending")), Axis("top-k", "method", (3, 10))]
    jobs = make_jobs("sphere", {}, ["opro", "opro-no-scores", "opro-no-history"], 1, OPRO, {}, axes=axes)
    names = [j.name for j in jobs]
    assert len([n for n in names if n.startswith("opro[")]) == 4
    # no-scores fixes the order (random) and no-history the number shown (none)
    assert {n for n in names if n.startswith("opro-no-scores")} == {
        "opro-no-scores[top-k=3]",
        "opro-no-scores[top-k=10]",
    }
    assert {n for n in names if n.startswith("opro-no-history")} == {
        "opro-no-history[order=ascending]",
        "opro-no-history[order=descending]",
    }


def test_a_bad_task_or_method_is_refused_before_anything_runs() -> None:
    from llmopt.contract.problem import UsageError

    with pytest.raises(UsageError, match="cities"):
        make_jobs("tsp", {"cities": 10}, ["opro"], 1, OPRO, {}, axes=[Axis("cities", "problem", (1, 5), "cities")])
    with pytest.raises(UsageError, match="unknown method held-karp for tsp\\[cities=20\\]"):
        make_jobs(
            "tsp", {"cities": 10}, ["held-karp"], 1, OPRO, {}, axes=[Axis("cities", "problem", (8, 20), "cities")]
        )
    with pytest.raises(UsageError, match="--target is one value"):
        make_jobs("tsp", {"cities": 10}, ["opro"], 1, OPRO, {}, 5.0, axes=[Axis("cities", "problem", (5, 6), "cities")])
    from llmopt.problems.tsp.problem import TSP

    with pytest.raises(UsageError, match="--paper-grid already sets it"):
        make_jobs(
            "tsp",
            {"cities": 10},
            ["opro"],
            1,
            OPRO,
            {},
            grid=TSP.paper_grid,
            axes=[Axis("cities", "problem", (5, 6), "cities")],
        )


def test_a_sweep_of_a_problem_option_changes_the_task_of_every_method() -> None:
    jobs = make_jobs(
        "tsp",
        {"cities": 10},
        ["opro", "random-orderings"],
        1,
        OPRO,
        {},
        axes=[Axis("cities", "problem", (5, 7), "cities")],
    )
    assert {(j.label, j.name, j.options["cities"]) for j in jobs} == {
        ("tsp[cities=5]", "opro", 5),
        ("tsp[cities=5]", "random-orderings", 5),
        ("tsp[cities=7]", "opro", 7),
        ("tsp[cities=7]", "random-orderings", 7),
    }


def _row(method: str, best: float, base: str | None = None, **extra) -> dict:
    return {
        "label": "p",
        "method": method,
        "base_method": base or method,
        "kind": "model" if base else "black-box",
        "under_study": base == "opro",
        "budget": 9,
        "best_value": best,
        "reached": False,
        "evals_to_target": None,
        "steps_to_target": None,
        "n_evals": 9,
        "direction": "min",
        "target": None,
        **extra,
    }


def test_with_a_sweep_methods_are_tested_against_the_first_opro_row() -> None:
    rows = (
        [_row("opro[temperature=0.5]", v, "opro") for v in (1.0, 2.0, 3.0)]
        + [_row("opro[temperature=1.5]", v, "opro") for v in (4.0, 5.0, 6.0)]
        + [_row("rs", v) for v in (7, 8, 9)]
    )
    first, second, rs = summarize(rows)
    assert math.isnan(first["p_vs_opro"]) and first["p_against"] == "opro[temperature=0.5]"
    assert second["p_against"] == rs["p_against"] == "opro[temperature=0.5]"
    assert 0 < second["p_vs_opro"] < 1 and rs["p_vs_opro"] >= second["p_vs_opro"]  # Holm: the smaller raw p first


def test_paper_table_reports_gap_steps_and_solutions_to_the_target() -> None:
    hit = {"reached": True, "target": 10.0, "optimum": 10.0}
    rows = [
        _row("opro", 10.0, "opro", **hit, evals_to_target=12, steps_to_target=3),
        _row("opro", 10.0, "opro", **hit, evals_to_target=20, steps_to_target=5),
        _row("opro", 15.0, "opro", **{**hit, "reached": False}),
    ]
    line = paper_table(rows).splitlines()[2]
    assert "16.67 ± 29" in line  # gaps 0, 0, 50 %
    assert "4 ± 1.4" in line and "16 ± 5.7" in line and line.rstrip().endswith("2/3")


def test_summary_table_counts_seeds_reaching_the_target() -> None:
    common = {"label": "p", "method": "opro", "kind": "opro", "budget": 9, "target": 1.0, "direction": "min"}
    rows = [
        {**common, "best_value": 1.0, "reached": True, "evals_to_target": 4, "steps_to_target": 1, "n_evals": 5},
        {**common, "best_value": 3.0, "reached": False, "evals_to_target": None, "steps_to_target": None, "n_evals": 7},
    ]
    table = summary_table(rows)
    assert "1/2" in table and "2 ± 1.4" in table and table.splitlines()[2].split()[-1] == "9"


@pytest.mark.slow
def test_bench_linear_regression_in_processes() -> None:
    done = bench("linear-regression", "--seeds", "2", "--steps", "1", "--proposals", "2", "--json")
    assert done.returncode == 0, done.stderr
    runs = json.loads(done.stdout)["runs"]
    assert {r["method"] for r in runs} == {
        "opro",
        "least-squares",
        "powell",
        "gp-bo",
        "nevergrad-ngopt",
        "optuna-tpe",
        "nelder-mead",
        "random-search",
    }
    assert {r["seed"] for r in runs} == {0, 1}
    ls = [r for r in runs if r["method"] == "least-squares"]
    assert all(r["reached"] and r["kind"] == "reference" for r in ls)
    assert {r["budget"] for r in runs} == {5 + 1 * 2}
    assert all(r["n_evals"] <= 5 + 1 * 2 for r in runs)
    assert [r["n_evals"] for r in runs if r["method"] == "random-search"] == [7, 7]


@pytest.mark.slow
def test_bench_on_a_dask_local_cluster(stub_url: str) -> None:
    from distributed import LocalCluster

    # the optimizer is the stub server: two Dask workers that each loaded the embedded model would share
    # the two cores, and the test is of the cluster, not of the model
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        done = bench(
            "sphere",
            "--seeds",
            "2",
            "--steps",
            "1",
            "--proposals",
            "2",
            "--dask",
            cluster.scheduler_address,
            "--methods",
            "opro",
            "random-search",
            "powell",
            "--model",
            "stub",
            "--base-url",
            stub_url,
            "--no-cache",
        )
        assert done.returncode == 0, done.stderr
        lines = done.stdout.splitlines()
        assert lines[0].split()[:2] == ["problem", "method"]
        assert {line.split()[1] for line in lines[2:]} == {"opro", "random-search", "powell"}


def test_unreachable_dask_scheduler_is_a_usage_error() -> None:
    done = bench("sphere", "--seeds", "1", "--steps", "1", "--dask", "tcp://127.0.0.1:9")
    assert done.returncode == 2 and "Dask scheduler" in done.stderr


def test_bench_plot_draws_bands_and_the_ecdf(tmp_path: Path) -> None:
    figure = tmp_path / "bench.png"
    done = bench(
        "sphere",
        "--seeds",
        "3",
        "--steps",
        "2",
        "--methods",
        "random-search",
        "powell",
        "--workers",
        "1",
        "--plot",
        str(figure),
    )
    assert done.returncode == 0, done.stderr
    assert figure.read_bytes()[:4] == b"\x89PNG" and figure.stat().st_size > 20_000


@pytest.mark.slow
def test_bench_gives_each_ablation_its_statistics_against_opro(stub_url: str) -> None:
    methods = ["opro", "opro-no-history", "opro-no-scores", "opro-shuffled-scores", "random-search"]
    done = bench(
        "linear-regression",
        "--seeds",
        "3",
        "--steps",
        "1",
        "--proposals",
        "2",
        "--methods",
        *methods,
        "--json",
        "--model",
        "stub",
        "--base-url",
        stub_url,
        "--no-cache",
    )
    assert done.returncode == 0, done.stderr
    payload = json.loads(done.stdout)
    summary = {s["method"]: s for s in payload["summary"]}
    assert list(summary) == methods and all(s["runs"] == 3 for s in summary.values())
    for name, s in summary.items():
        assert {"median", "q1", "q3", "median_ci95", "success_rate", "ert"} <= set(s)
        assert (s["p_vs_opro"] is None) is (
            name == "opro"
        )  # every other method is tested against OPRO (JSON: NaN is null)
    assert {r["kind"] for r in payload["runs"] if r["method"].startswith("opro-")} == {"ablation"}


def test_a_run_that_found_nothing_ranks_last_instead_of_vanishing() -> None:
    from llmopt.bench import summarize

    def row(method: str, best: float | None) -> dict:
        return {
            "label": "p",
            "method": method,
            "base_method": method,
            "under_study": method == "opro",
            "kind": "black-box",
            "budget": 9,
            "best_value": best,
            "reached": False,
            "evals_to_target": None,
            "steps_to_target": None,
            "n_evals": 9,
            "direction": "min",
            "target": None,
        }

    rows = [row("opro", 5.0), row("opro", 6.0), row("opro", 7.0), row("rs", 1.0), row("rs", None), row("rs", None)]
    opro, rs = summarize(rows)
    assert rs["runs"] == 3 and rs["median"] == float("inf") and rs["q1"] == float("inf")
    assert rs["success_rate"] is None and rs["ert"] is None  # no target, so no success to count
    assert opro["median"] == 6.0 and math.isnan(opro["p_vs_opro"]) and 0 < rs["p_vs_opro"] <= 1


@pytest.mark.parametrize(
    "args, message",
    [
        (["sphere", "--vary", "speed=1,2"], "unknown setting 'speed'"),
        (["sphere", "--vary", "temperature=0.5", "--vary", "temperature=1"], "swept once"),
        (["sphere", "--paper-grid"], "sphere has no paper grid; linear-regression, tsp have one"),
        (["sphere", "--models", "local", "--model", "other"], "--models replaces --model"),
        (["sphere", "--models", "local,local"], "listed twice"),
    ],
)
def test_bad_sweeps_are_one_line_usage_errors(args: list[str], message: str) -> None:
    done = bench(*args, "--seeds", "1", "--steps", "1")
    assert done.returncode == 2 and message in done.stderr and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_the_tsp_paper_grid_is_the_papers_sizes_each_with_its_own_default_methods() -> None:
    from llmopt.problems.tsp.problem import TSP

    jobs = make_jobs("tsp", {"cities": 10}, ["nearest-neighbour"], 1, OPRO, {}, grid=TSP.paper_grid)
    assert [(j.label, j.options["cities"]) for j in jobs] == [("n=10", 10), ("n=15", 15), ("n=20", 20), ("n=50", 50)]
    defaults = make_jobs("tsp", {"cities": 10}, None, 1, OPRO, {}, grid=TSP.paper_grid)
    by_task = {label: {j.method for j in defaults if j.label == label} for label in TSP.paper_grid}
    assert "held-karp" in by_task["n=10"] and "held-karp" not in by_task["n=15"]  # Held-Karp stops at 13
    assert all({"opro", "integer-programme", "nearest-neighbour"} <= found for found in by_task.values())


def test_the_tsp_paper_grid_gives_every_size_its_optimum_and_gaps() -> None:
    done = bench(
        "tsp",
        "--paper-grid",
        "--seeds",
        "1",
        "--steps",
        "1",
        "--methods",
        "nearest-neighbour",
        "integer-programme",
        "random-orderings",
        "--workers",
        "1",
    )
    assert done.returncode == 0, done.stderr
    paper = [line.split() for line in done.stdout.split("In the shape of the paper's table:")[1].strip().splitlines()]
    assert {(row[0], row[1]) for row in paper[2:]} == {
        (n, m)
        for n in ("n=10", "n=15", "n=20", "n=50")
        for m in ("nearest-neighbour", "integer-programme", "random-orderings")
    }
    for row in paper[2:]:
        gap = float(row[3])
        assert gap == 0 if row[1] == "integer-programme" else gap > 0  # every size has a proven optimum


@pytest.mark.slow
def test_bench_sweeps_temperature_one_row_each_and_draws_the_figure(tmp_path: Path, stub_url: str) -> None:
    figure = tmp_path / "f.png"
    done = bench(
        "rosenbrock",
        "--seeds",
        "2",
        "--steps",
        "2",
        "--proposals",
        "2",
        "--vary",
        "temperature=0.5,1.5",
        "--methods",
        "opro",
        "random-search",
        "--plot",
        str(figure),
        "--json",
        "--model",
        "stub",
        "--base-url",
        stub_url,
        "--no-cache",
    )
    assert done.returncode == 0, done.stderr
    payload = json.loads(done.stdout)
    summary = {s["method"]: s for s in payload["summary"]}
    assert list(summary) == ["opro[temperature=0.5]", "opro[temperature=1.5]", "random-search"]
    assert all(s["runs"] == 2 for s in summary.values())
    assert summary["opro[temperature=1.5]"]["variant"] == {"temperature": 1.5}
    assert {s["p_against"] for s in summary.values()} == {"opro[temperature=0.5]"}
    assert {r["budget"] for r in payload["runs"]} == {9}
    assert figure.read_bytes()[:4] == b"\x89PNG" and figure.stat().st_size > 20_000


@pytest.mark.slow
def test_two_models_each_a_row_one_of_them_behind_a_real_server(llama_server: str) -> None:
    from llmopt.testing.stub_server import StubSettings, serve

    settings = StubSettings(upstream=llama_server)  # a counting proxy in front of the real server
    server, url = serve(settings)
    try:
        done = bench(
            "linear-regression",
            "--models",
            f"local,smollm2@{url}",
            "--seeds",
            "1",
            "--steps",
            "1",
            "--proposals",
            "2",
            "--methods",
            "opro",
            "random-search",
            "--workers",
            "1",
            "--no-cache",
            "--json",
        )
    finally:
        server.shutdown()
    assert done.returncode == 0, done.stderr
    runs = {r["method"]: r for r in json.loads(done.stdout)["runs"]}
    assert set(runs) == {"opro[model=local]", "opro[model=smollm2]", "random-search"}
    # the server row's model calls, and only those, went through the proxy; the local row's stayed local
    assert settings.requests == runs["opro[model=smollm2]"]["n_llm_calls"] > 0
    assert runs["opro[model=local]"]["n_llm_calls"] > 0
    assert {r["budget"] for r in runs.values()} == {7}


def test_the_paper_grid_prints_a_table_in_the_papers_shape() -> None:
    done = bench(
        "linear-regression",
        "--paper-grid",
        "--seeds",
        "2",
        "--steps",
        "1",
        "--methods",
        "least-squares",
        "random-search",
        "--workers",
        "1",
    )
    assert done.returncode == 0, done.stderr
    paper = done.stdout.split("In the shape of the paper's table:")[1].strip().splitlines()
    assert paper[0].split()[:3] == ["problem", "method", "kind"] and "solutions evaluated to target" in paper[0]
    rows = [line.split() for line in paper[2:]]
    assert len(rows) == 7 * 2 and {r[0] for r in rows} == set(LinearRegression.paper_grid)
    for row in rows:
        if row[1] == "least-squares":  # the exact minimiser: no gap, no count of steps, reached on both seeds
            assert row[3:6] == ["0", "±", "0"] and row[-1] == "2/2"


@pytest.mark.slow
def test_bench_prompt_search_runs_evoprompt_within_the_budget(stub_url: str) -> None:
    # the optimizer and the scorer are the stub server; EvoPrompt on the real model: tests/methods
    done = bench(
        "prompt-search",
        "--methods",
        "opro",
        "evoprompt-ga",
        "evoprompt-de",
        "--seeds",
        "1",
        "--steps",
        "2",
        "--proposals",
        "3",
        "--initial",
        "2",
        "--train-size",
        "2",
        "--test-size",
        "2",
        "--json",
        "--no-cache",
        "--model",
        "stub",
        "--base-url",
        stub_url,
        "--scorer-model",
        "stub",
        "--scorer-base-url",
        stub_url,
    )
    assert done.returncode == 0, done.stderr
    runs = {r["method"]: r for r in json.loads(done.stdout)["runs"]}
    assert set(runs) == {"opro", "evoprompt-ga", "evoprompt-de"}
    for name in ("evoprompt-ga", "evoprompt-de"):
        assert runs[name]["kind"] == "model" and runs[name]["budget"] == 8
        assert 6 <= runs[name]["n_evals"] <= 8  # the pool of six, then children
        assert runs[name]["n_llm_calls"] >= 1


def test_the_exemplars_of_prompt_search_are_swept_as_a_problem_option() -> None:
    from llmopt.bench.sweep import parse_vary
    from llmopt.contract.registry import get_problem

    cls = get_problem("prompt-search")
    options = {o.dest: o.default for o in cls.options} | {"train_size": 3, "test_size": 2}
    jobs = make_jobs(
        "prompt-search",
        options,
        ["opro", "evoprompt-ga"],
        1,
        OPRO,
        {},
        axes=[parse_vary("exemplars=0,3,10", cls.options)],
    )
    assert [(j.label, j.name, j.options["exemplars"]) for j in jobs] == [
        (f"prompt-search[exemplars={n}]", name, n) for n in (0, 3, 10) for name in ("opro", "evoprompt-ga")
    ]


def test_a_bench_says_what_it_will_ask_the_model_and_when_the_model_mostly_failed() -> None:
    from llmopt.testing.stub_server import StubSettings, serve

    settings = StubSettings(failure_rate=1.0, faults=("503",))
    server, url = serve(settings)
    try:
        done = bench(
            "linear-regression",
            "--seeds",
            "1",
            "--steps",
            "1",
            "--proposals",
            "3",
            "--methods",
            "opro",
            "opro-no-history",
            "random-search",
            "--model",
            "stub",
            "--base-url",
            url,
            "--no-cache",
            "--workers",
            "1",
            "--max-retries",
            "0",
        )
    finally:
        server.shutdown()
    assert "bench: 3 jobs, 2 of them sampling the model: at most 6 model answers" in done.stderr
    assert done.returncode == 3, done.stderr
    failed = [line for line in done.stdout.splitlines() if line.startswith("NOT A COMPARISON: ")]
    assert len(failed) == 2 and "opro (seed 0): 1 of 1 model requests failed" in failed[0]


def test_the_bench_applies_the_same_not_a_comparison_rule() -> None:
    from llmopt.bench import model_notes
    from llmopt.core.result import Counts

    crashed = {
        "method": "opro",
        "seed": 0,
        "kind": "model",
        "stop_reason": "crashed: ValueError: x",
        "counts": Counts(evals=3).__dict__,
    }
    failed = {
        "method": "powell",
        "seed": 0,
        "kind": "black-box",
        "stop_reason": "every evaluation failed",
        "counts": Counts(failed_evals=4).__dict__,
    }
    notes = model_notes([crashed, failed])
    assert notes["model_failed"] == ["opro (seed 0) crashed: ValueError: x; its row shows where it stood, not a result"]
    assert notes["evaluations_failed"].startswith("no method has a result")
    assert "evaluations_failed" not in model_notes([{**failed, "counts": Counts(evals=2, failed_evals=4).__dict__}])


ZDT1_BENCH = ["bench", "zdt1", "--dim", "3", "--seeds", "2", "--steps", "1", "--proposals", "2"]
ZDT1_BENCH += ["--methods", "random-search", "optuna-nsga2"]  # black-box only: no model


def test_a_bench_with_two_objectives_says_its_values_are_hypervolumes_against_one_reference_point(capsys) -> None:
    import jsonschema

    from llmopt.cli import main

    assert main([*ZDT1_BENCH, "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    jsonschema.validate(payload, json.loads((ROOT / "docs" / "output.schema.json").read_text()))
    assert len(payload["runs"]) == 4
    assert all(r["reference"] == [11.0, 11.0] and r["directions"] == ["min", "min"] for r in payload["runs"])
    assert all(s["reference"] == [11.0, 11.0] for s in payload["summary"])
    lines = summary_table(payload["runs"]).splitlines()
    assert lines[0] == "hypervolume against the reference point (11, 11), the same for every method and seed"
    assert "hypervolume median [IQR]" in lines[1]


def test_the_bench_table_of_one_objective_names_no_reference_point() -> None:
    table = summary_table([_row("rs", v, directions=None, reference=None) for v in (1.0, 2.0)])
    assert "reference point" not in table and "hypervolume" not in table and table.startswith("problem")


def test_runs_of_one_task_measured_against_different_reference_points_are_refused() -> None:
    rows = [
        _row("rs", 5.0, direction="max", reference=[11.0, 11.0]),
        _row("rs", 6.0, direction="max", reference=[12, 11]),
    ]
    with pytest.raises(ValueError, match=r"the runs of p are measured against different reference points"):
        summary_table(rows)
    other = [rows[0], {**rows[1], "label": "q"}]  # two tasks, each its own point: each is stated
    lines = summary_table(other).splitlines()
    assert lines[:2] == [
        "p: hypervolume against the reference point (11, 11), the same for every method and seed",
        "q: hypervolume against the reference point (12, 11), the same for every method and seed",
    ]


def test_with_two_objectives_the_default_target_is_the_true_fronts_hypervolume_and_target_sets_another() -> None:
    from llmopt.bench import run_job
    from llmopt.problems.multiobjective import Zdt1

    settings = {**OPRO, "steps": 2, "proposals": 4}
    (default,) = [run_job(j) for j in make_jobs("zdt1", {"dim": 3}, ["random-search"], 1, settings, {})]
    assert default["target"] == Zdt1(dim=3).optimum() and not default["reached"], "the true front: rarely reached"
    curve = default["best_so_far"]  # the hypervolume after each evaluation
    target = (curve[0] + curve[-1]) / 2
    assert curve[0] < target < curve[-1]
    (given,) = [run_job(j) for j in make_jobs("zdt1", {"dim": 3}, ["random-search"], 1, settings, {}, target=target)]
    hit = given["evals_to_target"]
    assert given["target"] == target and given["reached"] and hit > 1
    assert curve[hit - 2] < target <= curve[hit - 1], "the first evaluation whose front's hypervolume reaches it"
