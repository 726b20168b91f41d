"""One Result type for OPRO runs and baselines, and the table that compares them."""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Status = Literal["initial", "ok", "invalid", "duplicate", "skipped"]


@dataclass
class Trial:
    """One proposal: where it came from, what it decoded to, and its value."""

    step: int
    status: Status
    raw: str | None = None
    text: str | None = None
    solution: Any = None
    value: float | None = None
    reason: str | None = None


@dataclass
class Counts:
    """What a run spent and how its proposals fared."""

    llm_calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    proposals: int = 0
    evals: int = 0
    duplicates: int = 0
    invalid: dict[str, int] = field(default_factory=dict)
    failed_requests: int = 0
    repairs: int = 0
    repairs_valid: int = 0

    @property
    def tokens(self) -> int:
        """Prompt plus completion tokens."""
        return self.prompt_tokens + self.completion_tokens

    @property
    def n_invalid(self) -> int:
        """All rejected proposals, whatever the reason."""
        return sum(self.invalid.values())

    def add_invalid(self, reason: str) -> None:
        """Count one rejection under its reason."""
        self.invalid[reason] = self.invalid.get(reason, 0) + 1


@dataclass
class Result:
    """Outcome of an optimization run, modelled on scipy's OptimizeResult."""

    method: str
    problem: str
    direction: str
    best_solution: Any = None
    best_value: float | None = None
    trials: list[Trial] = field(default_factory=list)
    counts: Counts = field(default_factory=Counts)
    stop_reason: str = ""
    seconds: float = 0.0
    optimum: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def gap(self) -> float | None:
        """Distance of the best value to the known optimum (absolute, in value units)."""
        return gap_to(self.best_value, self.optimum)

    def best_per_step(self) -> list[tuple[int, float]]:
        """(step, best value so far) after every step that evaluated something."""
        best: float | None = None
        curve: dict[int, float] = {}
        for trial in self.trials:
            if trial.value is None or math.isnan(trial.value):
                continue
            if best is None or _better(self.direction, trial.value, best):
                best = trial.value
            curve[trial.step] = best
        return sorted(curve.items())

    def invalid_share(self) -> float:
        """Fraction of LLM proposals that were rejected."""
        return self.counts.n_invalid / self.counts.proposals if self.counts.proposals else 0.0

    def plot(self, baselines: list[Result] | None = None, optimum: float | None = None) -> Any:
        """A matplotlib figure of the convergence, with baselines as lines."""
        from llmopt.plots import figure_for

        return figure_for(self, baselines or [], optimum)

    def summary(self) -> dict[str, Any]:
        """The flat row used by `--json` and the comparison table."""
        return {
            "method": self.method,
            "best_value": self.best_value,
            "best_solution": self.best_solution,
            "n_evals": self.counts.evals,
            "n_llm_calls": self.counts.llm_calls,
            "tokens": self.counts.tokens,
            "seconds": round(self.seconds, 4),
            "stop_reason": self.stop_reason,
        }

    def to_dict(self) -> dict[str, Any]:
        """Everything, as JSON-ready data."""
        return asdict(self)

    def to_json(self, **kwargs: Any) -> str:
        """Serialise to a JSON string."""
        return json.dumps(self.to_dict(), **kwargs)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Result:
        """Rebuild from `to_dict` output."""
        data = dict(data)
        data["trials"] = [Trial(**t) for t in data.get("trials", [])]
        data["counts"] = Counts(**data.get("counts", {}))
        return cls(**data)

    @classmethod
    def from_json(cls, text: str) -> Result:
        """Rebuild from `to_json` output."""
        return cls.from_dict(json.loads(text))


def _better(direction: str, a: float, b: float) -> bool:
    return a < b if direction == "min" else a > b


def gap_to(value: float | None, optimum: float | None) -> float | None:
    """|value - optimum|, or None when either is unknown."""
    return None if value is None or optimum is None else abs(value - optimum)


def format_value(value: float | None) -> str:
    """Compact, readable number for tables."""
    if value is None:
        return "-"
    if value == int(value) and abs(value) < 1e12:
        return str(int(value))
    return f"{value:.6g}"


def comparison_table(results: list[Result], optimum: float | None = None,
                     extra: list[dict[str, Any]] | None = None) -> str:
    """A plain-text table: method, best value, gap, evaluations, LLM calls, tokens, seconds.

    `extra` holds one dict per result with problem-specific columns (e.g. `gap_pct`).
    """
    extra = extra or [{} for _ in results]
    extra_keys = list(dict.fromkeys(key for row in extra for key in row))
    header = ["method", "best value", "gap", *extra_keys, "evals", "LLM calls", "tokens", "seconds"]
    rows = [header]
    for r, more in zip(results, extra):
        rows.append([r.method, format_value(r.best_value), format_value(gap_to(r.best_value, optimum)),
                     *(format_value(more.get(k)) for k in extra_keys), str(r.counts.evals),
                     str(r.counts.llm_calls), str(r.counts.tokens), f"{r.seconds:.2f}"])
    return text_table(rows, right_align=True)


def text_table(rows: list[list[str]], *, right_align: bool = False) -> str:
    """Aligned plain-text table; the first row is the header. `right_align` applies past column 0."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.rjust(w) if right_align and i else cell.ljust(w)
                       for i, (cell, w) in enumerate(zip(row, widths))) for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)
