"""A setting, declared once: its key, how its text is read, its default, its help and its flag. The run's
settings (`llmopt.engine.config`) and each method's own are made of these; so are the CLI's flags, what a
resumed run may change and what a bench may sweep."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

Data = dict[str, Any]  # settings as plain data: `OPROConfig.to_dict()`, what config.json holds


@dataclass(frozen=True)
class Setting:
    """One setting: where it lives (`path` into the settings' plain data, `OPROConfig.to_dict()`, where a
    method's own settings stand beside the run's), how its text is read, its default and help, the CLI group it shows
    in, whether a resumed run
    may change it and whether a bench may sweep it (`change` rewrites the data for a swept value)."""

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
