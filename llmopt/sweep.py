"""Sweeps of a bench: OPRO's settings, the problem's options and the optimizer models, each a list of
values; several sweeps are crossed. A sweep of OPRO's settings or of the model changes only the methods
that sample the model; a sweep of the problem's options changes the task every method solves."""

from __future__ import annotations

import argparse
import itertools
import math
from dataclasses import dataclass
from typing import Any, Callable, Collection, Sequence

from llmopt.problem import Option, UsageError


@dataclass(frozen=True)
class Axis:
    """One swept setting: its key, what it changes ("opro", "problem" or "model"), its values, and for a
    problem option the keyword it sets."""

    key: str
    changes: str
    values: tuple[Any, ...]
    dest: str = ""


Settings = dict[str, Any]


def _temperature(opro: Settings, value: float) -> Settings:
    return {**opro, "temperature": value}


def _proposals(opro: Settings, value: int) -> Settings:
    """Proposals per step at an unchanged evaluation budget and number of samples: fewer proposals, more steps."""
    budget = opro.get("max_evals") or opro["initial"] + opro["steps"] * opro["proposals"]
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


def selection(text: str) -> str:
    """How LMX draws parents: uniform (at random from the population) or tournament (the better of two)."""
    if text not in ("uniform", "tournament"):
        raise ValueError(f"the selection is uniform or tournament, not {text!r}")
    return text


def order(text: str) -> str:
    """A meta-prompt order: ascending (the paper's, best last), descending or random."""
    if text not in ("ascending", "descending", "random"):
        raise ValueError(f"the order is ascending, descending or random, not {text!r}")
    return text


def price(text: str) -> tuple[float, float]:
    """Dollars per million prompt and completion tokens, written IN,OUT (e.g. 0.15,0.6)."""
    parts = text.split(",")
    if len(parts) != 2:
        raise ValueError(f"write the price as IN,OUT dollars per million prompt and completion tokens, not {text!r}")
    return non_negative_float(parts[0]), non_negative_float(parts[1])


def _number(read: Callable[[str], Any], text: str, what: str) -> Any:
    try:
        return read(text)
    except (TypeError, ValueError):
        raise ValueError(f"must be {what}, got {text!r}") from None


def positive_int(text: str) -> int:
    """An integer of at least 1."""
    value = _number(int, text, "a positive integer")
    if value < 1:
        raise ValueError(f"must be a positive integer, got {text}")
    return value


def non_negative_int(text: str) -> int:
    """A whole number of at least 0."""
    value = _number(int, text, "a whole number of at least 0")
    if value < 0:
        raise ValueError(f"must be a whole number of at least 0, got {text}")
    return value


MAX_SEED = 2**32 - 1


def seed(text: str) -> int:
    """A seed: a whole number from 0 to 2**32 - 1 (what every generator and model server takes)."""
    value = _number(int, text, f"a whole number from 0 to {MAX_SEED}")
    if not 0 <= value <= MAX_SEED:
        raise ValueError(f"must be a whole number from 0 to {MAX_SEED}, got {text}")
    return value


def non_negative_float(text: str) -> float:
    """A finite number of at least 0 (a sampling temperature)."""
    value = _number(float, text, "a number of at least 0")
    if not 0 <= value < math.inf:
        raise ValueError(f"must be a finite number of at least 0, got {text}")
    return value


def positive_float(text: str) -> float:
    """A finite number above 0 (seconds)."""
    value = _number(float, text, "a number above 0")
    if not 0 < value < math.inf:
        raise ValueError(f"must be a finite number above 0, got {text}")
    return value


def finite_float(text: str) -> float:
    """Any finite number (a target value)."""
    value = _number(float, text, "a number")
    if not math.isfinite(value):
        raise ValueError(f"must be a finite number, got {text}")
    return value


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


def _boolean(text: str) -> bool:
    words = {"true": True, "yes": True, "1": True, "false": False, "no": False, "0": False}
    if text.lower() not in words:
        raise ValueError(text)
    return words[text.lower()]


