"""Errors by kind: what may pass is retried, what cannot is one refusal, a server gone is a stop."""

from __future__ import annotations

import pytest

from llmopt.backends.openai_compat import OpenAIBackend
from llmopt.backends.probe import _from_openapi, grammar_support, server_root
from llmopt.cli.options import flag_of
from llmopt.contract.problem import evaluate_safely
from llmopt.core.errors import ModelRefused, ServerUnreachable
from llmopt.engine.records import RunRecorder, read_pending, read_steps
from llmopt.opro import OPRO, OPROConfig
from llmopt.problems.linear_regression import LinearRegression
from llmopt.testing.llama_server import free_port
from llmopt.testing.stub_server import StubSettings, serve


def test_a_dead_server_is_unreachable_then_asked_once_per_request() -> None:
    backend = OpenAIBackend("m", base_url=f"http://127.0.0.1:{free_port()}/v1", max_retries=2, backoff=0.01)
    with pytest.raises(ServerUnreachable, match="stopped answering .*3 attempts in a row"):
        backend.generate("p", n=1, temperature=1.0, max_tokens=8)
    with pytest.raises(ServerUnreachable, match="1 attempt in a row"):
        backend.generate("p", n=1, temperature=1.0, max_tokens=8)


def test_a_server_back_again_is_used_again() -> None:
    settings = StubSettings()
    server, url = serve(settings)
    port = int(url.split(":")[2].split("/")[0])
    server.shutdown()
    server.server_close()
    backend = OpenAIBackend("m", base_url=url, max_retries=0)
    with pytest.raises(ServerUnreachable):
        backend.generate("p", n=1, temperature=1.0, max_tokens=8)
    again, _ = serve(settings, port)
    try:
        assert backend.generate("p", n=2, temperature=1.0, max_tokens=8, seed=1).completions
        assert backend._down is None
    finally:
        again.shutdown()


def test_the_optimizer_gone_stops_opro_with_its_reason_and_an_intact_journal(tmp_path) -> None:
    settings = StubSettings()
    server, url = serve(settings)
    config = OPROConfig(steps=5, proposals=2, initial=2)
    backend = OpenAIBackend("m", base_url=url, max_retries=1, backoff=0.01)
    recorder = RunRecorder(tmp_path / "run", {"opro": config.to_dict()})
    opro = OPRO(LinearRegression(), backend, config, recorder)
    ask = opro.ask()
    opro.evaluate(ask)
    opro.tell(ask)
    settings.failure_rate, settings.faults = 1.0, ("drop",)  # every connection dropped from now on
    try:
        result = opro.run()
    finally:
        server.shutdown()
    assert result.stop_reason == "model_unreachable" and "stopped answering" in result.extra["error"]
    assert [s["step"] for s in read_steps(tmp_path / "run")] == [0, 1] and read_pending(tmp_path / "run") is None
    assert opro.step == 1, "the step that got no answer is asked again on resume"


@pytest.mark.parametrize("error", [ModelRefused("401"), ServerUnreachable("gone")])
def test_a_scorer_that_refuses_or_is_gone_ends_the_run_instead_of_failing_a_trial(error: Exception) -> None:
    def evaluate(_):
        raise error

    with pytest.raises(type(error)):
        evaluate_safely(evaluate, 1)
    assert evaluate_safely(lambda _: 1 / 0, 1)[2] == "failed"


@pytest.mark.parametrize(
    "status, fix",
    [
        (401, "check OPENAI_API_KEY"),
        (403, "check OPENAI_API_KEY and --model"),
        (404, "check --model"),
        (400, "check --model and the settings"),
        (422, "check --model and the settings"),
    ],
)
def test_each_refusal_names_its_fix_once(status: int, fix: str) -> None:
    settings = StubSettings(family=f"refuse-{status}")
    server, url = serve(settings)
    try:
        backend = OpenAIBackend("m", base_url=url, max_retries=3)
        with pytest.raises(ModelRefused) as refused:
            backend.generate("p", n=1, temperature=1.0, max_tokens=8)
    finally:
        server.shutdown()
    assert fix in refused.value.naming(flag_of)  # the CLI names the flags
    assert fix.replace("--", "") in str(refused.value)  # Python, the keywords
    assert refused.value.status == status and f"HTTP {status}: " in str(refused.value)
    assert len(settings.bodies) == 1, "a refusal is not asked again"


