"""A scorer server killed mid-run: the run stops at once with nothing lost, and `--resume` finishes it."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from llmopt.testing.llama_server import free_port

pytestmark = pytest.mark.slow  # two server processes and two CLI runs


def stub(port: int, *flags: str) -> subprocess.Popen:
    process = subprocess.Popen(
        [sys.executable, "-m", "llmopt.testing.stub_server", "--port", str(port), *flags],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(100):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/models", timeout=1):
                return process
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("the stub server did not start")


@pytest.fixture
def optimizer() -> Iterator[str]:
    port = free_port()
    process = stub(port)
    yield f"http://127.0.0.1:{port}/v1"
    process.kill()


def test_a_killed_scorer_stops_the_run_and_resume_finishes_it(optimizer: str, tmp_path: Path) -> None:
    port = free_port()
    scorer = stub(port, "--die-after", "30")  # killed on its 31st request: a deterministic moment
    run_dir = tmp_path / "run"
    command = [
        sys.executable,
        "-m",
        "llmopt.cli",
        "run",
        "prompt-search",
        "--model",
        "stub",
        "--base-url",
        optimizer,
        "--scorer-model",
        "stub",
        "--scorer-base-url",
        f"http://127.0.0.1:{port}/v1",
        "--steps",
        "10",
        "--proposals",
        "4",
        "--train-size",
        "4",
        "--test-size",
        "2",
        "--no-cache",
        "--methods",
        "opro",
        "opro-no-history",
        "--json",
    ]
    try:
        # the bound is the issue's: the run ends within 30 s of the kill, not after the retry schedule of each step
        first = subprocess.run([*command, "--out", str(run_dir)], capture_output=True, text=True, timeout=30)
        assert scorer.wait(timeout=5) == 0, "the scorer was killed"
    finally:
        scorer.kill()
    assert first.returncode == 2 and first.stdout == ""
    error = first.stderr.strip().splitlines()[-1]
    assert "stopped answering" in error and f"--resume {run_dir}" in error and "Traceback" not in first.stderr
    assert not (run_dir / "results.json").exists()
    done = [json.loads(line) for line in (run_dir / "steps.jsonl").read_text().splitlines()]
    assert len(done) < 11, "stopped before the step limit"

    scorer = stub(port)
    try:
        second = subprocess.run([*command, "--resume", str(run_dir)], capture_output=True, text=True, timeout=60)
    finally:
        scorer.kill()
    assert second.returncode == 0, second.stderr
    payload = json.loads(second.stdout)
    assert [r["method"] for r in payload["results"]] == ["opro", "opro-no-history"]
    steps = [json.loads(line)["step"] for line in (run_dir / "steps.jsonl").read_text().splitlines()]
    assert steps[: len(done)] == [s["step"] for s in done], "the journal before the kill is kept as it was"
    assert max(steps) == 10 and payload["results"][0]["stop_reason"] == "max_steps"
