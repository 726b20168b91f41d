"""End to end with the real embedded model: the CLI's main job, and the README's Python example."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from llmopt.engine.records import read_results, read_steps

pytestmark = pytest.mark.slow  # every test here runs the embedded model

ROOT = Path(__file__).resolve().parents[1]


def llmopt(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "llmopt.cli", *args], capture_output=True, text=True, timeout=900, cwd=ROOT
    )


def test_cli_run_json_with_the_embedded_model(tmp_path: Path) -> None:
    out = tmp_path / "run"
    done = llmopt("run", "linear-regression", "--steps", "1", "--json", "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr and "Exception" not in done.stderr
    payload = json.loads(done.stdout)
    rows = {r["method"]: r for r in payload["results"]}
    assert list(rows) == [
        "opro",
        "nelder-mead",
        "powell",
        "random-search",
        "optuna-tpe",
        "nevergrad-ngopt",
        "gp-bo",
        "least-squares",
    ]
    assert all("kind" in row for row in payload["results"])
    assert payload["budget"] == 5 + 1 * 8
    opro = rows["opro"]
    assert opro["n_llm_calls"] == 8 and opro["tokens"] > 0 and opro["stop_reason"] == "max_steps"
    assert opro["n_evals"] <= payload["budget"] and rows["random-search"]["n_evals"] == payload["budget"]
    assert {row["kind"] for name, row in rows.items() if name not in ("opro", "least-squares")} == {"black-box"}
    assert all(row["n_evals"] <= payload["budget"] for row in payload["results"] if row["n_evals"] is not None)
    steps = read_steps(out)
    assert [s["step"] for s in steps] == [0, 1] and "(w, b) pair" in steps[1]["meta_prompt"]
    assert all(t["raw"] for s in steps[1:] for t in s["trials"])
    assert read_results(out)[0].best_value == opro["best_value"]


def test_cli_run_table_through_a_server(llama_server: str, tmp_path: Path) -> None:
    done = llmopt(
        "run",
        "linear-regression",
        "--steps",
        "1",
        "--proposals",
        "4",
        "--model",
        "smollm2",
        "--base-url",
        llama_server,
        "--out",
        str(tmp_path / "r"),
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].split()[0] == "method" and lines[2].startswith("opro")


def test_readme_python_example_runs() -> None:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## From Python", 1)[1].split("\n## ", 1)[0]
    examples = re.findall(r"```python\n(.*?)```", section, flags=re.S)
    assert len(examples) == 2
    for example, expected in zip(examples, ["(", "least-squares"]):
        example = example.replace("steps=5", "steps=1").replace("steps=3", "steps=1")
        done = subprocess.run([sys.executable, "-c", example], capture_output=True, text=True, cwd=ROOT, timeout=900)
        assert done.returncode == 0, done.stderr
        assert expected in done.stdout


def test_the_same_command_and_seed_give_the_same_result_without_any_cache(tmp_path: Path) -> None:
    def once(name: str) -> list[dict]:
        done = llmopt(
            "run",
            "tsp",
            "--cities",
            "9",
            "--steps",
            "1",
            "--proposals",
            "3",
            "--seed",
            "7",
            "--no-cache",
            "--json",
            "--out",
            str(tmp_path / name),
        )
        assert done.returncode == 0, done.stderr
        rows = json.loads((tmp_path / name / "results.json").read_text())["full_results"]
        for row in rows:
            row.pop("seconds")
        return rows

    first, second = once("one"), once("two")
    assert first == second
    assert any(t["raw"] for t in first[0]["trials"])  # the model really answered


def test_readme_feedback_example_runs_and_its_best_is_feasible() -> None:
    readme = (ROOT / "README.md").read_text()
    example = next(block for block in re.findall(r"```python\n(.*?)```", readme, flags=re.S) if "Evaluation(" in block)
    example = example.replace("steps=5", "steps=2") + "\nassert result.x[0] + result.x[1] <= 1, result.x\n"
    done = subprocess.run([sys.executable, "-c", example], capture_output=True, text=True, cwd=ROOT, timeout=900)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip()


def test_readme_several_objectives_example_runs_and_its_front_is_non_dominated() -> None:
    readme = (ROOT / "README.md").read_text()
    example = next(block for block in re.findall(r"```python\n(.*?)```", readme, flags=re.S) if "directions=" in block)
    example = example.replace('directions=["min", "min"])', 'directions=["min", "min"], steps=2)')
    example += (
        "\nfrom llmopt.core.pareto import nondominated\n"
        "points = [t.values for t in result.front()]\n"
        "assert points and nondominated(points, ('min', 'min')).all(), points\n"
        "assert result.fun > 0 and len(result.reference) == 2\n"
        "print(result.fun)\n"
    )
    done = subprocess.run([sys.executable, "-c", example], capture_output=True, text=True, cwd=ROOT, timeout=900)
    assert done.returncode == 0, done.stderr
    assert float(done.stdout.strip()) > 0
