"""The 0.5 names that 0.6 moved are gone in 0.8, as their warnings promised: each fails with the error
Python gives any name a package does not have, and no alias of them comes back."""

from __future__ import annotations

import importlib
import subprocess
import sys
import types

import pytest

# Every 0.5 module name (under `llmopt.`) that warned "the old name goes in llmopt 0.8", and its 0.8 home.
GONE: dict[str, str] = {
    "errors": "llmopt.core.errors",
    "direction": "llmopt.core.direction",
    "values": "llmopt.core.values",
    "result": "llmopt.core.result",
    "stats": "llmopt.core.stats",
    "problem": "llmopt.contract.problem",
    "spaces": "llmopt.contract.spaces",
    "parsing": "llmopt.contract.parsing",
    "grammar": "llmopt.contract.grammar",
    "registry": "llmopt.contract.registry",
    "plugins": "llmopt.contract.plugins",
    "proposer": "llmopt.engine.proposer",
    "ledger": "llmopt.engine.ledger",
    "driver": "llmopt.engine.driver",
    "evaluation": "llmopt.engine.evaluation",
    "stopping": "llmopt.engine.stopping",
    "storage": "llmopt.engine.journal",
    "records": "llmopt.engine.records",
    "settings": "llmopt.engine.config",
    "comparison": "llmopt.methods.comparison",
    "answers": "llmopt.methods.model.answers",
    "metaprompt": "llmopt.methods.model.metaprompt",
    "plots": "llmopt.report.plots",
    "health": "llmopt.bench.health",
    "sweep": "llmopt.bench.sweep",
    "optuna": "llmopt.integrations.optuna",
}


@pytest.mark.parametrize("old", sorted(GONE))
def test_a_05_module_name_no_longer_imports(old: str) -> None:
    importlib.import_module(GONE[old])  # the home is loaded: the old name must not come back through it
    with pytest.raises(ModuleNotFoundError, match=rf"No module named 'llmopt\.{old}'"):
        importlib.import_module(f"llmopt.{old}")


@pytest.mark.parametrize("old", sorted(GONE))
def test_a_05_module_name_is_no_attribute_of_the_package(old: str) -> None:
    import llmopt

    # `llmopt.registry` is the registry function that `llmopt` exports, not the module of 0.5
    assert not isinstance(getattr(llmopt, old, None), types.ModuleType), f"llmopt.{old} is a module again"


def test_the_05_names_inside_modules_are_gone() -> None:
    import llmopt.contract
    import llmopt.contract.problem

    with pytest.raises(AttributeError, match="no attribute 'check_method'"):
        _ = llmopt.contract.check_method
    with pytest.raises(ImportError, match="cannot import name 'Outcome'"):
        from llmopt.contract.problem import Outcome  # noqa: F401
    with pytest.raises(ImportError, match="cannot import name 'check_method'"):
        from llmopt.contract import check_method  # noqa: F401


def test_a_fresh_interpreter_finds_no_old_name_and_installs_no_finder() -> None:
    code = (
        "import sys, llmopt\n"
        "print([type(f).__module__ for f in sys.meta_path if type(f).__module__.startswith('llmopt')])\n"
        "from llmopt.proposer import Ask\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.stdout.split() == ["[]"], "llmopt puts no import finder of its own on sys.meta_path"
    assert done.returncode == 1
    assert done.stderr.strip().splitlines()[-1] == "ModuleNotFoundError: No module named 'llmopt.proposer'"


def test_an_unknown_name_is_still_an_attribute_error() -> None:
    import llmopt

    with pytest.raises(AttributeError, match="no attribute 'nonesuch'"):
        _ = llmopt.nonesuch
