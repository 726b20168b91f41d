"""One Result type for OPRO, its ablations, black-box baselines and references, and the table that compares them."""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from typing import Any, Literal, Sequence

import numpy as np

Status = Literal["initial", "ok", "invalid", "duplicate", "skipped", "failed"]
# "model": a method whose proposals come from the optimizer model (OPRO, LMX, EvoPrompt); "ablation": one
# of them with a part taken away; "black-box": a classical method; "reference": a white-box method.
Kind = Literal["model", "ablation", "black-box", "reference"]
KINDS: tuple[Kind, ...] = ("model", "ablation", "black-box", "reference")
MODEL_KINDS: tuple[Kind, ...] = ("model", "ablation")
EVALUATED: tuple[Status, ...] = ("initial", "ok")
# "Target reached" allows this relative slack, so a printed optimum counts as reached.
TARGET_TOLERANCE = 1e-9


@dataclass
class Trial:
    """One proposal or evaluation: where it came from, what it decoded to, and its value.

    `step` is the driver's step (0 for the initial points; None for methods without steps);
    `eval_index` counts evaluations from 1 and is set by `Result.add` for evaluated trials;
    `first_attempt` keeps the rejected answer of a repaired proposal, `prompt` a proposal's own request;
    `round` is the batch of evaluations it was scored in (from 1).
    """

    step: int | None
    status: Status
    raw: str | None = None
    text: str | None = None
    solution: Any = None
    value: float | None = None
    reason: str | None = None
    eval_index: int | None = None
    reasoning: str | None = None
    first_attempt: dict[str, str] | None = None
    prompt: str | None = None
    round: int | None = None


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
    failed_evals: int = 0
    repairs: int = 0
    repairs_valid: int = 0
    requests: int = 0
    reasoning_tokens: int = 0
    asked: int = 0  # answers asked of the model by a method's own requests (repairs apart), answered or not
    rounds: int = 0  # batches of evaluations: with evaluations side by side, the wall-clock measure
    starts: int = 0  # a model-driven method's start points (step 0) scored or refused, apart from its proposals
    skipped: int = 0  # valid new proposals left unscored because the evaluation budget was spent

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

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Counts:
        """Rebuild from `dataclasses.asdict` output (a journal's counts)."""
        return cls(**{**data, "invalid": dict(data.get("invalid", {}))})

    def add_generation(self, generation: Any) -> None:
        """Add the calls and tokens of one backend `Generation` (one answered request of the method's)."""
        self.requests += 1
        self.llm_calls += generation.calls
        self.prompt_tokens += generation.prompt_tokens
        self.completion_tokens += generation.completion_tokens
        self.reasoning_tokens += generation.reasoning_tokens

    def cost(self, price: Sequence[float] | None) -> float | None:
        """Dollars at `price` (dollars per million prompt and completion tokens), or None without one."""
        if price is None:
            return None
        return (self.prompt_tokens * price[0] + self.completion_tokens * price[1]) / 1e6

    @property
    def failed_share(self) -> float:
        """The share of model requests that failed after every retry (0 when none were made)."""
        made = self.requests + self.failed_requests
        return self.failed_requests / made if made else 0.0


def reached(value: float | None, target: float, direction: str) -> bool:
    """Whether `value` meets `target` (the one definition, with a relative tolerance of 1e-9)."""
    if value is None or math.isnan(value):
        return False
    slack = TARGET_TOLERANCE * max(1.0, abs(target))
    return value <= target + slack if direction == "min" else value >= target - slack


def better(direction: str, a: float, b: float) -> bool:
    """True when a is strictly better than b for `direction`."""
    return to_loss(a, direction) < to_loss(b, direction)


# The one place the direction's sign lives: a maximised value is minimised as its negation.
def to_loss(value: float, direction: str) -> float:
    """The value to minimise: the value itself, or its negation for a maximisation problem."""
    return value if direction == "min" else -value


def worst(direction: str) -> float:
    """A value worse than any other: +inf when minimising, -inf when maximising."""
    return to_loss(math.inf, direction)


def best_of(values: Any, direction: str) -> Any:
    """The best value so far after each of `values` (an array)."""
    return (np.minimum if direction == "min" else np.maximum).accumulate(values)


