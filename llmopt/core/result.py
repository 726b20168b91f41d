"""One Result type for OPRO, its ablations, black-box baselines and references, and the table that compares them."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Literal, cast

import numpy as np

from llmopt.core.direction import TARGET_TOLERANCE, best_of, better, gap_pct, reached, to_loss, worst  # noqa: F401  (0.3 code read them from llmopt.result)
from llmopt.core.feasibility import feasible, rank_key, violation
from llmopt.core.pareto import dominates, hypervolume, nondominated, sorted_front
from llmopt.core.stops import StopStatus, status_of

Status = Literal["initial", "ok", "invalid", "duplicate", "skipped", "failed"]
# "model": a method whose proposals come from the optimizer model (OPRO, LMX, EvoPrompt); "ablation": one
# of them with a part taken away; "black-box": a classical method; "reference": a white-box method.
Kind = Literal["model", "ablation", "black-box", "reference"]
KINDS: tuple[Kind, ...] = ("model", "ablation", "black-box", "reference")
MODEL_KINDS: tuple[Kind, ...] = ("model", "ablation")
EVALUATED: tuple[Status, ...] = ("initial", "ok")


@dataclass
class Trial:
    """One proposal or evaluation: where it came from, what it decoded to, and its value.

    `step` is the driver's step (0 for the initial points; None for methods without steps);
    `eval_index` counts evaluations from 1 and is set by `Result.add` for evaluated trials;
    `first_attempt` keeps the rejected answer of a repaired proposal, `prompt` a proposal's own request;
    `round` is the batch of evaluations it was scored in (from 1); `parent` is the member of a population
    a child was built on and may take the place of (EvoPrompt-DE's base); `feedback`, `constraints` and
    `cases` what the objective said with the value (an `llmopt.Evaluation`); `values` are a solution's
    objective values in a run with several objectives (whose trials have no single `value`).
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
    parent: str | None = None
    feedback: str | dict[str, Any] | None = None
    constraints: tuple[float, ...] | None = None
    cases: tuple[float, ...] | None = None
    values: tuple[float, ...] | None = None

    @property
    def scored(self) -> bool:
        """Whether the trial has a value, or the values of a run with several objectives."""
        return self.value is not None or self.values is not None

    @property
    def violation(self) -> float:
        """The total constraint violation (0 when feasible or unconstrained)."""
        return violation(self.constraints)

    @property
    def feasible(self) -> bool:
        """Whether every constraint the evaluation gave is satisfied."""
        return feasible(self.constraints)


@dataclass
class Spent:
    """What a proposer's requests cost in one step: answers asked of the model (repairs apart), requests
    answered with their calls and tokens, failed requests (and the last one's error), repairs made and
    those that decoded. A proposer returns it with its proposals; the driver adds it to the run's counts."""

    llm_calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    reasoning_tokens: int = 0
    requests: int = 0
    failed_requests: int = 0
    repairs: int = 0
    repairs_valid: int = 0
    asked: int = 0
    cached_tokens: int = 0
    last_error: str | None = None

    def add_generation(self, generation: Any) -> None:
        """Count one answered request: its calls and tokens (a backend `Generation`)."""
        self.requests += 1
        self.llm_calls += generation.calls
        self.prompt_tokens += generation.prompt_tokens
        self.completion_tokens += generation.completion_tokens
        self.reasoning_tokens += generation.reasoning_tokens
        self.cached_tokens += generation.cached_tokens

    def add(self, other: Spent) -> None:
        """Add another's spending (a request made on a thread of its own)."""
        for name in SPENDING:
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.last_error = other.last_error or self.last_error

    @classmethod
    def between(cls, after: Counts, before: Counts | None) -> Spent:
        """What was spent from `before` to `after` (a journal's consecutive counts)."""
        return cls(**{name: getattr(after, name) - (getattr(before, name) if before else 0) for name in SPENDING})


# What model requests cost (a Spent's counts, which Counts has too), apart from what became of the proposals.
SPENDING = tuple(f.name for f in fields(Spent) if f.name != "last_error")


@dataclass
class Counts:
    """What a run spent and how its proposals fared.

    Counting is in one place: `Result.add` counts each trial (through `count`) and `add_spent` each step's
    model requests; the ledger calls both, live and when a journal is replayed, so a resumed run counts as
    the live one did. A record read back (`from_dict`, a journal's last step) keeps the counts it wrote.
    """

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
    cached_tokens: int = 0  # prompt tokens the server took from its prompt cache (part of prompt_tokens)
    feasible: int = 0  # evaluations whose constraints all held (every evaluation of an unconstrained problem)

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

    def count(self, trial: Trial, retry: bool = False) -> None:
        """Count what a trial is, its evaluation apart (`Result.add`, which numbers it, counts that)."""
        if trial.step and not retry:
            self.proposals += 1
        elif trial.step == 0 and not retry:
            self.starts += 1
        if trial.first_attempt is not None:
            self.add_invalid(trial.first_attempt["reason"])
        if retry:  # the retry's outcome replaces the failure: one that failed again counts once, not twice
            self.failed_evals -= 1
        if trial.round is not None:
            self.rounds = max(self.rounds, trial.round)
        if trial.status == "failed":
            self.failed_evals += 1
        elif trial.status == "skipped":
            self.skipped += 1
        elif trial.status == "duplicate":
            self.duplicates += 1
        elif trial.status == "invalid":
            self.add_invalid(trial.reason or "invalid")

    def add_spent(self, spent: Spent) -> None:
        """Add what a step's model requests cost (the ledger's `spend`, live and on replay)."""
        for name in SPENDING:
            setattr(self, name, getattr(self, name) + getattr(spent, name))

    def cost(self, price: Sequence[float] | None) -> float | None:
        """Dollars at `price`: dollars per million prompt and completion tokens (IN, OUT), or per million
        uncached prompt, cached prompt and completion tokens (IN, CACHED, OUT); None without one."""
        if price is None:
            return None
        cached_price = price[1] if len(price) == 3 else price[0]
        uncached = self.prompt_tokens - self.cached_tokens
        return (uncached * price[0] + self.cached_tokens * cached_price + self.completion_tokens * price[-1]) / 1e6

    @property
    def nothing_scored(self) -> bool:
        """Whether every evaluation made failed (some were made, none gave a value)."""
        return self.failed_evals > 0 and self.evals == 0

    @property
    def failed_share(self) -> float:
        """The share of model requests that failed after every retry (0 when none were made)."""
        made = self.requests + self.failed_requests
        return self.failed_requests / made if made else 0.0


@dataclass
class Result:
    """Outcome of one method on one problem, modelled on scipy's OptimizeResult; owns its trial log.

    With several objectives (`directions`, one per objective), the result is the feasible Pareto front
    (`front()`), and its one number is the hypervolume that front dominates against the `reference` point:
    `best_value` (maximised: `direction` is "max"), `best_so_far()` and the statistics read that;
    `best_solution` holds the front's solutions, sorted along the first objective.
    """

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
    directions: tuple[str, ...] | None = None
    reference: tuple[float, ...] | None = None

    def __post_init__(self) -> None:
        if self.directions is not None:
            self.directions = tuple(self.directions)
            self.direction = "max"  # the one number of several objectives is the hypervolume
            if self.reference is None:
                raise ValueError("a Result with several objectives needs its reference point")
            self.reference = tuple(float(r) for r in self.reference)

    @property
    def multiobjective(self) -> bool:
        """Whether the run has several objectives (its result is a Pareto front)."""
        return self.directions is not None

    def add(self, trial: Trial, retry: bool = False) -> Trial:
        """Append a trial and count it; an evaluated one gets its evaluation index and may become the best.

        It counts (see `Counts`) a start point or a proposal, a duplicate, a repaired answer's first
        rejection and the trial's round; a failed evaluation (status "failed", with its reason) is kept and
        counted, never scored; so is an invalid proposal (counted under its reason). A `retry` is a failed
        evaluation scored again: its outcome replaces the failure, so it is no new proposal and one that
        failed again counts once.
        """
        self.counts.count(trial, retry)
        if trial.status in EVALUATED and trial.scored:
            self.counts.evals += 1
            trial.eval_index = self.counts.evals
            if trial.constraints is not None:
                self.extra["constrained"] = True
            if not trial.feasible:  # Deb's rules: an infeasible solution is never the best while any is feasible
                return self._append(trial)
            self.counts.feasible += 1
            if self.directions is not None:
                self._append(trial)
                self._update_front(trial)
                return trial
            value = cast(float, trial.value)
            if self.best_value is None or better(self.direction, value, self.best_value):
                self.best_value, self.best_solution = value, trial.solution
        return self._append(trial)

    def _update_front(self, trial: Trial) -> None:
        """The front after `trial` joined the trials, updated from the last one (computed in full the first
        time, as for a Result read back), so that a long run does not sort every evaluation again."""
        front: list[Trial] | None = self.__dict__.get("_front")  # not a field: never serialised
        directions, new = cast(tuple, self.directions), cast(tuple, trial.values)
        if front is None:
            front = self.front()
        elif not any(t.values == new or dominates(cast(tuple, t.values), new, directions) for t in front):
            kept = [t for t in front if not dominates(new, cast(tuple, t.values), directions)]
            front = sorted([*kept, trial], key=lambda t: to_loss(cast(tuple, t.values)[0], directions[0]))
        self.__dict__["_front"] = front
        self.best_solution = [t.solution for t in front]
        self.best_value = self.hypervolume_of(front)

    def _append(self, trial: Trial) -> Trial:
        self.trials.append(trial)
        return trial

    @property
    def constrained(self) -> bool:
        """Whether some evaluation gave constraint values (then the best is the best feasible solution)."""
        return bool(self.extra.get("constrained"))

    @property
    def no_feasible(self) -> bool:
        """Whether solutions were evaluated and none of them was feasible."""
        return self.counts.evals > 0 and self.counts.feasible == 0

    def front(self) -> list[Trial]:
        """The feasible Pareto front: the feasible evaluated trials no other dominates (of equal values, the
        first evaluated), sorted along the first objective; empty for a run with one objective."""
        if self.directions is None:
            return []
        trials = [t for t in self.evaluated() if t.feasible]
        order = sorted_front([cast(tuple, t.values) for t in trials], self.directions)
        return [trials[i] for i in order]

    def hypervolume_of(self, trials: Sequence[Trial]) -> float:
        """The hypervolume the trials' values dominate against this result's reference point."""
        if self.directions is None or self.reference is None:
            raise ValueError("a hypervolume needs several objectives and a reference point")
        return hypervolume([cast(tuple, t.values) for t in trials], self.reference, self.directions)

    def best_trial(self) -> Trial | None:
        """The best evaluated trial by Deb's rules: the best feasible one, else the least violating one."""
        evaluated = self.evaluated()
        if not evaluated or self.directions is not None:
            return None
        return min(evaluated, key=lambda t: rank_key(cast(float, t.value), t.constraints, self.direction))

    def evaluated(self) -> list[Trial]:
        """The evaluated trials, in the order they were evaluated."""
        return [t for t in self.trials if t.eval_index is not None]

    def best_so_far(self) -> np.ndarray:
        """The best feasible value after each evaluation (NaN until the first feasible one); with several
        objectives, the hypervolume of the feasible front so far."""
        if self.directions is not None:
            return self._hypervolume_so_far()
        values = np.array([t.value if t.feasible else np.nan for t in self.evaluated()], dtype=float)
        if not values.size:
            return values
        return best_of(values, self.direction)

    def _hypervolume_so_far(self) -> np.ndarray:
        directions, curve = cast(tuple, self.directions), []
        front: list[tuple[float, ...]] = []
        for trial in self.evaluated():
            if trial.feasible:
                front.append(cast(tuple, trial.values))
                front = [p for p, keep in zip(front, nondominated(front, directions)) if keep]
            curve.append(hypervolume(front, cast(tuple, self.reference), directions) if front else np.nan)
        return np.array(curve, dtype=float)

    def best_per_step(self) -> list[tuple[int, float]]:
        """(step, best value so far) after every OPRO step that evaluated something."""
        curve: dict[int, float] = {}
        for trial, best in zip(self.evaluated(), self.best_so_far()):
            if trial.step is not None:
                curve[trial.step] = float(best)
        return sorted(curve.items())

    def first_reaching(self, target: float) -> Trial | None:
        """The first evaluated feasible trial that reached `target` (with several objectives, the one after
        which the front's hypervolume reached it), if any."""
        if self.directions is not None:
            curve = self.best_so_far()
            hits = [t for t, hv in zip(self.evaluated(), curve) if reached(float(hv), target, "max")]
            return hits[0] if hits else None
        return next((t for t in self.evaluated() if t.feasible and reached(t.value, target, self.direction)), None)

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
    def status(self) -> StopStatus:
        """The stop reason's status code (scipy's name): 0 finished, 1 target reached, 2 another limit, 3 too
        many failures, negative for a failure (`llmopt.core.stops`)."""
        return status_of(self.stop_reason)

    @property
    def success(self) -> bool:
        """Whether the method ended by a rule (a budget, a target, convergence, a limit) with a solution, not
        by a failure: a crash, an interruption, a server that went away (a negative `status`); a Result with no
        stop reason yet has not ended."""
        return self.best_value is not None and 0 <= self.status < StopStatus.RUNNING

    @property
    def message(self) -> str:
        """Why it stopped (scipy's name for the stop reason)."""
        return self.stop_reason

    @property
    def side_by_side(self) -> bool:
        """Whether this method evaluated side by side (fewer rounds than evaluations; never a reference)."""
        return self.kind != "reference" and 0 < self.counts.rounds < self.counts.evals

    def plot(self, baselines: list[Result] | None = None, optimum: float | None = None) -> Any:
        """A matplotlib figure of the convergence, with the other results as lines."""
        from llmopt.report.plots import figure_for

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
            "cached_tokens": counts.cached_tokens if model_driven else None,
            "failed_requests": counts.failed_requests if model_driven else None,
            "cost_usd": _round(counts.cost(self.extra.get("price"))) if model_driven else None,
            "seconds": round(self.seconds, 4),
            "feasible": counts.feasible if self.constrained else None,
            "front_size": len(self.front()) if self.directions is not None else None,
            "stop_reason": self.stop_reason,
            "status": int(self.status),
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
        counts = data.get("counts", {})
        data["counts"] = Counts.from_dict(counts)
        if "feasible" not in counts:  # a record written before 0.7: every evaluated solution was feasible
            data["counts"].feasible = sum(t.eval_index is not None for t in data["trials"])
        if "starts" not in counts:  # a record written before 0.4 counted them apart from nothing: its trials tell
            data["counts"].starts = sum(t.step == 0 for t in data["trials"])
            data["counts"].skipped = sum(t.status == "skipped" for t in data["trials"])
        return cls(**data)

    @classmethod
    def from_json(cls, text: str) -> Result:
        """Rebuild from `to_json` output."""
        return cls.from_dict(json.loads(text))


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


def kind_rank(kind: str | None) -> int:
    """Where a kind's rows go in a table; a kind this version does not know (an older record's) goes first."""
    return KINDS.index(kind) if kind in KINDS else -1


def side_by_side(results: Sequence[Result]) -> bool:
    """Whether some method evaluated side by side (fewer rounds than evaluations): then rounds are the clock."""
    return any(result.side_by_side for result in results)
