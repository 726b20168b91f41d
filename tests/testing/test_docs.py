"""The README states the time of every command it shows on the embedded model, each under two minutes."""

from __future__ import annotations

from pathlib import Path

from llmopt.testing.docs import commands

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()


def test_every_readme_command_on_the_embedded_model_states_its_time_under_two_minutes() -> None:
    shown = commands(README)
    embedded = [c for c in shown if c.embedded]
    assert len(embedded) >= 5 and any(not c.embedded for c in shown)
    for command in embedded:
        assert command.stated is not None, f"no time stated for: {command.text}"
        assert command.stated <= 120, f"over two minutes: {command.text}"


def test_the_main_job_states_its_time_too() -> None:
    assert "llmopt run linear-regression --steps 3" in README and "about 10 s once installed" in README


def test_commands_are_read_with_their_folder_and_time() -> None:
    text = (
        "```text\ncd examples\nllmopt run function --f m:x  # about 2 min\nllmopt bench s --model m --base-url u\n```"
    )
    first, second = commands(text)
    assert (first.folder, first.stated, first.embedded) == ("examples", 120.0, True)
    assert second.stated is None and not second.embedded
