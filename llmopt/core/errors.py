"""The error types every layer shares; this module imports nothing from llmopt."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any, Self


def did_you_mean(name: str, choices: Iterable[str]) -> str:
    """ " (did you mean X?)" for the choice closest to a mistyped `name`, or "" when none is close."""
    import difflib

    found = difflib.get_close_matches(name, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {found[0]}?)" if found else ""


class UsageError(ValueError):
    """A user mistake (bad option, missing file, unreachable server); the CLI prints it and exits with 2.

    One about settings (made by `about`) names each as `{key}` in its `template`, and `scope` says whose copy
    of the settings ("" the run's, "scorer" prompt search's scorer model's): its message names a setting by
    its keyword (`scorer_base_url`), the CLI by its flag (`--scorer-base-url`, through `naming`).
    """

    template: str = ""
    scope: str = ""

    @classmethod
    def about(cls, template: str, *args: Any, scope: str = "") -> Self:
        """The error whose message names settings as `{key}` in `template` (other braces doubled: `literal`)."""
        error = cls(template, *args)
        error.template, error.scope = template, scope
        return error

    def settings(self) -> list[str]:
        """The keys of the settings the message names, in order."""
        return [match.group(1) for match in _NAMED.finditer(self.template) if match.group(1)]

    def naming(self, name: Callable[[str, str], str]) -> str:
        """The message, each setting it names as `name(key, scope)` names it."""
        if not self.template:
            return super().__str__()
        return _NAMED.sub(lambda m: name(m.group(1), self.scope) if m.group(1) else m.group(0)[0], self.template)

    def __str__(self) -> str:
        return self.naming(keyword)

    def then(self, more: str) -> UsageError:
        """A usage error of this message with `more` after it, naming the same settings."""
        return UsageError.about((self.template or literal(super().__str__())) + literal(more), scope=self.scope)


_NAMED = re.compile(r"\{\{|\}\}|\{([a-z_]+)\}")


def keyword(key: str, scope: str = "") -> str:
    """A setting as Python names it: its key, under the scope's prefix for a copy (`scorer_base_url`)."""
    return f"{scope}_{key}" if scope else key


def literal(text: Any) -> str:
    """`text` as it reads inside an error's template: its braces doubled, so that none is taken for a setting."""
    return str(text).replace("{", "{{").replace("}", "}}")


class InvalidSolution(ValueError):
    """A proposal that cannot be decoded or is not a feasible solution; `reason` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class BackendError(RuntimeError):
    """A request that still failed after every retry; the step records it and the run goes on."""


class ModelRefused(UsageError):
    """The model server refused a request in a way asking again cannot mend (400, 401, 403, 404, 405, 422)."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status

    def __reduce__(self) -> tuple:  # travels between processes with its status (and the settings it names)
        return type(self), (self.args[0], self.status), self.__dict__


class ServerUnreachable(UsageError):
    """The model server stopped answering (connections refused or timed out, request after request)."""


class ObjectiveError(UsageError):
    """The objective failed on every start point for one and the same reason: a bug to mend before any model
    is asked (the CLI exits with 2, as for any usage error)."""


class PromptTooLong(UsageError):
    """A prompt and its answer cannot fit the model's context window; asking again cannot mend that.
    `needed` and `window` are the tokens the request needs and those the model holds."""

    def __init__(self, message: str, needed: int = 0, window: int = 0) -> None:
        super().__init__(message)
        self.needed, self.window = needed, window

    def __reduce__(self) -> tuple:  # travels between processes with its numbers (and the settings it names)
        return type(self), (self.args[0], self.needed, self.window), self.__dict__


# Raised inside an evaluation (a scorer model's server), these end the run instead of failing one trial.
ENDS_THE_RUN: tuple[type[UsageError], ...] = (ModelRefused, ServerUnreachable)
