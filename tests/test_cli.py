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


def test_baselines_json(capsys) -> None:
    assert main(["baselines", "linear-regression", "--evals", "20", "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["problem"] == "linear-regression"
    assert {r["method"] for r in payload["results"]} == {"least-squares", "nelder-mead", "random-search"}
    assert payload["optimum"] == pytest.approx(payload["results"][0]["best_value"])
    for row in payload["results"]:
        assert set(row) >= {"method", "best_value", "best_solution", "n_evals", "n_llm_calls", "tokens",
                            "seconds", "stop_reason"}


def test_baselines_table(capsys) -> None:
    assert main(["baselines", "linear-regression", "--w-true", "3", "--b-true", "5"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].startswith("method") and "nelder-mead" in out


@pytest.mark.parametrize("args, fragment", [
    (["run", "knapsack"], "invalid choice"),
    (["run", "linear-regression", "--steps", "zero"], "--steps"),
    (["run", "linear-regression", "--steps", "0"], "positive"),
    (["run", "linear-regression", "--points", "1"], "--points"),
    (["run", "linear-regression", "--model-path", "/nonexistent/model.gguf"], "model file not found"),
    (["run", "linear-regression", "--model", "m", "--base-url", "http://127.0.0.1:9/v1"], "cannot reach"),
    (["baselines", "linear-regression", "--evals", "-3"], "positive"),
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
