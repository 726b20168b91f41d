"""TSP end to end with the embedded model: a 2-step run with both figures."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def test_two_step_run_with_plot(tmp_path: Path) -> None:
    figure = tmp_path / "tour.png"
    done = subprocess.run(
        [sys.executable, "-m", "llmopt.cli", "run", "tsp", "--cities", "10", "--steps", "2", "--proposals", "4",
         "--plot", str(figure), "--json", "--out", str(tmp_path / "run")],
        capture_output=True, text=True, cwd=ROOT, timeout=900)
    assert done.returncode == 0, done.stderr
    payload = json.loads(done.stdout)
    rows = {r["method"]: r for r in payload["results"]}
    assert {"opro", "nearest-neighbour", "farthest-insertion", "greedy", "christofides", "2-opt+or-opt", "lkh",
            "held-karp"} == set(rows)
    assert rows["held-karp"]["gap_pct"] == 0
    assert rows["opro"]["gap_pct"] >= 0 and rows["opro"]["n_llm_calls"] == 8
    assert figure.stat().st_size > 20_000 and figure.read_bytes()[:4] == b"\x89PNG"
    steps = [json.loads(line) for line in (tmp_path / "run" / "steps.jsonl").read_text().splitlines()]
    assert all("<trace>" in t["raw"] for s in steps[1:] for t in s["trials"])  # the grammar holds the format
