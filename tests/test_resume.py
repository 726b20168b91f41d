"""kill -9 a run at a known point, then --resume: nothing lost, nothing repeated, same result."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def command(out: Path, cache: Path, *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "llmopt.cli",
        "run",
        "linear-regression",
        "--steps",
        "5",
        "--proposals",
        "4",
        "--seed",
        "11",
        "--cache",
        str(cache),
        "--out",
        str(out),
        "--json",
        *extra,
    ]


def evaluated(run_dir: Path) -> list[tuple]:
    rows = json.loads((run_dir / "results.json").read_text())["full_results"][0]["trials"]
    return [(t["step"], t["status"], t["text"], t["value"]) for t in rows]


def stub_run(out: Path, url: str, *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "llmopt.cli",
        "run",
        "linear-regression",
        "--steps",
        "5",
        "--proposals",
        "4",
        "--seed",
        "11",
        "--model",
        "stub",
        "--base-url",
        url,
        "--no-cache",
        "--methods",
        "opro",
        "--out",
        str(out),
        "--json",
        *extra,
    ]


@pytest.mark.parametrize("hold_at", [1, 3])
def test_kill_9_then_resume(tmp_path: Path, hold_at: int) -> None:
    """The run is killed while it waits for its `hold_at`-th model answer, a point the stub server holds it at."""
    from llmopt.testing.stub_server import StubSettings, serve

    held = StubSettings(hold_at=hold_at)
    server, url = serve(held)  # the stub answers by the request's seed alone, so every run gets the same answers
    try:
        process = subprocess.Popen(
            stub_run(tmp_path / "killed", url), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT
        )
        assert held.holding.wait(timeout=60), "the run never asked the model"
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
        held.release.set()
        run_dir, steps = tmp_path / "killed", tmp_path / "killed" / "steps.jsonl"
        assert len(steps.read_text().splitlines()) == hold_at, "steps 0 .. hold_at - 1 were journaled, no more"
        assert not (run_dir / "results.json").exists()
        done = subprocess.run(
            stub_run(run_dir, url, "--resume", str(run_dir)), capture_output=True, text=True, cwd=ROOT, timeout=120
        )
        reference = subprocess.run(
            stub_run(tmp_path / "full", url), capture_output=True, text=True, cwd=ROOT, timeout=120
        )
    finally:
        server.shutdown()
    assert done.returncode == 0 and reference.returncode == 0, done.stderr + reference.stderr
    assert evaluated(run_dir) == evaluated(tmp_path / "full")
    lines = [json.loads(line) for line in steps.read_text().splitlines()]
    assert [line["step"] for line in lines] == list(range(6)), "a step was lost or written twice"


@pytest.mark.slow  # it runs the embedded model
def test_resume_with_other_options_is_refused(tmp_path: Path) -> None:
    run_dir = tmp_path / "r"
    first = subprocess.run(
        command(run_dir, tmp_path / "c.sqlite")[:-1] + ["--steps", "1"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=900,
    )
    assert first.returncode == 0, first.stderr
    again = subprocess.run(
        command(run_dir, tmp_path / "c.sqlite", "--resume", str(run_dir), "--w-true", "3"),
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=900,
    )
    assert again.returncode == 2 and "problem config" in again.stderr
    missing = subprocess.run(
        command(run_dir, tmp_path / "c.sqlite", "--resume", str(tmp_path / "nope")),
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=900,
    )
    assert missing.returncode == 2 and "not a run directory" in missing.stderr


KILLER = '''
import os, signal
from pathlib import Path

LOG = Path(__file__).with_name("calls.log")
MARK = Path(__file__).with_name("killed")


def bowl(x):
    """(x - 1)^2 summed; the third call of the first run kills its own process, before it returns."""
    with LOG.open("a") as log:
        log.write(",".join(str(v) for v in x) + "\\n")
    if len(LOG.read_text().splitlines()) == 3 and not MARK.exists():
        MARK.write_text("")
        os.kill(os.getpid(), signal.SIGKILL)
    return float(sum((v - 1) ** 2 for v in x))
'''


def test_kill_9_among_the_initial_points_repeats_no_finished_evaluation(tmp_path: Path) -> None:
    """Killed while scoring its third initial point: the resumed run scores the third again, never the first two."""
    from llmopt.testing.stub_server import StubSettings, serve

    (tmp_path / "killer.py").write_text(KILLER)
    server, url = serve(StubSettings())
    try:

        def run(*extra: str) -> subprocess.CompletedProcess:
            return subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "llmopt.cli",
                    "run",
                    "function",
                    "--function",
                    "killer:bowl",
                    "--bounds=-4:4,-4:4",
                    "--steps",
                    "1",
                    "--proposals",
                    "2",
                    "--model",
                    "stub",
                    "--base-url",
                    url,
                    "--no-cache",
                    "--methods",
                    "opro",
                    "--json",
                    "--out",
                    str(tmp_path / "run"),
                    *extra,
                ],
                capture_output=True,
                text=True,
                cwd=tmp_path,
                timeout=120,
            )

        killed = run()
        assert killed.returncode == -signal.SIGKILL and (tmp_path / "killed").exists()
        done = run("--resume", str(tmp_path / "run"))
    finally:
        server.shutdown()
    assert done.returncode == 0, done.stderr
    calls = (tmp_path / "calls.log").read_text().splitlines()
    assert calls[3] == calls[2], "the point being scored when the run was killed is scored again"
    assert calls.count(calls[0]) == calls.count(calls[1]) == 1, "a finished evaluation is never repeated"
    trials = json.loads((tmp_path / "run" / "results.json").read_text())["full_results"][0]["trials"]
    assert [t["text"] for t in trials if t["status"] == "initial"][:3] == [
        f"[{c.replace(',', ', ')}]" for c in calls[:3]
    ]
