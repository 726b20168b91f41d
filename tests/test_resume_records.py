"""Resuming runs recorded by an earlier version, and the budgets that may change on resume (stub server)."""

from __future__ import annotations

import json
from pathlib import Path

from llmopt.cli import main
from llmopt.testing.stub_server import StubSettings, serve


def test_a_run_recorded_before_the_newer_settings_resumes_and_its_budgets_may_change(tmp_path: Path, capsys) -> None:
    server, url = serve(StubSettings())
    run = tmp_path / "run"
    common = [
        "run",
        "linear-regression",
        "--model",
        "stub",
        "--base-url",
        url,
        "--no-cache",
        "--json",
        "--methods",
        "opro",
        "random-search",
        "--price",
        "1,2",
    ]
    try:
        assert main([*common, "--steps", "1", "--max-cost", "5", "--out", str(run)]) == 0
        config = json.loads((run / "config.json").read_text())
        for key in ("lmx_parents", "lmx_population", "lmx_selection"):  # as a record of an earlier version
            config["opro"].pop(key)
        for key in ("reasoning_effort", "reasoning_tokens"):
            config["backend"].pop(key)
        (run / "config.json").write_text(json.dumps(config))
        capsys.readouterr()
        assert main([*common, "--steps", "3", "--max-cost", "9", "--resume", str(run)]) == 0
    finally:
        server.shutdown()
    steps = [json.loads(line)["step"] for line in (run / "steps.jsonl").read_text().splitlines()]
    assert steps == [0, 1, 2, 3]
    assert main([*common[:-2], "--steps", "4", "--resume", str(run)]) == 2, "another price is another run"
