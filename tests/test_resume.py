"""kill -9 a real run at any moment, then --resume: nothing lost, nothing repeated, same result."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # every test here runs the embedded model

ROOT = Path(__file__).resolve().parents[1]


def command(out: Path, cache: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "llmopt.cli", "run", "linear-regression", "--steps", "5", "--proposals", "4",
            "--seed", "11", "--cache", str(cache), "--out", str(out), "--json", *extra]


def evaluated(run_dir: Path) -> list[tuple]:
    rows = json.loads((run_dir / "results.json").read_text())["full_results"][0]["trials"]
    return [(t["step"], t["status"], t["text"], t["value"]) for t in rows]


@pytest.mark.parametrize("kill_after_lines", [1, 3])
def test_kill_9_then_resume(tmp_path: Path, kill_after_lines: int) -> None:
    cache = tmp_path / "cache.sqlite"
    reference = subprocess.run(command(tmp_path / "full", cache), capture_output=True, text=True, cwd=ROOT,
                               timeout=900)
    assert reference.returncode == 0, reference.stderr

    # A second cache makes the killed run talk to the model for real, so it is slow enough to kill.
    fresh_cache = tmp_path / "fresh.sqlite"
    run_dir = tmp_path / "killed"
    process = subprocess.Popen(command(run_dir, fresh_cache), stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, cwd=ROOT)
    steps = run_dir / "steps.jsonl"
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline and process.poll() is None:
        if steps.exists() and steps.read_text().count("\n") >= kill_after_lines:
            break
        time.sleep(0.05)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    assert not (run_dir / "results.json").exists(), "the run finished before it could be killed"

    done = subprocess.run(command(run_dir, fresh_cache, "--resume", str(run_dir)), capture_output=True, text=True,
                          cwd=ROOT, timeout=900)
    assert done.returncode == 0, done.stderr
    assert evaluated(run_dir) == evaluated(tmp_path / "full")
    lines = [json.loads(line) for line in steps.read_text().splitlines()]
    assert [line["step"] for line in lines] == list(range(6)), "a step was lost or written twice"


def test_resume_with_other_options_is_refused(tmp_path: Path) -> None:
    run_dir = tmp_path / "r"
    first = subprocess.run(command(run_dir, tmp_path / "c.sqlite")[:-1] + ["--steps", "1"], capture_output=True,
                           text=True, cwd=ROOT, timeout=900)
    assert first.returncode == 0, first.stderr
    again = subprocess.run(command(run_dir, tmp_path / "c.sqlite", "--resume", str(run_dir), "--w-true", "3"),
                           capture_output=True, text=True, cwd=ROOT, timeout=900)
    assert again.returncode == 2 and "problem config" in again.stderr
    missing = subprocess.run(command(run_dir, tmp_path / "c.sqlite", "--resume", str(tmp_path / "nope")),
                             capture_output=True, text=True, cwd=ROOT, timeout=900)
    assert missing.returncode == 2 and "not a run directory" in missing.stderr
