"""Fault tolerance against a fault-injecting proxy in front of a real llama.cpp server."""

from __future__ import annotations

import pytest

from llmopt.backends.base import BackendError
from llmopt.backends.openai_compat import OpenAIBackend
from llmopt.opro import OPRO, OPROConfig
from llmopt.problems.linear_regression import LinearRegression
from llmopt.testing.stub_server import FAULTS, StubSettings, serve


@pytest.fixture
def faulty(llama_server: str):
    settings = StubSettings(failure_rate=0.3, upstream=llama_server, stall=3.0, seed=7)
    server, url = serve(settings)
    yield settings, url
    server.shutdown()


def test_run_completes_with_30_percent_failures(faulty) -> None:
    settings, url = faulty
    backend = OpenAIBackend("smollm2", base_url=url, grammar_field="grammar", timeout=2.0, backoff=0.05, max_retries=6)
    result = OPRO(LinearRegression(), backend, OPROConfig(steps=4, proposals=4, answer_tokens=16)).run()
    assert result.stop_reason == "max_steps"
    # the grammar holds the format through every fault; it bounds digits, not the box itself
    assert result.counts.proposals >= 12 and set(result.counts.invalid) <= {"out of bounds"}
    assert sum(settings.injected.values()) >= 3, settings.injected


@pytest.mark.parametrize("fault", FAULTS)
def test_every_fault_kind_is_survived(fault: str, llama_server: str) -> None:
    settings = StubSettings(failure_rate=0.5, faults=(fault,), upstream=llama_server, stall=3.0, seed=3)
    server, url = serve(settings)
    try:
        backend = OpenAIBackend(
            "smollm2", base_url=url, grammar_field="grammar", timeout=2.0, backoff=0.05, max_retries=8
        )
        for seed in range(3):
            generation = backend.generate(
                "Say [1, 2].", n=1, temperature=0.0, max_tokens=8, seed=seed, grammar=LinearRegression().grammar()
            )
            LinearRegression().decode(generation.completions[0].text)
    finally:
        server.shutdown()
    assert settings.injected.get(fault, 0) >= 1


def test_a_dead_server_mid_run_fails_the_step_not_the_run() -> None:
    settings = StubSettings(failure_rate=1.0, faults=("500",))
    server, url = serve(settings)
    try:
        backend = OpenAIBackend("stub", base_url=url, max_retries=1, backoff=0.01)
        with pytest.raises(BackendError):
            backend.generate("p", n=2, temperature=1.0, max_tokens=4, seed=0)
        result = OPRO(LinearRegression(), backend, OPROConfig(steps=2, proposals=2)).run()
    finally:
        server.shutdown()
    assert result.stop_reason == "max_steps" and result.counts.failed_requests == 2
