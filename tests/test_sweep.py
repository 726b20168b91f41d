"""Sweeps: reading `--vary` and `--models`, crossing them, and what each variant changes."""

from __future__ import annotations

import pytest

from llmopt.bench.sweep import (
    Axis,
    apply_options,
    apply_settings,
    crossings,
    model_labels,
    model_settings,
    parse_models,
    parse_vary,
    suffix,
)
from llmopt.contract.problem import Option, UsageError

OPTIONS = (
    Option("--exemplars", int, 3, "shown examples"),
    Option("--position", str, "q_begin", "where", ("q_begin", "q_end")),
    Option("--real-valued", bool, False, "reals"),
)
OPRO = {
    "steps": 10,
    "proposals": 8,
    "initial": 5,
    "max_evals": None,
    "temperature": 1.0,
    "metaprompt": {"top_k": 20, "order": "ascending"},
}


def test_swept_settings_and_problem_options_are_read_with_their_types() -> None:
    assert parse_vary("temperature=0,0.5,2", OPTIONS) == Axis("temperature", "method", (0.0, 0.5, 2.0))
    assert parse_vary("order=ascending,random", OPTIONS) == Axis("order", "method", ("ascending", "random"))
    assert parse_vary("exemplars=0,3,10", OPTIONS) == Axis("exemplars", "problem", (0, 3, 10), "exemplars")
    assert parse_vary("real-valued=true,no", OPTIONS) == Axis("real-valued", "problem", (True, False), "real_valued")


@pytest.mark.parametrize(
    "text, message",
    [
        ("temperature", "KEY=V1,V2"),
        ("speed=1,2", "unknown setting 'speed'"),
        ("proposals=0,2", "cannot read"),
        ("temperature=-1", "cannot read"),
        ("order=sideways", "cannot read"),
        ("position=middle", "choose values"),
        ("top-k=3,3", "listed twice"),
        ("exemplars=a", "cannot read"),
        ("top-k=0,3", "cannot read"),
        ("temperature=0.5,0.50", "listed twice"),
        ("real-valued=true,1", "listed twice"),
    ],
)
def test_a_bad_sweep_is_a_usage_error(text: str, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        parse_vary(text, OPTIONS)


def test_proposals_keep_the_evaluation_budget_and_the_number_of_samples() -> None:
    for proposals in (1, 2, 3, 8, 16):
        changed = apply_settings(OPRO, {"proposals": proposals})
        assert changed["max_evals"] == 85 and changed["proposals"] == proposals
        steps = changed["steps"]
        assert steps * proposals >= 80 > (steps - 1) * proposals  # OPRO's 10 steps x 8 proposals
    fixed = apply_settings({**OPRO, "max_evals": 30}, {"proposals": 4})
    assert fixed["max_evals"] == 30 and fixed["steps"] == 20


def test_metaprompt_settings_change_only_their_own_setting() -> None:
    changed = apply_settings(OPRO, {"order": "random", "top-k": 3, "temperature": 0.5})
    assert changed["metaprompt"] == {"top_k": 3, "order": "random"} and changed["temperature"] == 0.5
    assert OPRO["metaprompt"]["top_k"] == 20  # the base settings are left alone
    axes = [Axis("real-valued", "problem", (True, False), "real_valued"), Axis("temperature", "method", (0.5,))]
    assert apply_options({"real_valued": False, "points": 5}, {"real-valued": True, "temperature": 0.5}, axes) == {
        "real_valued": True,
        "points": 5,
    }


def test_crossings_cross_only_the_axes_asked_for() -> None:
    axes = [
        Axis("temperature", "method", (0.5, 1.5)),
        Axis("exemplars", "problem", (0, 3)),
        Axis("model", "model", ("local", "q@http://h/v1")),
    ]
    assert crossings(axes, {"problem"}) == [{"exemplars": 0}, {"exemplars": 3}]
    assert len(crossings(axes, {"method", "model"})) == 4
    assert crossings(axes[1:2], {"method"}) == [{}]


def test_models_are_named_by_their_name_unless_two_share_it() -> None:
    axis = parse_models("local, qwen@http://a:1/v1, qwen@http://b:2/v1")
    labels = model_labels(axis)
    assert labels == {
        "local": "local",
        "qwen@http://a:1/v1": "qwen@http://a:1/v1",
        "qwen@http://b:2/v1": "qwen@http://b:2/v1",
    }
    assert suffix({"temperature": 0.5, "model": "local"}, labels) == "[temperature=0.5, model=local]"
    assert suffix({}) == ""
    assert model_settings("local@/tmp/m.gguf") == {"model": "local", "model_path": "/tmp/m.gguf", "base_url": None}
    assert model_settings("qwen@http://a:1/v1") == {"model": "qwen", "base_url": "http://a:1/v1", "model_path": None}
    with pytest.raises(UsageError, match="twice"):
        parse_models("local,local")
    with pytest.raises(UsageError, match="a name before '@'"):
        parse_models("local,@http://a:1/v1")


def test_the_layout_is_swept_as_an_ablation(capsys) -> None:
    import json

    from llmopt.cli import main
    from llmopt.testing.stub_server import StubSettings, serve

    assert parse_vary("layout=paper,cache", OPTIONS) == Axis("layout", "method", ("paper", "cache"))
    server, url = serve(StubSettings())
    try:
        code = main(
            [
                "bench",
                "linear-regression",
                "--seeds",
                "1",
                "--steps",
                "2",
                "--proposals",
                "2",
                "--methods",
                "opro",
                "--vary",
                "layout=paper,cache",
                "--model",
                "stub",
                "--base-url",
                url,
                "--json",
                "--no-cache",
                "--workers",
                "1",
            ]
        )
    finally:
        server.shutdown()
    runs = json.loads(capsys.readouterr().out)["runs"]
    assert code == 0 and sorted(row["variant"]["layout"] for row in runs) == ["cache", "paper"]
