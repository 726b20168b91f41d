"""The settings of model-driven methods that a sweep can vary (`--vary KEY=V1,V2`), and how each changes
the plain-data settings; methods name the knobs they read, so this module is theirs, not the bench's."""

from __future__ import annotations

import math
from typing import Any, Callable

from llmopt.values import non_negative_float, order, positive_int, selection

Settings = dict[str, Any]


def _temperature(opro: Settings, value: float) -> Settings:
    return {**opro, "temperature": value}


def _proposals(opro: Settings, value: int) -> Settings:
    """Proposals per step at an unchanged evaluation budget and number of samples: fewer proposals, more steps."""
    from llmopt.opro import OPROConfig

    budget = OPROConfig.from_dict(opro).evaluation_budget()  # the one budget rule
    steps = max(1, math.ceil(opro["steps"] * opro["proposals"] / value))
    return {**opro, "proposals": value, "steps": steps, "max_evals": budget}


def _metaprompt(key: str) -> Callable[[Settings, Any], Settings]:
    def change(opro: Settings, value: Any) -> Settings:
        return {**opro, "metaprompt": {**opro.get("metaprompt", {}), key: value}}

    return change


def _setting(key: str) -> Callable[[Settings, Any], Settings]:
    def change(opro: Settings, value: Any) -> Settings:
        return {**opro, key: value}

    return change


# key -> (how a value is read, how it changes OPRO's settings)


OPRO_KNOBS: dict[str, tuple[Callable[[str], Any], Callable[[Settings, Any], Settings]]] = {
    "temperature": (non_negative_float, _temperature),
    "proposals": (positive_int, _proposals),
    "order": (order, _metaprompt("order")),
    "top-k": (positive_int, _metaprompt("top_k")),
    "lmx-parents": (positive_int, _setting("lmx_parents")),
    "lmx-population": (positive_int, _setting("lmx_population")),
    "lmx-selection": (selection, _setting("lmx_selection")),
}


# the knobs OPRO itself reads: all but the settings of language-model crossover


OPRO_READS = frozenset(knob for knob in OPRO_KNOBS if not knob.startswith("lmx-"))


# the meta-prompt setting of each knob that sets one


METAPROMPT_KEYS = {"order": "order", "top-k": "top_k"}
