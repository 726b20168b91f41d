"""CLI behaviour that needs no model: listing, baselines, and one-line usage errors."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from llmopt.cli import main


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "llmopt.cli", *args], capture_output=True, text=True,
                          timeout=300)


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
        assert set(row) >= {"method", "kind", "best_value", "best_solution", "n_evals", "n_llm_calls", "tokens",
                            "seconds", "stop_reason"}


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
    assert {"nearest-neighbour", "farthest-insertion", "greedy", "christofides", "2-opt+or-opt", "lkh",
            "held-karp", "integer-programme"} == {r["method"] for r in references}
    assert all(r["n_evals"] is None for r in references)
    assert {"random-orderings", "local-search", "genetic-algorithm"} <= {r["method"] for r in black_box}
    assert all(1 <= r["n_evals"] <= payload["budget"] for r in black_box)
    assert kinds["held-karp"] == "reference"
    held_karp = next(r for r in references if r["method"] == "held-karp")
    assert all(r["best_value"] >= held_karp["best_value"] - 1e-9 for r in payload["results"])


def test_token_limits_reach_their_own_settings() -> None:
    from llmopt.cli import _opro_config, build_parser

    args = build_parser().parse_args(["run", "sphere", "--answer-tokens", "17", "--max-total-tokens", "900"])
    config = _opro_config(args)
    assert config.answer_tokens == 17 and config.max_total_tokens == 900


def test_baselines_table(capsys) -> None:
    assert main(["baselines", "linear-regression", "--w-true", "3", "--b-true", "5", "--steps", "2"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].startswith("method") and "nelder-mead" in out


@pytest.mark.parametrize("args, fragment", [
    (["run", "no-such-problem"], "invalid choice"),
    (["run", "linear-regression", "--steps", "zero"], "--steps"),
    (["run", "linear-regression", "--steps", "0"], "positive"),
    (["run", "linear-regression", "--points", "1"], "--points"),
    (["run", "linear-regression", "--model-path", "/nonexistent/model.gguf"], "model file not found"),
    (["run", "linear-regression", "--model", "m", "--base-url", "http://127.0.0.1:9/v1"], "cannot reach"),
    (["baselines", "linear-regression", "--max-evals", "-3"], "positive"),
    (["baselines", "linear-regression", "--methods", "simplex"], "unknown method simplex"),
])
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
