"""The openai client against a real OpenAI-compatible server (llama_cpp.server) on 127.0.0.1."""

from __future__ import annotations

from llmopt.backends import make_backend
from llmopt.opro import OPRO, OPROConfig
from llmopt.problems.linear_regression import LinearRegression


def test_generate_with_grammar_through_the_server(llama_server: str) -> None:
    problem = LinearRegression()
    backend = make_backend("smollm2", base_url=llama_server)
    generation = backend.generate(
        problem.describe() + "\n" + problem.format_hint(),
        n=4,
        temperature=1.0,
        max_tokens=24,
        seed=5,
        grammar=problem.grammar(),
    )
    assert len(generation.completions) == 4
    for completion in generation.completions:
        problem.decode(completion.text)
    assert generation.prompt_tokens > 0


def test_opro_run_through_the_server(llama_server: str) -> None:
    backend = make_backend("smollm2", base_url=llama_server)
    result = OPRO(LinearRegression(), backend, OPROConfig(steps=2, proposals=4, answer_tokens=24)).run()
    assert result.stop_reason == "max_steps"
    assert result.counts.proposals == 8 and result.counts.n_invalid == 0
    assert result.counts.evals >= 6 and result.counts.llm_calls >= 2


def test_auto_detection_sends_the_grammar_to_a_real_llama_cpp_server(llama_server: str) -> None:
    """`--server-grammar auto` asks the server what it reads; llama-cpp-python's shows `grammar` in its schema,
    and the grammar then reaches it in every request (counted by a forwarding proxy)."""
    from llmopt.backends.probe import grammar_support
    from llmopt.testing.stub_server import StubSettings, serve

    settings = StubSettings(upstream=llama_server)
    proxy, url = serve(settings)
    try:
        assert grammar_support(url) == "llama.cpp"
        backend = make_backend("smollm2", base_url=url, cache=None)
        result = OPRO(LinearRegression(), backend, OPROConfig(steps=1, proposals=3, answer_tokens=24)).run()
    finally:
        proxy.shutdown()
    assert backend.grammar_field == "grammar"
    assert settings.bodies and all(body.get("grammar") == LinearRegression().grammar() for body in settings.bodies)
    assert result.counts.proposals == 3 and result.counts.n_invalid == 0
