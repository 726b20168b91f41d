"""OpenAI backend transport against the stub server: n in one request, or n concurrent requests."""

from __future__ import annotations

import pytest

from llmopt.backends import make_backend
from llmopt.backends.openai_compat import OpenAIBackend
from llmopt.contract.problem import UsageError
from llmopt.testing.stub_server import StubSettings, serve


@pytest.fixture
def stub():
    settings = StubSettings(latency=0.3)
    server, url = serve(settings)
    yield settings, url
    server.shutdown()


def test_one_request_when_server_honours_n(stub) -> None:
    settings, url = stub
    generation = OpenAIBackend("stub", base_url=url).generate("p", n=5, temperature=1.0, max_tokens=8, seed=1)
    assert len(generation.completions) == 5 and generation.calls == 1 and settings.requests == 1


def test_concurrent_requests_when_server_ignores_n(stub) -> None:
    settings, url = stub
    settings.honour_n = False
    backend = OpenAIBackend("stub", base_url=url)
    backend.generate("p", n=4, temperature=1.0, max_tokens=8, seed=1)
    settings.max_in_flight = 0
    generation = backend.generate("p", n=6, temperature=1.0, max_tokens=8, seed=1)
    assert len(generation.completions) == 6 and generation.calls == 6
    assert settings.max_in_flight == 6, "the requests of one step are sent together, not one after another"


def test_unreachable_server_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="cannot reach"):
        make_backend("some-model", base_url="http://127.0.0.1:9/v1")


def test_openai_without_key_is_a_usage_error(monkeypatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(UsageError, match="OPENAI_API_KEY"):
        make_backend("gpt-4o-mini")


def test_describe_never_holds_the_key(stub, monkeypatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-secret-value")
    _, url = stub
    assert "sk-secret-value" not in repr(OpenAIBackend("stub", base_url=url).describe())


def test_cached_prompt_tokens_are_counted_shown_and_billed_at_their_price(tmp_path) -> None:
    import json
    import subprocess
    import sys

    from llmopt import OPRO, OPROConfig
    from llmopt.engine.config import MetaPromptConfig
    from llmopt.problems.linear_regression import LinearRegression

    settings = StubSettings(prefix_cache=True)
    server, url = serve(settings)
    try:
        config = OPROConfig(steps=3, proposals=2, metaprompt=MetaPromptConfig(layout="cache"), price=(1.0, 0.1, 2.0))
        result = OPRO(LinearRegression(), OpenAIBackend("stub", base_url=url), config).run()
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "llmopt.cli",
                "run",
                "linear-regression",
                "--model",
                "stub",
                "--base-url",
                url,
                "--steps",
                "2",
                "--proposals",
                "2",
                "--methods",
                "opro",
                "powell",
                "--layout",
                "cache",
                "--no-cache",
                "--out",
                str(tmp_path / "run"),
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        server.shutdown()
    counts = result.counts
    assert 0 < counts.cached_tokens < counts.prompt_tokens
    expected = (
        (counts.prompt_tokens - counts.cached_tokens) * 1.0
        + counts.cached_tokens * 0.1
        + counts.completion_tokens * 2.0
    ) / 1e6
    assert counts.cost(config.price) == pytest.approx(expected)
    assert expected < counts.cost((1.0, 2.0)), "cached tokens cost less than the full prompt price"
    assert result.summary()["cached_tokens"] == counts.cached_tokens
    header = done.stdout.splitlines()[0].split()
    assert done.returncode == 0 and "cached" in header, done.stdout
    saved = json.loads((tmp_path / "run" / "results.json").read_text())
    assert saved["results"][0]["cached_tokens"] > 0 and saved["results"][1]["cached_tokens"] is None


def test_no_cached_column_when_no_server_reports_any(stub, tmp_path) -> None:
    import subprocess
    import sys

    _, url = stub
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "llmopt.cli",
            "run",
            "linear-regression",
            "--model",
            "stub",
            "--base-url",
            url,
            "--steps",
            "1",
            "--proposals",
            "2",
            "--methods",
            "opro",
            "--no-cache",
            "--out",
            str(tmp_path / "run"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0 and "cached" not in done.stdout.splitlines()[0], done.stdout
