"""Deprecated: `Setup`, `Method` and `driven` moved to `llmopt.methods.method` in 0.4.0. This alias keeps them
for one release."""

from __future__ import annotations

import warnings

from llmopt.methods.method import *  # noqa: F401,F403
from llmopt.methods.method import Method, Setup, driven  # noqa: F401

warnings.warn("llmopt.method is now llmopt.methods.method; the old name goes in 0.5", DeprecationWarning,
              stacklevel=2)
