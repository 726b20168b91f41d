"""`llmopt run --model NAME --base-url URL` against stub servers that behave as today's servers do.

Each family gets a run with valid proposals (with the documented flag where one is needed), or a
one-line error and exit status 2; never a table that looks like a result.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from llmopt.cli import main
from llmopt.testing.stub_server import DECOY, StubSettings, serve


@pytest.fixture
def family(request: pytest.FixtureRequest) -> Iterator[tuple[StubSettings, str]]:
    settings = StubSettings(family=request.param)
    server, url = serve(settings)
    yield settings, url
    server.shutdown()


def run(url: str, out: Path, *flags: str) -> list[str]:
    return [
        "run",
        "linear-regression",
        "--model",
        "stub",
        "--base-url",
        url,
        "--steps",
        "3",
        "--json",
        "--no-cache",
        "--methods",
        "opro",
        "random-search",
        "--out",
        str(out),
        *flags,
    ]


def opro_row(capsys: pytest.CaptureFixture[str]) -> tuple[dict, dict, str]:
    captured = capsys.readouterr()
    payload = json.loads(captured.out)
    return payload, payload["results"][0], captured.err


def trials(out: Path) -> list[dict]:
    return [t for line in (out / "steps.jsonl").read_text().splitlines() for t in json.loads(line)["trials"]]


@pytest.mark.parametrize(
    "family", ["plain", "llama.cpp", "vllm", "strict", "openai-reasoning", "thinking"], indirect=True
)
def test_every_family_gives_valid_proposals(family, tmp_path: Path, capsys) -> None:
    settings, url = family
    assert main(run(url, tmp_path / "run")) == 0
    payload, opro, _ = opro_row(capsys)
    assert opro["proposals"] == 24 and opro["invalid"] == 0, payload
    assert all(DECOY not in (t.get("text") or "") for t in trials(tmp_path / "run")), "nothing from the reasoning"


@pytest.mark.parametrize("family", ["llama.cpp", "vllm"], indirect=True)
def test_auto_sends_the_grammar_in_the_field_the_server_reads(family, tmp_path: Path, capsys) -> None:
    settings, url = family
    assert main(run(url, tmp_path / "run")) == 0
    assert settings.grammars == len(settings.bodies) > 0


@pytest.mark.parametrize("family", ["plain", "strict"], indirect=True)
def test_auto_sends_no_grammar_where_the_server_says_nothing(family, tmp_path: Path, capsys) -> None:
    settings, url = family
    assert main(run(url, tmp_path / "run")) == 0
    assert not any({"grammar", "guided_grammar", "structured_outputs"} & set(body) for body in settings.bodies)


@pytest.mark.parametrize("family", ["vllm"], indirect=True)
def test_the_legacy_vllm_field_is_what_vllm_0_12_ignores(family, tmp_path: Path, capsys) -> None:
    settings, url = family
    assert main(run(url, tmp_path / "run", "--server-grammar", "vllm-legacy")) == 0
    assert settings.grammars == 0 and all("guided_grammar" in body for body in settings.bodies)


@pytest.mark.parametrize("family", ["strict"], indirect=True)
def test_a_body_checking_provider_gets_no_grammar_field_after_refusing_it(family, tmp_path: Path, capsys) -> None:
    settings, url = family
    assert main(run(url, tmp_path / "run", "--server-grammar", "llama.cpp")) == 0
    payload, opro, _ = opro_row(capsys)
    assert opro["invalid"] == 0 and opro["proposals"] == 24
    note = "grammar not sent: the server does not take the field 'grammar'"
    assert payload["adaptations"] == [note]
    assert json.loads((tmp_path / "run" / "config.json").read_text())["adaptations"] == [note]
    assert "grammar" in settings.bodies[0] and all("grammar" not in body for body in settings.bodies[1:])


@pytest.mark.parametrize("family", ["openai-reasoning"], indirect=True)
def test_openai_reasoning_rules_are_adapted_once_and_said(family, tmp_path: Path, capsys) -> None:
    settings, url = family
    assert main(run(url, tmp_path / "run", "--temperature", "0.7")) == 0
    payload, opro, _ = opro_row(capsys)
    assert opro["invalid"] == 0 and opro["reasoning_tokens"] > 0
    assert opro["tokens"] >= opro["reasoning_tokens"], "hidden reasoning counts in the tokens column"
    assert "temperature 1 used: the model accepts no other" in payload["adaptations"]
    answered = [body for body in settings.bodies[2:]]
    assert answered and all("max_tokens" not in b and "temperature" not in b for b in answered)
    assert all(b["max_completion_tokens"] > 128 for b in answered), "room for the hidden reasoning"


@pytest.mark.parametrize("family", ["openai-reasoning"], indirect=True)
def test_the_text_table_footer_names_each_adaptation(family, tmp_path: Path, capsys) -> None:
    _, url = family
    flags = [f for f in run(url, tmp_path / "run", "--temperature", "0.5") if f != "--json"]
    assert main(flags) == 0
    out = capsys.readouterr().out
    assert "note: temperature 1 used: the model accepts no other" in out
    assert "note: max_completion_tokens sent for max_tokens" in out


@pytest.mark.parametrize("family", ["thinking"], indirect=True)
def test_thinking_keeps_reasoning_in_the_journal_and_out_of_the_meta_prompt(family, tmp_path: Path, capsys) -> None:
    settings, url = family
    assert main(run(url, tmp_path / "run")) == 0
    steps = [json.loads(line) for line in (tmp_path / "run" / "steps.jsonl").read_text().splitlines()]
    answered = [t for step in steps[1:] for t in step["trials"]]
    assert answered and all(t["reasoning"] and DECOY in t["reasoning"] and "<think>" not in t["raw"] for t in answered)
    assert all("Let me try" not in (step["meta_prompt"] or "") for step in steps)
    assert all(
        len(body["messages"]) == 1 and "Let me try" not in body["messages"][0]["content"] for body in settings.bodies
    )


@pytest.mark.parametrize("family", ["thinking"], indirect=True)
def test_answers_cut_off_in_their_reasoning_say_so_and_warn(family, tmp_path: Path, capsys) -> None:
    _, url = family
    assert main(run(url, tmp_path / "run", "--reasoning-tokens", "50")) == 0
    payload, opro, err = opro_row(capsys)
    reason = "answer cut off inside its reasoning at 178 tokens; raise --reasoning-tokens"
    assert {t["reason"] for t in trials(tmp_path / "run") if t["status"] == "invalid"} == {reason}
    assert opro["invalid"] == 24
    assert "warning: 24 of 24 answers were cut off by the token limit" in err and payload["warning"]


@pytest.mark.parametrize("family", ["thinking"], indirect=True)
def test_a_server_that_ignores_n_gets_concurrent_requests(family, tmp_path: Path, capsys) -> None:
    settings, url = family
    settings.latency = 0.2  # long enough for the four requests of a step to overlap, however busy the machine
    assert main(run(url, tmp_path / "run", "--proposals", "4")) == 0
    _, opro, _ = opro_row(capsys)
    assert opro["proposals"] == 12 and opro["invalid"] == 0
    assert all("n" not in body or body["n"] == 4 for body in settings.bodies)
    assert settings.max_in_flight >= 2


@pytest.mark.parametrize("family", ["refuse-401", "refuse-404", "refuse-400"], indirect=True)
def test_a_server_that_refuses_every_request_is_one_line_and_exit_2(family, tmp_path: Path, capsys) -> None:
    settings, url = family
    assert main(run(url, tmp_path / "run")) == 2
    captured = capsys.readouterr()
    assert captured.out == "", "no table, no JSON: nothing that looks like a result"
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("llmopt: error: ") and "Traceback" not in captured.err
    fix = {"refuse-401": "check OPENAI_API_KEY", "refuse-404": "check --model", "refuse-400": "string too long"}[
        settings.family
    ]
    assert fix in lines[0]
    assert len([b for b in settings.bodies]) <= 1, "a refusal is not asked again"
    if settings.family != "refuse-401":  # the key is checked before the run starts
        assert "--resume" in lines[0] and (tmp_path / "run" / "steps.jsonl").is_file()


def test_most_requests_failing_is_no_comparison(tmp_path: Path, capsys) -> None:
    settings = StubSettings(failure_rate=1.0, faults=("503",))
    server, url = serve(settings)
    try:
        code = main([f for f in run(url, tmp_path / "run", "--steps", "1", "--max-retries", "1") if f != "--json"])
    finally:
        server.shutdown()
    out = capsys.readouterr().out
    assert code == 3
    assert out.startswith(
        "NOT A COMPARISON: opro: 1 of 1 model requests failed (last: request failed after 2 "
        "attempts (HTTP 503: injected 503))"
    )


def test_price_gives_a_cost_column_and_max_cost_stops(tmp_path: Path, capsys) -> None:
    settings = StubSettings()
    server, url = serve(settings)
    try:
        assert main(run(url, tmp_path / "run", "--steps", "10", "--price", "1000,1000", "--max-cost", "0.5")) == 0
    finally:
        server.shutdown()
    _, opro, _ = opro_row(capsys)
    assert opro["stop_reason"] == "max_cost" and 0.5 <= opro["cost_usd"]
    assert opro["cost_usd"] == pytest.approx(opro["tokens"] * 1000 / 1e6)
    assert opro["proposals"] < 80


def test_max_cost_without_a_price_is_a_usage_error(capsys) -> None:
    assert main(["run", "linear-regression", "--max-cost", "1"]) == 2
    assert "--max-cost needs --price" in capsys.readouterr().err


@pytest.mark.parametrize("family", ["openai-reasoning"], indirect=True)
def test_reasoning_effort_is_sent_and_gives_room_from_the_first_request(family, tmp_path: Path, capsys) -> None:
    settings, url = family
    assert main(run(url, tmp_path / "run", "--reasoning-effort", "low", "--steps", "1")) == 0
    answered = [b for b in settings.bodies if "max_completion_tokens" in b]
    assert answered and all(
        b["reasoning_effort"] == "low" and b["max_completion_tokens"] == 128 + 4096 for b in answered
    )


@pytest.mark.parametrize("family", ["strict"], indirect=True)
def test_reasoning_effort_is_dropped_with_a_note_where_the_server_refuses_it(family, tmp_path: Path, capsys) -> None:
    settings, url = family
    from llmopt.testing import stub_server

    original = stub_server.OPENAI_FIELDS
    stub_server.OPENAI_FIELDS = original - {"reasoning_effort"}  # a provider without reasoning models
    try:
        assert main(run(url, tmp_path / "run", "--reasoning-effort", "low", "--steps", "1")) == 0
    finally:
        stub_server.OPENAI_FIELDS = original
    payload, opro, _ = opro_row(capsys)
    assert "reasoning effort not sent: the server does not take it" in payload["adaptations"]
    assert opro["invalid"] == 0 and "reasoning_effort" not in settings.bodies[-1]


def test_reasoning_effort_is_refused_for_the_embedded_model(capsys) -> None:
    assert main(["run", "linear-regression", "--reasoning-effort", "low"]) == 2
    assert "--reasoning-effort is for model servers" in capsys.readouterr().err


def test_the_text_table_shows_the_cost_column(tmp_path: Path, capsys) -> None:
    server, url = serve(StubSettings())
    try:
        flags = [f for f in run(url, tmp_path / "run", "--steps", "1", "--price", "2.5,10") if f != "--json"]
        assert main(flags) == 0
    finally:
        server.shutdown()
    header, _, opro_line = capsys.readouterr().out.splitlines()[:3]
    assert "cost $" in header and opro_line.split()[0] == "opro"
