"""One source for each setting: its declaration (`llmopt.core.settings.Setting`) gives the config's field
default, the flag, the flag's default and the help's "(default: ...)"; the CLI names a setting an error is
about by the same declaration, under every prefix (prompt search's `--scorer-...`)."""

from __future__ import annotations

import argparse
import dataclasses
from typing import Any

import pytest

from llmopt.backends import BACKEND_SETTINGS, BackendSpec
from llmopt.cli import build_parser
from llmopt.cli.options import flag_of
from llmopt.core.errors import UsageError
from llmopt.core.settings import Setting
from llmopt.engine.config import RUN_SETTINGS, MetaPromptConfig, RunConfig
from llmopt.methods import families

NO_FIELD = object()


def every_setting() -> list[Setting]:
    """The run's settings, every registered family's own (a plugin's too) and the optimizer model's."""
    own = [setting for family in families().values() for setting in family.settings]
    return [*RUN_SETTINGS, *own, *BACKEND_SETTINGS]


def field_default(setting: Setting) -> Any:
    """The default of the dataclass field that holds the setting (NO_FIELD for a method's own option)."""
    holder: Any = BackendSpec if setting in BACKEND_SETTINGS else RunConfig
    *path, name = setting.where
    if path == ["metaprompt"]:
        holder = MetaPromptConfig
    elif path:
        return NO_FIELD
    fields = {field.name: field for field in dataclasses.fields(holder)}
    return fields[name].default if name in fields else NO_FIELD


def sub_parser(parser: argparse.ArgumentParser, *path: str) -> argparse.ArgumentParser:
    for name in path:
        parser = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices[name]
    return parser


@pytest.fixture
def wide(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "10000")  # help lines unwrapped: a flag is never split at its hyphen


def flat(text: str) -> str:
    return " ".join(text.split())


@pytest.mark.parametrize("setting", every_setting(), ids=lambda setting: setting.key)
def test_a_settings_default_is_stated_once_and_reaches_the_field_the_flag_and_the_help(
    setting: Setting, wide: None
) -> None:
    parser = sub_parser(build_parser(), "run", "linear-regression")
    action = next(a for a in parser._actions if setting.flag_of() in a.option_strings)
    rendered = flat(parser.format_help())
    if field_default(setting) is not NO_FIELD:
        assert field_default(setting) == setting.default, "the config's field and the flag disagree"
    assert action.default == setting.default and action.dest == setting.key
    assert flat(setting.described) in rendered
    if setting.default is not None:
        assert "(default" not in setting.help, "the help writes a default by hand"
    if setting.default is not None and setting.read is not bool:
        assert f"(default: {setting.default})" in flat(action.help or "")
    assert flag_of(setting.key) == setting.flag_of()  # what an error about it names


@pytest.mark.parametrize("key", ["model", "base_url", "model_path", "max_retries"])
def test_the_scorers_flags_are_the_model_settings_under_its_prefix(key: str, wide: None) -> None:
    """Prompt search's scorer options are copies of the optimizer model's settings: the flag an error about
    the scorer's setting names is the option's own, with the same default."""
    parser = sub_parser(build_parser(), "run", "prompt-search")
    setting = next(setting for setting in BACKEND_SETTINGS if setting.key == key)
    action = next(a for a in parser._actions if flag_of(key, "scorer") in a.option_strings)
    assert action.default == setting.default == getattr(BackendSpec, key)
    error = UsageError.about("fix {" + key + "}", scope="scorer")
    assert error.naming(flag_of) == f"fix --scorer-{key.replace('_', '-')}" and str(error) == f"fix scorer_{key}"


def test_a_setup_reads_its_terms_from_the_config_it_holds() -> None:
    from llmopt.engine.evaluation import EvalSettings
    from llmopt.methods import Setup

    config = RunConfig(steps=3, proposals=2, initial=2, seed=5, target=1.0, eval_workers=3)
    setup = Setup(config=config, max_failures=4, evaluation=EvalSettings(workers=2))
    assert (setup.max_evals, setup.seed, setup.target, setup.max_failures, setup.evaluation.workers) == (
        8,
        5,
        1.0,
        4,
        2,
    )
    assert setup.config == dataclasses.replace(config, max_evals=8, max_failures=4, eval_workers=2)
    assert Setup(10, 1).config == RunConfig(max_evals=10, seed=1)
