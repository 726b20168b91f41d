"""Plugins: the objects other packages (and llmopt's own built-ins) register under an entry-point group:
`llmopt.problems` (problem classes), `llmopt.methods` (`llmopt.methods.method.Methods`) and `llmopt.backends`
(backend factories)."""

from __future__ import annotations

import importlib
import os
import sys
import warnings
from collections.abc import Callable
from functools import lru_cache
from importlib import metadata
from typing import Any

from llmopt.core.errors import UsageError

BUILTIN = "llmopt."


def entry_points(group: str, accept: Callable[[Any], bool] = lambda _: True, what: str = "plugin") -> dict[str, Any]:
    """Every object registered under `group` by its entry point's name, loaded, the built-ins first (so a plugin
    cannot shadow one by taking its name); one that fails to load, or that `accept` refuses, is skipped with a
    warning, so a broken plugin never takes the others down.

    Read once per search path: scanning every installed package's entry points costs a hundred file reads,
    which hundreds of bench jobs in threads would pay in turn.
    """
    return dict(_load(group, tuple(sys.path), accept, what))


@lru_cache(maxsize=32)
def _load(group: str, search_path: tuple[str, ...], accept: Callable[[Any], bool], what: str) -> dict[str, Any]:
    found: dict[str, Any] = {}
    entries = sorted(metadata.entry_points(group=group), key=lambda e: not e.value.startswith(BUILTIN))
    for entry in entries:
        try:
            loaded = entry.load()
        except Exception as error:
            warnings.warn(f"skipping {what} plugin {entry.name!r}: {error}", stacklevel=3)
            continue
        if not accept(loaded):
            warnings.warn(f"skipping {what} plugin {entry.name!r}: not a {what}", stacklevel=3)
        elif found.setdefault(entry.name, loaded) is not loaded:
            warnings.warn(f"skipping {what} plugin {entry.name!r}: its name is taken", stacklevel=3)
    return found


def builtin_names(group: str) -> frozenset[str]:
    """The names under `group` that llmopt itself registers."""
    return _builtin_names(group, tuple(sys.path))


@lru_cache(maxsize=32)
def _builtin_names(group: str, search_path: tuple[str, ...]) -> frozenset[str]:
    return frozenset(e.name for e in metadata.entry_points(group=group) if e.value.startswith(BUILTIN))


def load_callable(spec: str, flag: str = "--function") -> Callable[..., Any]:
    """Import `module:callable` (the user's own code), from the current folder too, as `python -m` would;
    errors name `flag`, the option that gave it."""
    module_name, _, attribute = spec.partition(":")
    if not module_name or not attribute:
        raise UsageError(f"{flag} must look like module:callable, got {spec!r}")
    added = os.getcwd() not in sys.path and "" not in sys.path
    if added:
        sys.path.append(os.getcwd())
    try:
        target: Any = importlib.import_module(module_name)
    except ImportError as error:
        raise UsageError(
            f"cannot import {module_name!r} for {flag}: {error} (the current folder and PYTHONPATH are searched)"
        ) from None
    except Exception as error:  # the user's module itself is broken: a syntax error, or raising on import
        where = f" (line {error.lineno})" if isinstance(error, SyntaxError) and error.lineno else ""
        raise UsageError(
            f"{flag}: importing {module_name!r} failed{where}: {type(error).__name__}: "
            f"{' '.join(str(error).split())[:200]}"
        ) from None
    finally:
        if added:  # the module is imported; the search path is left as it was
            sys.path.remove(os.getcwd())
    for name in attribute.split("."):
        if not hasattr(target, name):
            raise UsageError(f"{module_name!r} has no {attribute!r} for {flag}")
        target = getattr(target, name)
    if not callable(target):
        raise UsageError(f"{flag} {spec} is not callable")
    return target
