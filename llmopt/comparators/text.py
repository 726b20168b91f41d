"""Black-box methods for free text: the hand-written texts of the space, and the model's random proposals."""

from __future__ import annotations

import dataclasses

from llmopt.comparators import ablations
from llmopt.comparators.base import Method, Objective, Setup, black_box
from llmopt.spaces import Text


def _fixed(text: str):
    def search(space: Text, f: Objective, setup: Setup) -> str:
        f(text)
        return "fixed"

    return search


def methods(space: Text) -> dict[str, Method]:
    """Each hand-written text, evaluated as it is, and the model's proposals without any score history."""
    found = {name: black_box(name, _fixed(text)) for name, text in space.handwritten.items()}
    no_history = dataclasses.replace(ablations.methods()["opro-no-history"], default=True)
    return {**found, no_history.name: no_history}
