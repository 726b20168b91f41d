"""Run folders written by llmopt 0.4.0: this version resumes them and replays their response cache.

tests/fixtures/run-0.4.0 was written by llmopt 0.4.0 (commit 15761a3, the release: its CHANGELOG and version),
checked out with `git worktree add /tmp/wt-v040 15761a3` and `ln -s ../problems /tmp/wt-v040/llmopt/problems`.
Under `PYTHONPATH=/tmp/wt-v040`, with 0.4.0's stub server up (`serve(StubSettings(hold_at=3), port=24040)` from
`llmopt.testing.stub_server`), this command ran in that folder (DIR):

    python -m llmopt.cli run linear-regression --steps 4 --proposals 2 --seed 11 --model stub
        --base-url http://127.0.0.1:24040/v1 --cache DIR/cache.sqlite --methods opro --out DIR --json

and was killed (SIGKILL) while the stub held its third request, step 3's: steps 0 to 2 are journaled, no
results.json, and the two answers of steps 1 and 2 are in the cache. The cache was then checkpointed (what a
clean exit does) and vacuumed into 512-byte pages to keep it small (`PRAGMA journal_mode=delete; PRAGMA
page_size=512; VACUUM`): its two rows are as 0.4.0 wrote them.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from llmopt.testing.stub_server import StubSettings, serve

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT / "tests" / "fixtures" / "run-0.4.0"
PORT = 24040  # the recorded backend (and so each cache key) names the stub's address


@pytest.fixture
def stub() -> Iterator[StubSettings]:
    """A stub server at the address the 0.4.0 run recorded."""
    settings = StubSettings()
    try:
        server, _ = serve(settings, port=PORT)
    except OSError as error:  # another process holds the port: say so rather than pass unchecked
        pytest.fail(f"port {PORT}, which the 0.4.0 run recorded, is taken ({error}); free it and rerun")
    try:
        yield settings
    finally:
        server.shutdown()
        server.server_close()


def run(out: Path, cache: Path, steps: int, *extra: str, method: str = "opro") -> subprocess.CompletedProcess:
    """The 0.4.0 run's command, with `steps` steps, writing to `out` and caching in `cache`."""
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "llmopt.cli",
            "run",
            "linear-regression",
            "--steps",
            str(steps),
            "--proposals",
            "2",
            "--seed",
            "11",
            "--model",
            "stub",
            "--base-url",
            f"http://127.0.0.1:{PORT}/v1",
            "--methods",
            method,
            "--cache",
            str(cache),
            "--out",
            str(out),
            "--json",
            *extra,
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )


def journal(directory: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (directory / "steps.jsonl").read_text().splitlines()]


def scored(steps: list[dict[str, Any]]) -> list[tuple[int, str, float]]:
    return [(t["step"], t["text"], t["value"]) for step in steps for t in step["trials"]]


def test_a_run_killed_under_0_4_0_resumes_where_it_stopped(tmp_path: Path, stub: StubSettings) -> None:
    directory = shutil.copytree(FIXTURE, tmp_path / "run")
    written = (FIXTURE / "steps.jsonl").read_text()
    done = run(directory, directory / "cache.sqlite", 4, "--resume", str(directory))
    assert done.returncode == 0, done.stderr
    assert (directory / "steps.jsonl").read_text().startswith(written), "0.4.0's steps are kept as written"
    steps = journal(directory)
    assert [step["step"] for step in steps] == [0, 1, 2, 3, 4]
    assert stub.posts == 2, "only steps 3 and 4 ask the model; 0.4.0's answers are replayed from its journal"
    trials = json.loads((directory / "results.json").read_text())["full_results"][0]["trials"]
    assert [(t["step"], t["text"], t["value"]) for t in trials] == scored(steps)


def test_the_response_cache_of_0_4_0_answers_a_rerun(tmp_path: Path, stub: StubSettings) -> None:
    cache = shutil.copy(FIXTURE / "cache.sqlite", tmp_path / "cache.sqlite")
    # 0.4.0's meta-prompts showed no feedback; since 0.7 linear regression gives some and OPRO shows it, so the
    # rerun that sends 0.4.0's prompts again (and finds their answers) is OPRO with the feedback hidden
    done = run(tmp_path / "again", Path(cache), 2, method="opro-no-feedback")
    assert done.returncode == 0, done.stderr
    assert stub.posts == 0, "every request was answered from 0.4.0's cache"
    assert scored(journal(tmp_path / "again")) == scored(journal(FIXTURE)), "the same answers, so the same run"


def test_a_0_4_0_record_reads_as_a_run_with_one_objective() -> None:
    from llmopt.report.run import read_run

    record = read_run(FIXTURE)
    result = record.journaled_result
    assert result.directions is None and result.reference is None and not result.multiobjective
    assert result.evaluated() and all(t.values is None and t.value is not None for t in result.evaluated())
