"""What a run's numbers say about its model: requests that failed, answers the token limit cut off,
requests adapted to what the server takes. A run whose model mostly failed is no comparison."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, NamedTuple

from llmopt.core.result import MODEL_KINDS, Counts
from llmopt.core.stops import StopStatus, status_of
from llmopt.methods.model.answers import CUT_OFF

# Past this share of failed model requests, a method's numbers say nothing about the method.
MOST_FAILED = 0.5
EXIT_MODEL_FAILED = 3


def cut_off(counts: Counts) -> int:
    """Answers rejected because the token limit ended them."""
    return sum(n for reason, n in counts.invalid.items() if reason.startswith(CUT_OFF))


class Row(NamedTuple):
    """What the not-a-comparison rule reads of one method's outcome (a Result, or a bench's run)."""

    method: str
    kind: str
    stop_reason: str
    counts: Counts
    last_error: str | None = None
    first_failure: str | None = None

    @property
    def crashed(self) -> bool:
        """Whether the method raised (its stop reason's status is CRASHED)."""
        return status_of(self.stop_reason) is StopStatus.CRASHED


def row_of(result: Any) -> Row:
    """A Result as the rule reads it."""
    failed = next((t.reason for t in result.trials if t.status == "failed"), None)
    return Row(
        result.method,
        result.kind,
        result.stop_reason or "",
        result.counts,
        result.extra.get("last_request_error"),
        failed,
    )


def not_a_comparison(rows: Iterable[Row]) -> tuple[list[str], str | None]:
    """The one rule that makes a run no comparison (exit status 3): a line per model-driven method whose
    model requests mostly failed or that crashed; and a line when no evaluating method has a result, each
    having crashed or seen every evaluation it made fail (None when some has one)."""
    rows = list(rows)
    models = [*_failed_models(rows), *_crashed_models(rows)]
    evaluating = [row for row in rows if row.kind != "reference"]
    if not evaluating or not all(row.crashed or row.counts.nothing_scored for row in evaluating):
        return models, None
    first = next((row.first_failure or row.stop_reason for row in evaluating if row.first_failure or row.crashed), "")
    return models, f"no method has a result: each crashed or every evaluation it made failed (the first: {first})"


def _failed_models(rows: list[Row]) -> list[str]:
    lines = []
    for row in rows:
        if row.counts.failed_share > MOST_FAILED:
            made = row.counts.requests + row.counts.failed_requests
            why = f" (last: {row.last_error})" if row.last_error else ""
            lines.append(
                f"{row.method}: {row.counts.failed_requests} of {made} model requests failed{why}; "
                "its numbers are not a comparison"
            )
    return lines


def _crashed_models(rows: list[Row]) -> list[str]:
    """A model-driven method that crashed: its row shows where it stood, not what the method can do."""
    return [
        f"{row.method} {row.stop_reason}; its row shows where it stood, not a result"
        for row in rows
        if row.kind in MODEL_KINDS and row.crashed
    ]


def failed_evaluations(results: Iterable[Any]) -> list[str]:
    """A warning line per method some of whose evaluations failed, with the first reason."""
    lines = []
    for result in results:
        failed = [t for t in result.trials if t.status == "failed"]
        if failed and result.kind != "reference":
            lines.append(
                f"warning: {result.method}: {result.counts.failed_evals} evaluations failed, the first: "
                f"{failed[0].reason}"
            )
    return lines


def cut_off_warning(counts: Iterable[Counts]) -> str | None:
    """The warning line when the token limit cut answers off, or None."""
    counts = list(counts)
    spoiled, answers = sum(cut_off(c) for c in counts), sum(c.proposals for c in counts)
    if not spoiled:
        return None
    return (
        f"warning: {spoiled} of {answers} answers were cut off by the token limit; raise --answer-tokens "
        "(for a model that reasons, --reasoning-tokens)"
    )


def adaptations(backend: Any) -> list[str]:
    """How the backend changed its requests to what the server takes (none for most backends)."""
    return list(getattr(backend, "adaptations", []) or [])
