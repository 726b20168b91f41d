"""CLI behaviour that needs no model: listing, baselines, and one-line usage errors."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from llmopt.cli import main


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "llmopt.cli", *args], capture_output=True, text=True, timeout=300)


def test_problems_lists_linear_regression(capsys) -> None:
    assert main(["problems"]) == 0
    assert "linear-regression" in capsys.readouterr().out


BOX_METHODS = {"powell", "gp-bo", "nevergrad-ngopt", "optuna-tpe", "nelder-mead", "random-search"}


def test_baselines_json_gives_every_box_method_the_budget_and_labels_the_reference(capsys) -> None:
    assert main(["baselines", "linear-regression", "--max-evals", "20", "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["problem"] == "linear-regression" and payload["budget"] == 20
    rows = {r["method"]: r for r in payload["results"]}
    assert set(rows) == BOX_METHODS | {"least-squares"}
    assert rows["least-squares"]["kind"] == "reference" and rows["least-squares"]["n_evals"] is None
    assert payload["optimum"] == pytest.approx(rows["least-squares"]["best_value"])
    for name in BOX_METHODS:
        assert rows[name]["kind"] == "black-box" and 1 <= rows[name]["n_evals"] <= 20
    assert rows["random-search"]["n_evals"] == 20
    for row in payload["results"]:
        assert set(row) >= {
            "method",
            "kind",
            "best_value",
            "best_solution",
            "n_evals",
            "n_llm_calls",
            "tokens",
            "seconds",
            "stop_reason",
        }


def test_the_budget_follows_the_opro_options(capsys) -> None:
    assert main(["baselines", "sphere", "--steps", "2", "--proposals", "3", "--initial", "4", "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["budget"] == 4 + 2 * 3
    assert max(r["n_evals"] for r in payload["results"]) == 10


def test_tsp_baselines_split_references_from_black_box_methods(capsys) -> None:
    assert main(["baselines", "tsp", "--cities", "12", "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    kinds = {r["method"]: r["kind"] for r in payload["results"]}
    references = [r for r in payload["results"] if r["kind"] == "reference"]
    black_box = [r for r in payload["results"] if r["kind"] == "black-box"]
    assert {
        "nearest-neighbour",
        "farthest-insertion",
        "greedy",
        "christofides",
        "2-opt+or-opt",
        "lkh",
        "held-karp",
        "integer-programme",
    } == {r["method"] for r in references}
    assert all(r["n_evals"] is None for r in references)
    assert {"random-orderings", "local-search", "genetic-algorithm"} <= {r["method"] for r in black_box}
    assert all(1 <= r["n_evals"] <= payload["budget"] for r in black_box)
    assert kinds["held-karp"] == "reference"
    held_karp = next(r for r in references if r["method"] == "held-karp")
    assert all(r["best_value"] >= held_karp["best_value"] - 1e-9 for r in payload["results"])


def test_token_limits_reach_their_own_settings() -> None:
    from llmopt.cli import build_parser
    from llmopt.cli.options import opro_config as _opro_config

    args = build_parser().parse_args(["run", "sphere", "--answer-tokens", "17", "--max-total-tokens", "900"])
    config = _opro_config(args)
    assert config.answer_tokens == 17 and config.max_total_tokens == 900


def test_baselines_table(capsys) -> None:
    assert main(["baselines", "linear-regression", "--w-true", "3", "--b-true", "5", "--steps", "2"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].startswith("method") and "nelder-mead" in out


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["run", "no-such-problem"], "invalid choice"),
        (["run", "linear-regression", "--steps", "zero"], "--steps"),
        (["run", "linear-regression", "--steps", "0"], "positive"),
        (["run", "linear-regression", "--points", "1"], "--points"),
        (["run", "linear-regression", "--model-path", "/nonexistent/model.gguf"], "model file not found"),
        (["run", "linear-regression", "--model", "m", "--base-url", "http://127.0.0.1:9/v1"], "cannot reach"),
        (["baselines", "linear-regression", "--max-evals", "-3"], "positive"),
        (["baselines", "linear-regression", "--methods", "simplex"], "unknown method simplex"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(args: list[str], fragment: str) -> None:
    done = run_cli(*args)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and fragment in lines[0] and "Traceback" not in done.stderr
    assert done.stdout == ""


def test_not_a_gguf_file(tmp_path) -> None:
    fake = tmp_path / "model.gguf"
    fake.write_text("hello")
    done = run_cli("run", "linear-regression", "--model-path", str(fake), "--out", str(tmp_path / "r"))
    assert done.returncode == 2 and "not a GGUF" in done.stderr


EXAMPLES = __import__("pathlib").Path(__file__).parents[1] / "examples"


def test_maximize_from_the_cli_finds_high_values_and_says_higher_is_better(monkeypatch, capsys) -> None:
    monkeypatch.chdir(EXAMPLES)
    assert (
        main(
            [
                "baselines",
                "function",
                "--function",
                "mymodule:pick",
                "--space",
                "bits:16",
                "--maximize",
                "--steps",
                "3",
                "--methods",
                "one-plus-one-ea",
                "random-search",
                "--json",
                "--no-cache",
            ]
        )
        == 0
    )
    rows = json.loads(capsys.readouterr().out)["results"]
    assert all(row["best_value"] > 0 for row in rows)  # minimising the value would pick nothing (0)
    from llmopt.problems.numeric import NumericProblem, load_callable

    problem = NumericProblem(load_callable("mymodule:pick"), space=__import__("llmopt").Bits(16), maximize=True)
    assert problem.direction == "max" and problem.config()["maximize"] is True
    assert "maximize" in problem.describe() and "higher value" in problem.format_hint()
    assert "maximize" not in NumericProblem(load_callable("mymodule:loss"), [(0, 1)]).config()


def test_problems_prints_each_summary_whole(capsys) -> None:
    from llmopt.contract.registry import registry

    assert main(["problems"]) == 0
    out = capsys.readouterr().out
    for name, cls in registry().items():
        assert f"{name}  " in out or f"{name} " in out
        assert cls.summary in out.replace("\n", " ")
    assert "--space bits:N|permutation:N" in out


OBJECTIVE = """
from llmopt import InvalidSolution


