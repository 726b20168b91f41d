"""The modules that moved into the layer folders in 0.6, under their 0.5 names for one more release: importing
one warns and gives the module (or, for a module split in two, the names of both) at its new home."""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys
import types
import warnings
from collections.abc import Sequence
from typing import Any

# The 0.5 name (under `llmopt.`) -> the new homes; a name found in the first home wins.
MOVED: dict[str, tuple[str, ...]] = {
    "errors": ("llmopt.core.errors", "llmopt.core.stops"),
    "direction": ("llmopt.core.direction",),
    "values": ("llmopt.core.values",),
    "result": ("llmopt.core.result",),
    "stats": ("llmopt.core.stats",),
    "problem": ("llmopt.contract.problem",),
    "spaces": ("llmopt.contract.spaces",),
    "parsing": ("llmopt.contract.parsing",),
    "grammar": ("llmopt.contract.grammar",),
    "registry": ("llmopt.contract.registry",),
    "plugins": ("llmopt.contract.plugins",),
    "proposer": ("llmopt.engine.proposer", "llmopt.methods.model.proposer"),
    "ledger": ("llmopt.engine.ledger",),
    "driver": ("llmopt.engine.driver",),
    "evaluation": ("llmopt.engine.evaluation",),
    "stopping": ("llmopt.engine.stopping",),
    "storage": ("llmopt.engine.journal",),
    "records": ("llmopt.engine.records",),
    "settings": ("llmopt.engine.config", "llmopt.core.settings"),
    "comparison": ("llmopt.methods.comparison",),
    "answers": ("llmopt.methods.model.answers",),
    "metaprompt": ("llmopt.methods.model.metaprompt", "llmopt.engine.config"),
    "plots": ("llmopt.report.plots",),
    "health": ("llmopt.bench.health",),
    "sweep": ("llmopt.bench.sweep",),
    "optuna": ("llmopt.integrations.optuna",),
}


def _outside_the_import_system() -> int:
    """The `stacklevel` that points a warning at the code that imported. `warnings` skips importlib's frozen
    frames when it counts; the frames of this module, of `importlib.import_module` and of the package's
    `__getattr__` (`llmopt.driver` read as an attribute) are counted past."""
    ours = (__file__, importlib.__file__, sys.modules["llmopt"].__file__)
    frame, level = sys._getframe(1), 1
    while frame is not None and (
        frame.f_code.co_filename.startswith("<frozen importlib") or frame.f_code.co_filename in ours
    ):
        level += frame.f_code.co_filename in ours
        frame = frame.f_back  # type: ignore[assignment]
    return level


class _Alias(importlib.abc.Loader):
    """Loads a 0.5 module name as its new home, with a DeprecationWarning."""

    def __init__(self, old: str, homes: Sequence[str]) -> None:
        self.old, self.homes = old, tuple(homes)
        self.spec: importlib.machinery.ModuleSpec | None = None

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType:
        """The home module itself for a plain move (so patching it patches the real one), a merge for a split."""
        homes = [importlib.import_module(home) for home in self.homes]
        if len(homes) == 1:
            self.spec = homes[0].__spec__  # the import system writes the alias's spec over it; exec puts it back
            return homes[0]
        merged = types.ModuleType(spec.name, homes[0].__doc__)
        for home in reversed(homes):
            merged.__dict__.update({k: v for k, v in vars(home).items() if not k.startswith("__")})
        return merged

    def exec_module(self, module: types.ModuleType) -> None:
        """Warn where the old name was imported."""
        if self.spec is not None:
            module.__spec__ = self.spec
        warnings.warn(
            f"{self.old} moved to {self.homes[0]}; the old name goes in llmopt 0.8",
            DeprecationWarning,
            stacklevel=_outside_the_import_system(),
        )


class MovedFinder(importlib.abc.MetaPathFinder):
    """Finds `llmopt.<0.5 name>` for the modules in `MOVED`."""

    def find_spec(self, fullname: str, path: Any, target: Any = None) -> importlib.machinery.ModuleSpec | None:
        """A spec whose loader is the alias, for a moved name; None for every other."""
        package, _, name = fullname.rpartition(".")
        if package != "llmopt" or name not in MOVED:
            return None
        return importlib.machinery.ModuleSpec(fullname, _Alias(fullname, MOVED[name]))


def install() -> None:
    """Put the finder on `sys.meta_path` once."""
    if not any(isinstance(finder, MovedFinder) for finder in sys.meta_path):
        sys.meta_path.append(MovedFinder())