@dataclass
class Result:
    """Outcome of one method on one problem, modelled on scipy's OptimizeResult; owns its trial log."""

    method: str
    problem: str
    direction: str
    kind: Kind = "model"
    best_solution: Any = None
    best_value: float | None = None
    trials: list[Trial] = field(default_factory=list)
    counts: Counts = field(default_factory=Counts)
    stop_reason: str = ""
    seconds: float = 0.0
    optimum: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def add(self, trial: Trial) -> Trial:
        """Append a trial; an evaluated one gets its evaluation index and may become the best.

        A failed evaluation (status "failed", with its reason) is kept and counted, never scored; so is
        an invalid proposal (counted under its reason).
        """
        if trial.status == "failed":
            self.counts.failed_evals += 1
        elif trial.status == "skipped":
            self.counts.skipped += 1
        elif trial.status == "invalid":
            self.counts.add_invalid(trial.reason or "invalid")
        elif trial.status in EVALUATED and trial.value is not None:
            self.counts.evals += 1
            trial.eval_index = self.counts.evals
            if self.best_value is None or better(self.direction, trial.value, self.best_value):
                self.best_value, self.best_solution = trial.value, trial.solution
        self.trials.append(trial)
        return trial

    def evaluated(self) -> list[Trial]:
        """The evaluated trials, in the order they were evaluated."""
        return [t for t in self.trials if t.eval_index is not None]

    def best_so_far(self) -> np.ndarray:
        """The best value after each evaluation."""
        values = np.array([t.value for t in self.evaluated()], dtype=float)
        if not values.size:
            return values
        return best_of(values, self.direction)

    def best_per_step(self) -> list[tuple[int, float]]:
        """(step, best value so far) after every OPRO step that evaluated something."""
        curve: dict[int, float] = {}
        for trial, best in zip(self.evaluated(), self.best_so_far()):
            if trial.step is not None:
                curve[trial.step] = float(best)
        return sorted(curve.items())

    def first_reaching(self, target: float) -> Trial | None:
        """The first evaluated trial that reached `target`, if any."""
        return next((t for t in self.evaluated() if reached(t.value, target, self.direction)), None)

    # scipy's OptimizeResult names, so code written for `scipy.optimize.minimize` reads a Result as it is
    @property
    def x(self) -> Any:
        """The best solution (scipy's name)."""
        return self.best_solution

    @property
    def fun(self) -> float | None:
        """The best value (scipy's name)."""
        return self.best_value

    @property
    def nfev(self) -> int:
        """Evaluations spent (scipy's name)."""
        return self.counts.evals

    @property
    def success(self) -> bool:
        """Whether the method ended by a rule of its own (a budget, a target, convergence) with a solution,
        not by a crash, an interruption or a server that went away."""
        broken = ("crashed", "interrupted", "model_unreachable", "scorer_unreachable")
        return self.best_value is not None and not self.stop_reason.startswith(broken)

    @property
    def message(self) -> str:
        """Why it stopped (scipy's name for the stop reason)."""
        return self.stop_reason

    def plot(self, baselines: list[Result] | None = None, optimum: float | None = None) -> Any:
        """A matplotlib figure of the convergence, with the other results as lines."""
        from llmopt.plots import figure_for

        return figure_for(self, baselines or [], optimum)

    def summary(self) -> dict[str, Any]:
        """The flat row used by `--json` and the comparison table; references have no evaluation count."""
        counts = self.counts
        model_driven = self.kind in MODEL_KINDS  # a method on the driver shows its proposals and what they cost
        return {
            "method": self.method,
            "kind": self.kind,
            "best_value": self.best_value,
            "best_solution": self.best_solution,
            "n_evals": None if self.kind == "reference" else counts.evals,
            "rounds": None if self.kind == "reference" else counts.rounds,
            "starts": counts.starts if model_driven else None,
            "proposals": counts.proposals if model_driven else None,
            "duplicates": counts.duplicates if model_driven else None,
            "invalid": counts.n_invalid if model_driven or counts.invalid else None,
            "skipped": counts.skipped if model_driven else None,
            "repaired": counts.repairs_valid if model_driven else None,
            "failed_evals": counts.failed_evals,
            "n_llm_calls": counts.llm_calls if model_driven else None,
            "tokens": counts.tokens if model_driven else None,
            "reasoning_tokens": counts.reasoning_tokens if model_driven else None,
            "failed_requests": counts.failed_requests if model_driven else None,
            "cost_usd": _round(counts.cost(self.extra.get("price"))) if model_driven else None,
            "seconds": round(self.seconds, 4),
            "stop_reason": self.stop_reason,
        }

    def to_dict(self) -> dict[str, Any]:
        """Everything, as JSON-ready data; tuples are tagged so that `from_dict` restores them exactly."""
        return _pack(asdict(self))

    def to_json(self, **kwargs: Any) -> str:
        """Serialise to a JSON string."""
        return json.dumps(self.to_dict(), **kwargs)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Result:
        """Rebuild from `to_dict` output."""
        data = _unpack(dict(data))
        data["trials"] = [Trial(**t) for t in data.get("trials", [])]
        data["counts"] = Counts.from_dict(data.get("counts", {}))
        return cls(**data)

    @classmethod
    def from_json(cls, text: str) -> Result:
        """Rebuild from `to_json` output."""
        return cls.from_dict(json.loads(text))


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


_TUPLE = "__tuple__"


def _pack(value: Any) -> Any:
    if isinstance(value, tuple):
        return {_TUPLE: [_pack(v) for v in value]}
    if isinstance(value, list):
        return [_pack(v) for v in value]
    if isinstance(value, dict):
        return {k: _pack(v) for k, v in value.items()}
    return value.tolist() if isinstance(value, (np.ndarray, np.generic)) else value


def _unpack(value: Any) -> Any:
    if isinstance(value, dict):
        if set(value) == {_TUPLE}:
            return tuple(_unpack(v) for v in value[_TUPLE])
        return {k: _unpack(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_unpack(v) for v in value]
    return value


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 6)


