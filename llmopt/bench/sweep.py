"""Sweeps of a bench: OPRO's settings, the problem's options and the optimizer models, each a list of
values; several sweeps are crossed. A sweep of OPRO's settings or of the model changes only the methods
that sample the model; a sweep of the problem's options changes the task every method solves."""

from __future__ import annotations

import argparse
import itertools
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

from llmopt.contract.problem import Option
from llmopt.core.errors import UsageError
from llmopt.core.settings import Data as Settings
from llmopt.core.settings import Setting


def sweepable() -> dict[str, Setting]:
    """The settings a bench may sweep (`--vary NAME=...`): the run's and every method family's, by name."""
    from llmopt.methods import declared_settings

    return {setting.name: setting for setting in declared_settings() if setting.sweep}


@dataclass(frozen=True)
class Axis:
    """One swept setting: its key, what it changes ("method": a setting of the model-driven methods, "problem" or
    "model"), its values, and for a
    problem option the keyword it sets."""

    key: str
    changes: str
    values: tuple[Any, ...]
    dest: str = ""


def _boolean(text: str) -> bool:
    words = {"true": True, "yes": True, "1": True, "false": False, "no": False, "0": False}
    if text.lower() not in words:
        raise ValueError(text)
    return words[text.lower()]


def parse_vary(text: str, options: Sequence[Option]) -> Axis:
    """`KEY=V1,V2,...` for a setting a bench may sweep (temperature, proposals, order, top-k, a method's own)
    or a problem option."""
    key, _, listed = text.partition("=")
    values = [v.strip() for v in listed.split(",") if v.strip()]
    if not key or not values:
        raise UsageError(f"--vary takes KEY=V1,V2,..., not {text!r}")
    by_name = {o.flag.lstrip("-"): o for o in options}
    swept = sweepable()
    if key in swept:
        setting = swept[key]
        read, changes, choices, dest = _boolean if setting.read is bool else setting.read, "method", setting.choices, ""
    elif key in by_name:
        option = by_name[key]
        read, changes, choices, dest = (
            _boolean if option.type is bool else option.type,
            "problem",
            option.choices,
            option.dest,
        )
    else:
        raise UsageError(
            f"--vary: unknown setting {key!r}; choose from {', '.join(swept)} "
            f"or an option of the problem ({', '.join(by_name) or 'it has none'})"
        )
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
            raise UsageError(
                f"--models {spec}: give the server's URL after '@' (NAME@http://HOST:PORT/v1), "
                "or the name alone for a model on OpenAI's API"
            )
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


def apply_settings(opro: Settings, variant: dict[str, Any]) -> Settings:
    """The run's settings with a variant's swept values set."""
    swept = sweepable()
    for key, value in variant.items():
        if key in swept:
            opro = swept[key].swept(opro, value)
    return opro


def apply_options(options: Settings, variant: dict[str, Any], axes: Sequence[Axis]) -> Settings:
    """A problem's options with a variant's values set."""
    dests = {axis.key: axis.dest for axis in axes if axis.changes == "problem"}
    return {**options, **{dests[key]: value for key, value in variant.items() if key in dests}}
