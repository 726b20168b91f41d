"""`python -m llmopt.cli`: the `llmopt` command."""

from __future__ import annotations

import sys

from llmopt.cli import main

sys.exit(main())
