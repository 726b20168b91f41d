"""What a run's numbers say about its model: requests that failed, answers the token limit cut off,
requests adapted to what the server takes. A run whose model mostly failed is no comparison."""

from __future__ import annotations

from typing import Any, Iterable

from llmopt.answers import CUT_OFF
from llmopt.methods.method import CRASHED
from llmopt.result import MODEL_KINDS, Counts

# Past this share of failed model requests, a method's numbers say nothing about the method.
MOST_FAILED = 0.5
EXIT_MODEL_FAILED = 3


def cut_off(counts: Counts) -> int:
    """Answers rejected because the token limit ended them."""
    return sum(n for reason, n in counts.invalid.items() if reason.startswith(CUT_OFF))


def failed_models(rows: Iterable[tuple[str, Counts, str | None]]) -> list[str]:
    """One line per method (name, counts, last error) whose model requests mostly failed."""
    lines = []
    for method, counts, error in rows:
        if counts.failed_share > MOST_FAILED:
            made = counts.requests + counts.failed_requests
            why = f" (last: {error})" if error else ""
            lines.append(f"{method}: {counts.failed_requests} of {made} model requests failed{why}; "
                         "its numbers are not a comparison")
    return lines


def crashed_models(rows: Iterable[tuple[str, str, str]]) -> list[str]:
    """One line per model-driven method (name, kind, stop reason) that crashed: its row shows where it stood,
    not what the method can do."""
    return [f"{method} {reason}; its row shows where it stood, not a result" for method, kind, reason in rows
            if kind in MODEL_KINDS and reason.startswith(CRASHED)]


def failed_evaluations(results: Iterable[Any]) -> tuple[list[str], str | None]:
    """A warning line per method some of whose evaluations failed, with the first reason; and the
    not-a-comparison line when no evaluating method has anything to show: each crashed, or every
    evaluation it made failed (None otherwise)."""
    lines, evaluating, first = [], [], None
    for result in results:
        if result.kind == "reference":
            continue
        evaluating.append(result)
        failed = [t for t in result.trials if t.status == "failed"]
        if failed:
            first = first or failed[0].reason
            lines.append(f"warning: {result.method}: {result.counts.failed_evals} evaluations failed, the first: "
                         f"{failed[0].reason}")
        elif result.stop_reason.startswith(CRASHED):
            first = first or result.stop_reason
    broken = bool(evaluating) and all(_nothing_to_show(r) for r in evaluating)
    return lines, (f"no method has a result: each crashed or every evaluation it made failed (the first: {first})"
                   if broken else None)


def _nothing_to_show(result: Any) -> bool:
    return result.stop_reason.startswith(CRASHED) or (result.counts.evals == 0 and result.counts.failed_evals > 0)


def cut_off_warning(counts: Iterable[Counts]) -> str | None:
    """The warning line when the token limit cut answers off, or None."""
    counts = list(counts)
    spoiled, answers = sum(cut_off(c) for c in counts), sum(c.proposals for c in counts)
    if not spoiled:
        return None
    return (f"warning: {spoiled} of {answers} answers were cut off by the token limit; raise --answer-tokens "
            "(for a model that reasons, --reasoning-tokens)")


def adaptations(backend: Any) -> list[str]:
    """How the backend changed its requests to what the server takes (none for most backends)."""
    return list(getattr(backend, "adaptations", []) or [])
