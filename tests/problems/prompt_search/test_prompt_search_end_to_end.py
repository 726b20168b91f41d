"""Prompt search end to end: the embedded model as optimizer and scorer, and a scorer behind a server."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # every test here runs the embedded model

ROOT = Path(__file__).resolve().parents[3]
SMALL = [
    "--task",
    "next_number",
    "--steps",
    "1",
    "--proposals",
    "2",
    "--initial",
    "1",
    "--train-size",
    "3",
    "--test-size",
    "2",
    "--json",
]


def run(*args: str) -> dict:
    done = subprocess.run(
        [sys.executable, "-m", "llmopt.cli", "run", "prompt-search", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=1200,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_one_step_with_the_embedded_model(tmp_path: Path) -> None:
    payload = run(*SMALL, "--out", str(tmp_path / "run"))
    rows = {r["method"]: r for r in payload["results"]}
    assert set(rows) == {
        "opro",
        "no-instruction",
        "step-by-step",
        "solve-the-problem",
        "opro-no-history",
        "evoprompt-ga",
        "evoprompt-de",
    }
    assert payload["budget"] == 1 + 1 * 2
    assert {rows[m]["kind"] for m in ("no-instruction", "step-by-step", "solve-the-problem")} == {"black-box"}
    assert rows["opro-no-history"]["kind"] == "ablation" and rows["opro-no-history"]["n_llm_calls"] == 2
    assert 1 <= rows["opro-no-history"]["n_evals"] <= payload["budget"]
    hand = rows["no-instruction"]
    assert hand["n_evals"] == 1 and hand["scorer_calls"] == 3 and hand["train_acc"] == hand["best_value"]
    assert any(abs(hand["best_value"] - 100 * k / 3) < 1e-6 for k in range(4))  # a share of 3 training questions
    assert rows["opro"]["scorer_calls"] == 3 * rows["opro"]["n_evals"]
    assert rows["opro"]["n_llm_calls"] == 2 and rows["no-instruction"]["n_llm_calls"] is None
    steps = [json.loads(line) for line in (tmp_path / "run" / "steps.jsonl").read_text().splitlines()]
    assert steps[0]["step"] == 0 and "<INS>" in steps[1]["meta_prompt"] and "score" in steps[1]["meta_prompt"]


def test_scorer_behind_an_openai_compatible_server(llama_server: str, tmp_path: Path) -> None:
    payload = run(
        *SMALL,
        "--scorer-model",
        "smollm2",
        "--scorer-base-url",
        llama_server,
        "--out",
        str(tmp_path / "run"),
        "--methods",
        "opro",
        "no-instruction",
    )
    opro = payload["results"][0]
    # every evaluation asked the server once per training question (3), whatever the model proposed
    assert opro["method"] == "opro" and opro["n_evals"] >= 1 and opro["scorer_tokens"] > 0
    assert opro["scorer_calls"] == 3 * opro["n_evals"]


def test_a_scorer_that_dies_mid_run_leaves_failed_evaluations_that_resume_retries(tmp_path: Path) -> None:
    """The scorer's server answers errors from its fifth request on (the initial instruction takes four): the
    run stops at --max-failures with the failure recorded, and --resume scores it once the server is back.
    The scorer is the stub (one retry per request keeps each failure short); the optimizer is the real model."""
    from llmopt.engine.records import read_steps
    from llmopt.testing.stub_server import StubSettings, serve

    settings = StubSettings(faults=("500",), fail_after=4)
    server, url = serve(settings)
    args = [
        sys.executable,
        "-m",
        "llmopt.cli",
        "run",
        "prompt-search",
        *SMALL,
        "--steps",
        "2",
        "--proposals",
        "1",
        "--scorer-model",
        "stub",
        "--scorer-base-url",
        url,
        "--out",
        str(tmp_path / "run"),
        "--no-cache",
        "--methods",
        "opro",
        "opro-no-history",
        "--scorer-max-retries",
        "1",
    ]
    try:
        first_run = subprocess.run(
            [*args, "--max-failures", "1"], capture_output=True, text=True, cwd=ROOT, timeout=600
        )
        assert first_run.returncode == 0, first_run.stderr
        assert "Traceback" not in first_run.stderr
        first = {r["method"]: r for r in json.loads(first_run.stdout)["results"]}
        assert first["opro"]["stop_reason"] == "max_failures" and first["opro"]["failed_evals"] == 1
        settings.fail_after = None  # the server is back
        done = subprocess.run(
            [*args, "--resume", str(tmp_path / "run")], capture_output=True, text=True, cwd=ROOT, timeout=600
        )
        assert done.returncode == 0, done.stderr
    finally:
        server.shutdown()
    resumed = json.loads(done.stdout)["results"][0]
    assert resumed["stop_reason"] == "max_steps"
    trials = [t for step in read_steps(tmp_path / "run") for t in step["trials"]]
    scored = [t["text"] for t in trials if t["status"] in ("initial", "ok")]
    assert len(scored) == len(set(scored))  # no evaluation repeated
    failed = {t["text"] for t in trials if t["status"] == "failed"}
    assert failed and failed <= set(scored)  # every failure was retried and scored once the server was back
