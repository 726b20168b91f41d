"""Deprecated: the methods moved to `llmopt.methods` (the registry), `llmopt.methods.classical` and
`llmopt.methods.model` in 0.4.0. This alias keeps the names for one release."""

from __future__ import annotations

import importlib
import sys
import warnings

from llmopt.methods import *  # noqa: F401,F403
from llmopt.methods import __all__  # noqa: F401

# the old submodules, as the modules that took their place
for _old, _new in {"base": "classical.base", "box": "classical.box", "bits": "classical.bits",
                   "permutation": "classical.permutation", "library": "classical.library", "text": "classical.text",
                   "ablations": "model.ablations", "evoprompt": "model.evoprompt", "lmx": "model.lmx",
                   "store": "store"}.items():
    sys.modules[f"{__name__}.{_old}"] = importlib.import_module(f"llmopt.methods.{_new}")

warnings.warn("llmopt.comparators is now llmopt.methods; the old name goes in 0.5", DeprecationWarning, stacklevel=2)
