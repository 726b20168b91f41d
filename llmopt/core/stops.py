"""Stop reasons that more than one layer names."""

from __future__ import annotations

CRASHED = "crashed"
# The stop reason of a search that ended by itself having seen nothing but failed evaluations.
EVERY_EVALUATION_FAILED = "every evaluation failed"