def test_a_server_that_answers_405_for_raw_completions_gets_the_list_in_a_chat_message() -> None:
    """A 405 (no such route) is refused at once, and `complete` falls back to the chat endpoint for good."""
    settings = StubSettings(family="chat-only-405")
    server, url = serve(settings)
    try:
        backend = OpenAIBackend("m", base_url=url, max_retries=3)
        answers = [backend.complete("[1, 2]\n", n=1, temperature=1.0, max_tokens=8, seed=i) for i in range(2)]
    finally:
        server.shutdown()
    assert all(a.completions for a in answers)
    assert sum("prompt" in body for body in settings.bodies) == 1, "a 405 is not asked again, nor the route again"
    assert backend.adaptations == ["raw completion not served: the few-shot list was sent in a chat message"]


def test_concurrent_requests_refused_for_the_same_field_are_all_adapted() -> None:
    """Eight scorer-like requests at once, each refused for max_tokens and temperature: one adapts, none fails."""
    from concurrent.futures import ThreadPoolExecutor

    settings = StubSettings(family="openai-reasoning")
    server, url = serve(settings)
    try:
        backend = OpenAIBackend("m", base_url=url)
        with ThreadPoolExecutor(8) as pool:
            answers = list(
                pool.map(lambda i: backend.generate("p", n=1, temperature=0.0, max_tokens=8, seed=i), range(8))
            )
    finally:
        server.shutdown()
    assert all(a.completions for a in answers)
    assert backend.adaptations == [
        "max_completion_tokens sent for max_tokens, with room for reasoning: the model wants it",
        "temperature 1 used: the model accepts no other",
    ]


def test_a_bad_value_is_refused_not_dropped() -> None:
    """A refusal of a value (not of the field) must not silently drop the field for the rest of the run."""
    backend = OpenAIBackend("m", base_url="http://127.0.0.1:9/v1")

    class Refusal:  # what the client raises, as far as `_adapt` reads it
        status_code, code, param = 400, None, "temperature"
        body = {"message": "temperature: Expected a value <= 1, but got 1.5", "param": "temperature"}

    assert backend._adapt(Refusal(), {"temperature": 1.5, "model": "m", "messages": []}) is False
    assert backend.adaptations == [] and "temperature" not in backend._dropped


def test_the_scorers_refusal_names_the_scorers_settings() -> None:
    settings = StubSettings(family="refuse-404")
    server, url = serve(settings)
    try:
        with pytest.raises(ModelRefused, match="check scorer_model") as refused:
            OpenAIBackend("m", base_url=url, scope="scorer").generate("p", n=1, temperature=0, max_tokens=8)
    finally:
        server.shutdown()
    assert refused.value.settings() == ["model", "base_url"] and refused.value.scope == "scorer"
    assert "check --scorer-model (" in refused.value.naming(flag_of)


@pytest.mark.parametrize(
    "family, support", [("llama.cpp", "llama.cpp"), ("vllm", "vllm"), ("plain", "none"), ("strict", "none")]
)
def test_the_grammar_field_is_found_by_asking_the_server(family: str, support: str) -> None:
    server, url = serve(StubSettings(family=family))
    try:
        assert grammar_support(url) == support
    finally:
        server.shutdown()


def test_a_servers_schema_tells_what_its_chat_request_takes() -> None:
    def schema(*fields: str) -> dict:
        return {
            "components": {
                "schemas": {
                    "CreateChatCompletionRequest": {"properties": dict.fromkeys(fields, {})},
                    "Other": {"properties": {"grammar": {}}},
                }
            }
        }

    assert _from_openapi(schema("messages", "grammar")) == "llama.cpp"
    assert _from_openapi(schema("messages", "structured_outputs")) == "vllm"
    assert _from_openapi(schema("messages", "guided_grammar")) == "vllm-legacy"
    assert _from_openapi(schema("messages")) == "none" and _from_openapi(None) == "none"
    assert server_root("http://h:8000/v1/") == "http://h:8000" and server_root("http://h/api") == "http://h/api"
