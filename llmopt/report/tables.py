"""The text tables of a comparison (the CLI's, and the HTML report's cells) and the strict JSON output."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from llmopt.core.result import kind_rank

if TYPE_CHECKING:
    from llmopt.core.result import Result


def gap_to(value: float | None, optimum: float | None) -> float | None:
    """|value - optimum|, or None when either is unknown."""
    return None if value is None or optimum is None else abs(value - optimum)


def format_value(value: Any) -> str:
    """Compact, readable number for tables ('-' when absent)."""
    if value is None:
        return "-"
    if isinstance(value, str):
        return value
    if not math.isfinite(value):  # Optuna keeps an infinite value; a run's best may be one
        return str(float(value))
    if value == int(value) and abs(value) < 1e12:
        return str(int(value))
    return f"{value:.6g}"


COLUMN_NAMES = {
    "n_evals": "evals",
    "front_size": "front",
    "feasible": "feasible",
    "rounds": "rounds",
    "failed_evals": "failed",
    "starts": "starts",
    "proposals": "proposals",
    "duplicates": "duplicates",
    "invalid": "invalid",
    "skipped": "skipped",
    "repaired": "repaired",
    "n_llm_calls": "LLM calls",
    "tokens": "tokens",
    "reasoning_tokens": "reasoning tokens",
    "cached_tokens": "cached",
    "failed_requests": "failed requests",
    "cost_usd": "cost $",
}
# Always shown, in this order; the others only where some row has a non-zero value.
ALWAYS_COLUMNS = ("n_evals", "starts", "proposals", "duplicates", "invalid", "n_llm_calls", "tokens")
# The keys of a summary row that are no count column: a problem's own columns are the rest.
# (`front` is a row's Pareto front in the JSON output, the values of its points: no column.)
ROW_KEYS = ("method", "kind", "best_value", "best_solution", "seconds", "stop_reason", "status", "front")


NO_FEASIBLE = "no feasible solution"


def multiobjective(rows: Sequence[dict[str, Any]]) -> bool:
    """Whether summary rows compare runs with several objectives (their best value is a hypervolume)."""
    return any(row.get("front_size") is not None for row in rows)


def reference_note(reference: Sequence[float], every: str = "method") -> str:
    """The line that states a comparison's reference point once, under which every hypervolume is measured."""
    point = ", ".join(format_value(float(r)) for r in reference)
    return f"hypervolume against the reference point ({point}), the same for every {every}"


def one_reference(points: Iterable[Sequence[float] | None], what: str = "the results") -> tuple[float, ...] | None:
    """The one reference point of a comparison (None with one objective); a ValueError when they differ, as
    hypervolumes against different points do not compare."""
    found = list(dict.fromkeys(tuple(float(v) for v in point) for point in points if point is not None))
    if len(found) > 1:
        shown = "; ".join(f"({', '.join(format_value(v) for v in point)})" for point in found)
        raise ValueError(
            f"{what} are measured against different reference points, {shown}: their hypervolumes do not compare"
        )
    return found[0] if found else None


def json_row(result: Result, more: dict[str, Any] | None = None) -> dict[str, Any]:
    """A result's row of the `--json` output: its summary, the problem's own columns, and with several
    objectives its front (the values of the front's points, sorted along the first objective)."""
    row = {**result.summary(), **(more or {})}
    if result.multiobjective:
        row["front"] = [list(trial.values or ()) for trial in result.front()]
    return row


def no_feasible(row: dict[str, Any]) -> bool:
    """Whether a summary row's method evaluated solutions and none was feasible."""
    return row.get("feasible") == 0 and bool(row.get("n_evals"))