def parse_vary(text: str, options: Sequence[Option]) -> Axis:
    """`KEY=V1,V2,...` for an OPRO knob (temperature, proposals, order, top-k) or a problem option."""
    key, _, listed = text.partition("=")
    values = [v.strip() for v in listed.split(",") if v.strip()]
    if not key or not values:
        raise UsageError(f"--vary takes KEY=V1,V2,..., not {text!r}")
    by_name = {o.flag.lstrip("-"): o for o in options}
    if key in OPRO_KNOBS:
        read, changes, choices, dest = OPRO_KNOBS[key][0], "opro", None, ""
    elif key in by_name:
        option = by_name[key]
        read, changes, choices, dest = (_boolean if option.type is bool else option.type, "problem", option.choices,
                                        option.dest)
    else:
        raise UsageError(f"--vary: unknown setting {key!r}; choose from {', '.join(OPRO_KNOBS)} "
                         f"or an option of the problem ({', '.join(by_name) or 'it has none'})")
    try:
        parsed = tuple(read(v) for v in values)
    except (ValueError, TypeError, argparse.ArgumentTypeError) as error:
        raise UsageError(f"--vary {key}: cannot read {listed!r} ({error})") from None
    if choices and any(v not in choices for v in parsed):
        raise UsageError(f"--vary {key}: choose values from {', '.join(map(str, choices))}")
    if len(set(parsed)) != len(parsed):
        raise UsageError(f"--vary {key}: a value is listed twice")
    return Axis(key, changes, parsed, dest)


def parse_models(text: str) -> Axis:
    """`local,NAME@URL,...`: the embedded model (`local`, or `local@FILE.gguf`) or a model on a server."""
    specs = [s.strip() for s in text.split(",") if s.strip()]
    if not specs:
        raise UsageError("--models takes a comma-separated list, e.g. local,NAME@http://127.0.0.1:8000/v1")
    if len(set(specs)) != len(specs):
        raise UsageError("--models: a model is listed twice")
    if any(not spec.partition("@")[0] for spec in specs):
        raise UsageError("--models: each entry needs a name before '@' (local, or the served model's name)")
    for spec in specs:
        name, at, where = spec.partition("@")
        if at and not where:
            raise UsageError(f"--models {spec}: give the server's URL after '@' (NAME@http://HOST:PORT/v1), "
                             "or the name alone for a model on OpenAI's API")
    return Axis("model", "model", tuple(specs))


def model_settings(spec: str) -> Settings:
    """The backend settings of a `--models` entry."""
    name, _, where = spec.partition("@")
    if name == "local":
        return {"model": "local", "model_path": where or None, "base_url": None}
    return {"model": name, "base_url": where or None, "model_path": None}


def model_labels(axis: Axis) -> dict[str, str]:
    """A short label per model spec: its name, or the whole spec where two names are the same."""
    names = [spec.partition("@")[0] for spec in axis.values]
    return {spec: name if names.count(name) == 1 else spec for spec, name in zip(axis.values, names)}


def crossings(axes: Sequence[Axis], changes: set[str], keys: Collection[str] | None = None) -> list[dict[str, Any]]:
    """Every combination of the values of the axes that change any of `changes` (and, if given, whose key is
    in `keys`); [{}] when there are none."""
    chosen = [axis for axis in axes if axis.changes in changes and (keys is None or axis.key in keys)]
    return [dict(zip((a.key for a in chosen), combo)) for combo in itertools.product(*(a.values for a in chosen))]


def suffix(variant: dict[str, Any], labels: dict[str, str] | None = None) -> str:
    """`[key=value, ...]` naming a variant, or "" for none."""
    if not variant:
        return ""
    shown = {k: (labels or {}).get(v, v) if k == "model" else v for k, v in variant.items()}
    return "[" + ", ".join(f"{k}={v}" for k, v in shown.items()) + "]"


def apply_opro(opro: Settings, variant: dict[str, Any]) -> Settings:
    """OPRO's settings with a variant's knobs set."""
    for key, value in variant.items():
        if key in OPRO_KNOBS:
            opro = OPRO_KNOBS[key][1](opro, value)
    return opro


def apply_options(options: Settings, variant: dict[str, Any], axes: Sequence[Axis]) -> Settings:
    """A problem's options with a variant's values set."""
    dests = {axis.key: axis.dest for axis in axes if axis.changes == "problem"}
    return {**options, **{dests[key]: value for key, value in variant.items() if key in dests}}
