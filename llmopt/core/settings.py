"""A setting, declared once: its key, how its text is read, its default, its help and its flag. The run's
settings (`llmopt.engine.config`), each method's own and a backend's (`llmopt.backends`) are made of these; so
are the CLI's flags and their help's "(default: ...)", the flag an error about a setting names, what a resumed
run may change and what a bench may sweep. A setting backed by a config's field takes its default from there."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

Data = dict[str, Any]  # settings as plain data: `RunConfig.to_dict()`, what config.json holds


@dataclass(frozen=True)
class Setting:
    """One setting: where it lives (`path` into the settings' plain data, `RunConfig.to_dict()`, where a
    method's own settings stand beside the run's), how its text is read, its default and help (without the
    default: `described` adds it), the CLI group it shows in, whether a resumed run may change it and whether a
    bench may sweep it (`change` rewrites the data for a swept value)."""

    key: str
    read: Callable[[str], Any]
    default: Any
    help: str
    group: str = "optimizer"
    resumable: bool = False
    sweep: bool = False
    choices: tuple[Any, ...] | None = None
    metavar: str | None = None
    path: tuple[str, ...] = ()
    flag: str = ""
    change: Callable[[Data, Any], Data] | None = None

    @property
    def name(self) -> str:
        """The CLI and `--vary` name: the flag without its dashes (`lmx-parents`)."""
        return self.flag.lstrip("-") if self.flag else self.key.replace("_", "-")

    @property
    def described(self) -> str:
        """The help with its default: "(default: 10)" after it, where there is a value to state (a yes/no
        setting's flag says itself what it changes; a setting with no default value explains in its help what
        happens without one)."""
        return with_default(self.help, None if self.read is bool else self.default)

    def flag_of(self, prefix: str = "") -> str:
        """The command-line flag, under `prefix` for a copy of the setting (`scorer`: `--scorer-model-path`);
        a yes/no setting on by default is switched off by `--no-...`."""
        under = f"{prefix}-" if prefix else ""
        if self.flag:
            return f"--{under}{self.name}"
        return f"--{'no-' if self.read is bool and self.default else ''}{under}{self.name}"

    @property
    def where(self) -> tuple[str, ...]:
        """The keys that lead to the value in the settings' plain data."""
        return self.path or (self.key,)

    def get(self, data: Data) -> Any:
        """The value in `data`, the default where it is not set."""
        for key in self.where:
            if not isinstance(data, Mapping) or key not in data:
                return self.default
            data = data[key]
        return data

    def put(self, data: Data, value: Any) -> Data:
        """`data` with the value set (a new dict; `data` is left as it was)."""
        return _put(data, self.where, value)

    def swept(self, data: Data, value: Any) -> Data:
        """`data` with a bench's swept value set: as `put`, unless the setting changes more (`change`)."""
        return self.change(data, value) if self.change is not None else self.put(data, value)


def _put(data: Data, where: Sequence[str], value: Any) -> Data:
    head, *rest = where
    return {**data, head: _put(data.get(head) or {}, rest, value) if rest else value}


def with_defaults(data: Data, settings: Sequence[Setting]) -> Data:
    """`data` with each of `settings` that stands at the top and is missing set to its default: a record
    written before a method declared a setting reads as if it had the default."""
    return {**{s.key: s.default for s in settings if len(s.where) == 1 and s.key not in data}, **data}


def with_default(help: str, default: Any) -> str:
    """A flag's help with "(default: X)" after it, unless there is no default to state (None)."""
    return help if default is None else f"{help} (default: {default})"
