"""The 0.5 module names keep working for one release: each warns and gives the module at its new home."""

from __future__ import annotations

import importlib
import subprocess
import sys
from collections.abc import Iterator

import pytest

from llmopt._moved import MOVED


@pytest.fixture
def forgotten() -> Iterator[None]:
    """Every 0.5 name imported afresh in the test, and forgotten again after it (the module and the package's
    attribute), so that the next test's first import warns too."""
    import llmopt

    saved = {old: sys.modules.pop(f"llmopt.{old}", None) for old in MOVED}
    attributes = {old: vars(llmopt).pop(old, None) for old in MOVED}
    yield
    for old in MOVED:
        sys.modules.pop(f"llmopt.{old}", None)
        vars(llmopt).pop(old, None)
        if saved[old] is not None:
            sys.modules[f"llmopt.{old}"] = saved[old]
        if attributes[old] is not None:
            setattr(llmopt, old, attributes[old])


@pytest.mark.parametrize("old", sorted(MOVED))
def test_a_moved_module_warns_and_is_its_new_home(old: str, forgotten: None) -> None:
    with pytest.warns(DeprecationWarning, match=rf"llmopt\.{old} moved to {MOVED[old][0]}"):
        module = importlib.import_module(f"llmopt.{old}")
    homes = [importlib.import_module(home) for home in MOVED[old]]
    if len(homes) == 1:
        assert module is homes[0], "patching the old name patches the real module"
        assert module.__spec__.name == MOVED[old][0], "the home keeps its own spec"
    for home in homes:
        public = {name for name in vars(home) if not name.startswith("__")}
        assert public <= set(vars(module)), f"{old} lacks names of {home.__name__}"


def test_the_warning_points_at_the_importing_line_and_names_read_as_before() -> None:
    code = (
        "import warnings; warnings.simplefilter('default')\n"
        "from llmopt.proposer import ModelProposer, Ask\n"
        "import llmopt\n"
        "print(ModelProposer.__module__, Ask.__module__, llmopt.driver.Driver.__module__)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["llmopt.methods.model.proposer", "llmopt.engine.proposer", "llmopt.engine.driver"]
    assert "<string>:2: DeprecationWarning: llmopt.proposer moved to llmopt.engine.proposer" in done.stderr
    assert "<string>:4: DeprecationWarning: llmopt.driver moved to llmopt.engine.driver" in done.stderr


def test_an_unknown_name_is_still_an_attribute_error() -> None:
    import llmopt

    with pytest.raises(AttributeError, match="no attribute 'nonesuch'"):
        _ = llmopt.nonesuch
