"""One limit per process on requests in flight, whoever sends them (optimizer fan-out, repairs, scorer)."""

from __future__ import annotations

import threading

import pytest

from llmopt.backends.limit import REQUESTS, request_limit
from llmopt.backends.openai_compat import OpenAIBackend
from llmopt.testing.stub_server import StubSettings, serve


@pytest.fixture
def limit_of_three():
    with request_limit(3):
        yield 3


def test_a_request_limit_puts_back_the_limit_before_it_even_after_an_error() -> None:
    with request_limit(7):
        with pytest.raises(RuntimeError):
            with request_limit(2):
                assert REQUESTS.limit == 2
                raise RuntimeError
        assert REQUESTS.limit == 7
        with request_limit(None):
            assert REQUESTS.limit == 7


def test_requests_in_flight_never_pass_the_process_limit(limit_of_three: int) -> None:
    from llmopt.problems.prompt_search.scorer import Scorer

    settings = StubSettings(latency=0.05, honour_n=False)
    server, url = serve(settings)
    try:
        optimizer = OpenAIBackend("stub", base_url=url)
        scorer = Scorer(OpenAIBackend("stub", base_url=url), concurrency=8)
        fan_out = [
            threading.Thread(
                target=optimizer.generate, args=("p",), kwargs=dict(n=8, temperature=1.0, max_tokens=4, seed=i)
            )
            for i in range(3)
        ]
        scoring = threading.Thread(target=scorer.answer_all, args=([f"q{i}" for i in range(12)],))
        for thread in [*fan_out, scoring]:
            thread.start()
        for thread in [*fan_out, scoring]:
            thread.join(timeout=60)
    finally:
        server.shutdown()
    assert settings.requests >= 3 * 8 + 12
    assert settings.max_in_flight == limit_of_three


def test_the_cli_applies_max_concurrency_to_its_requests_and_restores_it(tmp_path) -> None:
    from llmopt.cli import main

    settings = StubSettings(latency=0.05, honour_n=False)
    server, url = serve(settings)
    try:
        with request_limit(5):  # a caller's own limit, not the default, is what must come back
            code = main(
                [
                    "run",
                    "linear-regression",
                    "--model",
                    "stub",
                    "--base-url",
                    url,
                    "--steps",
                    "1",
                    "--proposals",
                    "8",
                    "--max-concurrency",
                    "2",
                    "--no-cache",
                    "--json",
                    "--out",
                    str(tmp_path / "r"),
                ]
            )
            after = REQUESTS.limit
    finally:
        server.shutdown()
    assert code == 0 and settings.requests >= 8
    assert settings.max_in_flight == 2
    assert after == 5  # nothing of the command stays behind in the process
