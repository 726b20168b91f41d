"""TSP end to end with the embedded model: a 2-step run with both figures."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # every test here runs the embedded model

ROOT = Path(__file__).resolve().parents[3]


def test_two_step_run_with_plot(tmp_path: Path) -> None:
    figure = tmp_path / "tour.png"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "llmopt.cli",
            "run",
            "tsp",
            "--cities",
            "10",
            "--steps",
            "2",
            "--proposals",
            "4",
            "--plot",
            str(figure),
            "--json",
            "--out",
            str(tmp_path / "run"),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=900,
    )
    assert done.returncode == 0, done.stderr
    payload = json.loads(done.stdout)
    rows = {r["method"]: r for r in payload["results"]}
    references = {
        "nearest-neighbour",
        "farthest-insertion",
        "greedy",
        "christofides",
        "2-opt+or-opt",
        "lkh",
        "held-karp",
        "integer-programme",
    }
    black_box = {"random-orderings", "local-search", "genetic-algorithm"}
    assert {"opro"} | references | black_box == set(rows)
    assert {rows[m]["kind"] for m in references} == {"reference"}
    assert payload["budget"] == 5 + 2 * 4
    for name in black_box:
        assert rows[name]["kind"] == "black-box" and 1 <= rows[name]["n_evals"] <= payload["budget"]
    assert all(r["gap_pct"] >= 0 for r in payload["results"])  # nothing beats the proven optimum
    assert rows["opro"]["kind"] == "model" and rows["opro"]["n_llm_calls"] == 8
    assert figure.stat().st_size > 20_000 and figure.read_bytes()[:4] == b"\x89PNG"
    steps = [json.loads(line) for line in (tmp_path / "run" / "steps.jsonl").read_text().splitlines()]
    assert all("<trace>" in t["raw"] for s in steps[1:] for t in s["trials"])  # the grammar holds the format
