"""Deprecated: the methods moved to `llmopt.methods` (the registry), `llmopt.methods.classical` and
`llmopt.methods.model` in 0.4.0. This alias keeps the names for one release."""

from __future__ import annotations

import warnings

from llmopt.methods import *  # noqa: F401,F403
from llmopt.methods import __all__  # noqa: F401

warnings.warn("llmopt.comparators is now llmopt.methods; the old name goes in 0.5", DeprecationWarning, stacklevel=2)