def count_columns(rows: Sequence[dict[str, Any]]) -> list[str]:
    """The count columns of a comparison of summary rows, in the order every table (text or HTML) shows
    them: a column that is zero or absent in every row is left out, except the always-shown ones."""

    def shown(key: str) -> bool:
        if key == "rounds":  # evaluations ran side by side: the rounds are the wall-clock measure
            return rows_side_by_side(rows)
        if key in ("feasible", "front_size"):  # constrained, several objectives: 0 is news too
            return any(row.get(key) is not None for row in rows)
        return key in ALWAYS_COLUMNS or any(row.get(key) for row in rows)

    return [key for key in COLUMN_NAMES if shown(key)]


def problem_columns(rows: Sequence[dict[str, Any]]) -> list[str]:
    """The problem's own columns of summary rows (e.g. TSP's `gap_pct`), in first-seen order."""
    known = {*ROW_KEYS, *COLUMN_NAMES}
    return list(dict.fromkeys(key for row in rows for key in row if key not in known))


def comparison_table(
    results: list[Result], optimum: float | None = None, extra: list[dict[str, Any]] | None = None
) -> str:
    """A plain-text table grouped by kind: best value, gap, evaluations, proposals, calls, tokens, seconds.

    `extra` holds one dict per result with problem-specific columns (e.g. `gap_pct`). With several
    objectives the value is the hypervolume, and a first line states the reference point it is measured
    against (one for the whole comparison: results measured against different points are a ValueError).
    """
    extra = extra or [{} for _ in results]
    rows = [{**r.summary(), **more} for r, more in zip(results, extra)]
    header, body = comparison_rows(rows, optimum)
    table = text_table([header, *body], right_align=True)
    reference = one_reference(r.reference for r in results)
    return table if reference is None else f"{reference_note(reference)}\n{table}"


def comparison_rows(
    rows: Sequence[dict[str, Any]], optimum: float | None, stop: bool = False
) -> tuple[list[str], list[list[str]]]:
    """The header and cells of a comparison of summary rows (the `--json` rows), grouped by kind: the one
    layout of the text table and the HTML report; `stop` adds the stop reason."""
    mine, counted = problem_columns(rows), count_columns(rows)
    header = [
        "method",
        "kind",
        "hypervolume" if multiobjective(rows) else "best value",
        "gap",
        *mine,
        *(COLUMN_NAMES[k] for k in counted),
        "seconds",
        *(["stop"] if stop else []),
    ]
    body = [
        [
            str(row["method"]),
            str(row.get("kind")),
            NO_FEASIBLE if no_feasible(row) else format_value(row.get("best_value")),
            format_value(gap_to(row.get("best_value"), optimum)),
            *(format_value(row.get(k)) for k in mine),
            *(format_value(row.get(k)) for k in counted),
            f"{row.get('seconds') or 0:.2f}",
            *([str(row.get("stop_reason"))] if stop else []),
        ]
        for row in sorted(rows, key=lambda r: kind_rank(r.get("kind")))
    ]
    return header, body


def rows_side_by_side(rows: Sequence[dict[str, Any]]) -> bool:
    """`side_by_side` of summary rows."""
    return any(
        row.get("kind") != "reference" and 0 < (row.get("rounds") or 0) < (row.get("n_evals") or 0) for row in rows
    )


def strict_json(data: Any) -> str:
    """`data` as strict JSON, as every JSON reader takes it: an infinite number becomes the string "inf" or
    "-inf", one that is not a number becomes null (docs/output.schema.json)."""

    def finite(value: Any) -> Any:
        if isinstance(value, (np.ndarray, np.generic)):
            value = value.tolist()
        if isinstance(value, float) and not math.isfinite(value):
            return None if math.isnan(value) else ("inf" if value > 0 else "-inf")
        if isinstance(value, dict):
            return {k: finite(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [finite(v) for v in value]
        return value

    return json.dumps(finite(data), allow_nan=False, default=str)


def text_table(rows: list[list[str]], *, right_align: bool = False) -> str:
    """Aligned plain-text table; the first row is the header. `right_align` applies past column 0."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = [
        "  ".join(cell.rjust(w) if right_align and i else cell.ljust(w) for i, (cell, w) in enumerate(zip(row, widths)))
        for row in rows
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)
