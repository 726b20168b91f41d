"""Black-box methods for free text: the hand-written texts of the space, the model's proposals without
any score history, and EvoPrompt's genetic algorithm and differential evolution."""

from __future__ import annotations

import dataclasses

from llmopt.contract.spaces import Text
from llmopt.core.stops import FIXED
from llmopt.methods.classical.base import Method, Methods, Objective, Search, Setup, black_box
from llmopt.methods.model import ablations, evoprompt


def _fixed(text: str) -> Search:
    def search(space: Text, f: Objective, setup: Setup) -> str:
        f(text)
        return FIXED

    return search


def methods(space: Text) -> dict[str, Method]:
    """Each hand-written text evaluated as it is, the model's proposals without any score history, and EvoPrompt."""
    found = {name: black_box(name, _fixed(text)) for name, text in space.handwritten.items()}
    no_history = dataclasses.replace(ablations.methods()["opro-no-history"], default=True)
    return {**found, no_history.name: no_history, **evoprompt.methods(space)}


METHODS = Methods.of_space(Text, methods, rank=40)