def gap_to(value: float | None, optimum: float | None) -> float | None:
    """|value - optimum|, or None when either is unknown."""
    return None if value is None or optimum is None else abs(value - optimum)


def gap_pct(value: float | None, reference: float | None, direction: str) -> float | None:
    """How far `value` falls short of `reference`, in percent of it (0 when it is as good or better)."""
    if value is None or not reference:
        return None
    short = to_loss(value, direction) - to_loss(reference, direction)
    return round(100.0 * short / abs(reference), 4)


def format_value(value: Any) -> str:
    """Compact, readable number for tables ('-' when absent)."""
    if value is None:
        return "-"
    if isinstance(value, str):
        return value
    if value == int(value) and abs(value) < 1e12:
        return str(int(value))
    return f"{value:.6g}"


COLUMN_NAMES = {"n_evals": "evals", "rounds": "rounds", "failed_evals": "failed", "starts": "starts",
                "proposals": "proposals", "duplicates": "duplicates", "invalid": "invalid", "skipped": "skipped",
                "repaired": "repaired", "n_llm_calls": "LLM calls", "tokens": "tokens",
                "reasoning_tokens": "reasoning tokens", "failed_requests": "failed requests", "cost_usd": "cost $"}
# Always shown, in this order; the others only where some row has a non-zero value.
ALWAYS_COLUMNS = ("n_evals", "starts", "proposals", "duplicates", "invalid", "n_llm_calls", "tokens")
# The keys of a summary row that are no count column: a problem's own columns are the rest.
ROW_KEYS = ("method", "kind", "best_value", "best_solution", "seconds", "stop_reason")


def count_columns(rows: Sequence[dict[str, Any]]) -> list[str]:
    """The count columns of a comparison of summary rows, in the order every table (text or HTML) shows
    them: a column that is zero or absent in every row is left out, except the always-shown ones."""
    def shown(key: str) -> bool:
        if key == "rounds":  # evaluations ran side by side: the rounds are the wall-clock measure
            return rows_side_by_side(rows)
        return key in ALWAYS_COLUMNS or any(row.get(key) for row in rows)

    return [key for key in COLUMN_NAMES if shown(key)]


def problem_columns(rows: Sequence[dict[str, Any]]) -> list[str]:
    """The problem's own columns of summary rows (e.g. TSP's `gap_pct`), in first-seen order."""
    known = {*ROW_KEYS, *COLUMN_NAMES}
    return list(dict.fromkeys(key for row in rows for key in row if key not in known))


def comparison_table(results: list[Result], optimum: float | None = None,
                     extra: list[dict[str, Any]] | None = None) -> str:
    """A plain-text table grouped by kind: best value, gap, evaluations, proposals, calls, tokens, seconds.

    `extra` holds one dict per result with problem-specific columns (e.g. `gap_pct`).
    """
    extra = extra or [{} for _ in results]
    rows = [{**r.summary(), **more} for r, more in zip(results, extra)]
    header, body = comparison_rows(rows, optimum)
    return text_table([header, *body], right_align=True)


def comparison_rows(rows: Sequence[dict[str, Any]], optimum: float | None,
                    stop: bool = False) -> tuple[list[str], list[list[str]]]:
    """The header and cells of a comparison of summary rows (the `--json` rows), grouped by kind: the one
    layout of the text table and the HTML report; `stop` adds the stop reason."""
    mine, counted = problem_columns(rows), count_columns(rows)
    header = ["method", "kind", "best value", "gap", *mine, *(COLUMN_NAMES[k] for k in counted), "seconds",
              *(["stop"] if stop else [])]
    body = [[str(row["method"]), str(row.get("kind")), format_value(row.get("best_value")),
             format_value(gap_to(row.get("best_value"), optimum)), *(format_value(row.get(k)) for k in mine),
             *(format_value(row.get(k)) for k in counted), f"{row.get('seconds') or 0:.2f}",
             *([str(row.get("stop_reason"))] if stop else [])]
            for row in sorted(rows, key=lambda r: kind_rank(r.get("kind")))]
    return header, body


def side_by_side(results: Sequence[Result]) -> bool:
    """Whether some method evaluated side by side (fewer rounds than evaluations): then rounds are the clock."""
    return rows_side_by_side([r.summary() for r in results])


def rows_side_by_side(rows: Sequence[dict[str, Any]]) -> bool:
    """`side_by_side` of summary rows."""
    return any(row.get("kind") != "reference" and 0 < (row.get("rounds") or 0) < (row.get("n_evals") or 0)
               for row in rows)


def kind_rank(kind: str | None) -> int:
    """Where a kind's rows go in a table; a kind this version does not know (an older record's) goes first."""
    return KINDS.index(kind) if kind in KINDS else -1


def text_table(rows: list[list[str]], *, right_align: bool = False) -> str:
    """Aligned plain-text table; the first row is the header. `right_align` applies past column 0."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.rjust(w) if right_align and i else cell.ljust(w)
                       for i, (cell, w) in enumerate(zip(row, widths))) for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)