def f(x):
    if x[0] < -3:
        raise InvalidSolution("too far left")
    if x[1] > 8:
        raise ValueError("the simulation diverged")
    return float((x[0] - 1) ** 2 + (x[1] - 3) ** 2)
"""


def identity_holds(row: dict) -> bool:
    """The README's identity of a model-driven row's counts."""
    return (
        row["starts"] + row["proposals"] + row["repaired"]
        == row["n_evals"] + row["failed_evals"] + row["duplicates"] + row["invalid"] + row["skipped"]
    )


def test_the_counts_of_every_model_driven_row_add_up(tmp_path, monkeypatch, capsys) -> None:
    from llmopt.testing.stub_server import StubSettings, serve

    (tmp_path / "objective.py").write_text(OBJECTIVE)
    monkeypatch.chdir(tmp_path)
    server, url = serve(StubSettings())
    driven = []
    try:
        for budget in ("12", "6"):  # the second cuts a step at the budget: skipped proposals
            assert (
                main(
                    [
                        "run",
                        "function",
                        "--function",
                        "objective:f",
                        "--bounds=-5:5,0:10",
                        "--integer",
                        "--initial",
                        "8",
                        "--model",
                        "stub",
                        "--base-url",
                        url,
                        "--steps",
                        "4",
                        "--repair",
                        "--max-evals",
                        budget,
                        "--methods",
                        "opro",
                        "opro-no-history",
                        "lmx",
                        "random-search",
                        "--json",
                        "--no-cache",
                        "--out",
                        str(tmp_path / budget),
                    ]
                )
                == 0
            )
            rows = json.loads(capsys.readouterr().out)["results"]
            black_box = next(row for row in rows if row["kind"] == "black-box")
            assert black_box["starts"] is None and black_box["proposals"] is None
            driven += [row for row in rows if row["kind"] in ("model", "ablation")]
    finally:
        server.shutdown()
    assert len(driven) == 6 and all(identity_holds(row) for row in driven), driven
    for key in ("starts", "duplicates", "invalid", "skipped", "repaired", "failed_evals"):
        assert any(row[key] for row in driven), (f"the runs never exercised {key}", driven)


def test_help_names_the_thread_setting_of_the_embedded_model() -> None:
    done = run_cli("run", "sphere", "--help")
    assert "--threads N" in done.stdout and "LLMOPT_THREADS" in done.stdout


def test_the_progress_bar_shows_life_while_the_model_answers(tmp_path) -> None:
    from llmopt.testing.stub_server import StubSettings, serve

    server, url = serve(StubSettings(latency=2.0))
    try:
        done = run_cli(
            "run",
            "linear-regression",
            "--model",
            "stub",
            "--base-url",
            url,
            "--steps",
            "1",
            "--proposals",
            "2",
            "--methods",
            "opro",
            "--no-cache",
            "--out",
            str(tmp_path / "run"),
        )
    finally:
        server.shutdown()
    assert done.returncode == 0, done.stderr
    assert "in_flight=1" in done.stderr  # during the two seconds the only request was out
    assert "answers=2" in done.stderr
    table_tokens = int(done.stdout.splitlines()[2].split()[-2])  # opro's row: ... tokens seconds
    assert f"tokens={table_tokens}]" in done.stderr, "the bar and the table count tokens alike"


def test_threads_are_set_for_the_command_alone(monkeypatch) -> None:
    import os

    from llmopt.backends.local import THREADS_ENV, thread_share
    from llmopt.cli import _environment

    monkeypatch.delenv(THREADS_ENV, raising=False)
    with _environment(THREADS_ENV, 1):
        assert thread_share() == 1
    assert THREADS_ENV not in os.environ


@pytest.mark.slow
def test_threads_reach_the_embedded_model(tmp_path, capsys) -> None:
    from llmopt.backends import local

    assert (
        main(
            [
                "run",
                "linear-regression",
                "--steps",
                "1",
                "--proposals",
                "2",
                "--methods",
                "opro",
                "--threads",
                "1",
                "--no-cache",
                "--json",
                "--out",
                str(tmp_path / "run"),
            ]
        )
        == 0
    )
    assert any(key[2] == 1 and pool.created for key, pool in local._pools.items())
    assert json.loads(capsys.readouterr().out)["results"][0]["n_llm_calls"] == 2


def test_an_ordering_reaches_the_function_as_integers_it_can_index_with(monkeypatch, capsys) -> None:
    monkeypatch.chdir(EXAMPLES)
    assert (
        main(
            [
                "baselines",
                "function",
                "--function",
                "mymodule:schedule",
                "--space",
                "permutation:8",
                "--steps",
                "2",
                "--json",
                "--no-cache",
            ]
        )
        == 0
    )
    rows = json.loads(capsys.readouterr().out)["results"]
    assert rows and all(row["failed_evals"] == 0 and row["best_value"] >= 94 for row in rows)  # 94: shortest first
