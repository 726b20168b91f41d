"""The error types every layer shares; this module imports nothing from llmopt."""

from __future__ import annotations

from collections.abc import Iterable


def did_you_mean(name: str, choices: Iterable[str]) -> str:
    """ " (did you mean X?)" for the choice closest to a mistyped `name`, or "" when none is close."""
    import difflib

    found = difflib.get_close_matches(name, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {found[0]}?)" if found else ""


class UsageError(ValueError):
    """A user mistake (bad option, missing file, unreachable server); the CLI prints it and exits with 2."""


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

    def __reduce__(self) -> tuple:  # travels between processes with its status
        return type(self), (str(self), self.status)


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

    def __reduce__(self) -> tuple:  # travels between processes with its numbers
        return type(self), (str(self), self.needed, self.window)


# Raised inside an evaluation (a scorer model's server), these end the run instead of failing one trial.
ENDS_THE_RUN: tuple[type[Exception], ...] = (ModelRefused, ServerUnreachable)
