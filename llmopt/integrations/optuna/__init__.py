"""llmopt inside Optuna: OPRO and language-model crossover as Optuna samplers.

A user keeps their own `objective(trial)`, their storage, workers and dashboard, and passes
`sampler=OPROSampler()`: the sampler reads the study's finished trials as OPRO's history, asks the
model for a step's worth of proposals in one request (OPRO's meta-prompt, or LMX's few-shot list),
and hands one out per trial. It never evaluates: Optuna runs the objective.

- **The space.** The study's parameters (float, with `log` and `step`; int, with `log` and `step`;
  categorical), by the names the user gave them, written as a JSON object; the meta-prompt lists each
  with its range. An answer that does not decode, or falls outside a distribution (a non-integer
  for an int, a value off its step, a choice not among the categorical's), is rejected and counted;
  a trial never gets such a value.
- **The queue.** One request per step, `proposals` answers; the queue is refilled when it is empty,
  from the trials finished by then: every trial it gave out in a sequential study, whatever has
  finished with `n_jobs` or several workers on one storage. A proposal that repeats a trial's
  parameters is skipped. When a refill yields nothing usable (three times in a row), the trial is
  sampled by the fallback sampler (Random by default), and counted.
- **Failed and pruned trials** are left out of the history the model sees (a failed trial has no
  value; a pruned one only an intermediate value of another scale); they still count as trials.
- **The first trials** (`n_startup_trials`, 5 by default, as OPRO's start points) and every parameter
  outside the relative search space (a dynamic search space) come from the fallback sampler.
- **Feedback and constraints.** A trial's feedback is its user attribute `llmopt_feedback` (a short text or a flat
  dict, set by the objective with `trial.set_user_attr`), its constraint values Optuna's own (`constraints_func=`,
  as Optuna's samplers take it, or `trial.set_constraint`; <= 0 satisfied, > 0 violated): the history the model
  sees carries both, read as strictly as an `llmopt.Evaluation` (a malformed one is dropped, with a warning).
- **Several objectives.** In a study with several `directions`, the model's problem takes them ("minimize" ->
  "min", "maximize" -> "max", labelled by the study's `metric_names` where set), the history carries each trial's
  `values`, and the sampler's front is the study's `best_trials`. Its hypervolume is measured against a reference
  point: the one given (`reference=`), else the one recorded in the study's user attribute `llmopt_reference`,
  else one derived by `llmopt.core.pareto.derived_reference` (the worst value of each objective plus 10 % of the
  range) from the first `n_startup_trials` complete trials with finite values (at least one; their feasible ones
  where any is; `llmopt.report.study.study_reference`, which the study report reads too), and then recorded there,
  so that every worker of the study measures against the same point. A `reference=` that differs from the
  recorded point is a ValueError. A trial with an infinite value is left out of the model's history in such a
  study (a front's values are finite).
- **Records.** Each trial's user attributes name its step (`llmopt_step`), its answer (`llmopt_answer`)
  and the sampler that gave it (`llmopt_sampler`); the step's prompt, the trials it saw and when it
  read them (`read_at`) are stored once per step in the study's user attribute named by `llmopt_step`.
- **The model** is any llmopt backend (the embedded model by default; `model=`/`base_url=` for a
  server, `cache=` for the response cache), with every rule of `llmopt run`: a refusal or a server
  gone raises, a request that failed after its retries is counted and the trial falls back; the
  limits of `config` (`max_llm_calls`, `max_total_tokens`, `max_cost`) end the model's part, and the
  rest of the study is sampled by the fallback.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import math
import threading
import uuid
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any, cast

import numpy as np
from optuna.distributions import BaseDistribution, CategoricalDistribution, FloatDistribution, IntDistribution
from optuna.samplers import BaseSampler, RandomSampler
from optuna.samplers._base import _process_constraints_after_trial  # how Optuna's own samplers store constraints
from optuna.search_space import IntersectionSearchSpace
from optuna.study import Study
from optuna.trial import FrozenTrial, TrialState

from llmopt.backends import BackendSpec
from llmopt.backends.base import Backend
from llmopt.contract.evaluation import Evaluation, Scored, read_returned
from llmopt.contract.problem import Direction, Problem
from llmopt.contract.spaces import Space
from llmopt.core.direction import from_optuna
from llmopt.core.errors import InvalidSolution, UsageError
from llmopt.core.result import Spent, Trial
from llmopt.core.stops import MODEL_LIMITS
from llmopt.engine.config import RunConfig
from llmopt.methods.model.opro import NAME as OPRO_NAME
from llmopt.methods.model.opro import OPROProposer
from llmopt.report.study import FEEDBACK_ATTR, REFERENCE_ATTR, constraints_of, study_reference

if TYPE_CHECKING:
    from llmopt.engine.driver import Driver

REFILLS = 3  # requests in a row that may yield nothing usable before a trial falls back
Params = tuple[Any, ...]
Distribution = CategoricalDistribution | FloatDistribution | IntDistribution  # the kinds Optuna suggests


@dataclass(frozen=True)
class StudySpace(Space):
    """A study's parameters; a solution is their values in this order, written as a JSON object."""

    names: tuple[str, ...]
    distributions: tuple[Distribution, ...]

    def encode(self, solution: Params) -> str:
        """`{"name": value, ...}` in the parameters' order."""
        return (
            "{"
            + ", ".join(
                f"{json.dumps(name)}: {_text(value, dist)}"
                for name, value, dist in zip(self.names, solution, self.distributions)
            )
            + "}"
        )

    def decode(self, text: str) -> Params:
        """The last JSON object in `text`, each value checked against its distribution."""
        data = _last_object(text)
        if data is None:
            raise InvalidSolution("no {...} parameter set found")
        if set(data) != set(self.names):
            raise InvalidSolution(f"wrong keys: give exactly {', '.join(self.names)}")
        return tuple(_checked(name, data[name], dist) for name, dist in zip(self.names, self.distributions))

    def key(self, solution: Params) -> str:
        """Identity for the duplicate rule: the text form."""
        return self.encode(solution)

    def sample(self, rng: np.random.Generator, k: int) -> list[Params]:
        """k solutions drawn uniformly (log-uniformly for `log`) from each distribution, as written."""
        return [self.decode(self.encode(tuple(_draw(dist, rng) for dist in self.distributions))) for _ in range(k)]

    def grammar(self) -> str:
        """GBNF for exactly these keys, in order, each with a value of its kind."""
        parts, rules = [], []
        for index, (name, dist) in enumerate(zip(self.names, self.distributions)):
            parts.append(_literal(("{" if index == 0 else ", ") + json.dumps(name) + ": ") + f" v{index}")
            if isinstance(dist, CategoricalDistribution):
                rules.append(f"v{index} ::= " + " | ".join(_literal(json.dumps(c)) for c in dist.choices))
            else:
                integer = isinstance(dist, IntDistribution)
                whole = '"-"? ("0" | [1-9] [0-9]{0,17})'  # JSON numbers: no leading zeros
                rules.append(
                    f"v{index} ::= " + (whole if integer else whole + ' ("." [0-9]{1,17})? ([eE] [-+]? [0-9]{1,3})?')
                )
        return "root ::= " + " ".join(parts) + ' "}"\n' + "\n".join(rules) + "\n"


def _last_object(text: str) -> dict[str, Any] | None:
    """The last JSON object that parses in `text` (braces inside its strings are fine)."""
    decoder = json.JSONDecoder()
    start = text.rfind("{")
    while start >= 0:
        try:
            found, _ = decoder.raw_decode(text, start)
        except ValueError:
            found = None
        if isinstance(found, dict):
            return found
        start = text.rfind("{", 0, start)
    return None


def _literal(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _text(value: Any, dist: Distribution) -> str:
    if isinstance(dist, CategoricalDistribution):
        return json.dumps(value)
    if isinstance(dist, IntDistribution):
        return str(int(value))
    return _float_text(float(value), dist)


def _float_text(value: float, dist: FloatDistribution) -> str:
    """As many digits as tell apart what the distribution holds: a step's own decimals; on a log scale six
    significant digits; else four below the range's width (a key tells such values apart, a prompt stays
    short)."""
    if dist.step is not None:
        decimals = max(0, -int(Decimal(repr(dist.step)).as_tuple().exponent))
    elif dist.log:
        return f"{value:.6g}"
    else:
        decimals = max(0, 4 - math.floor(math.log10(dist.high - dist.low)))
    text = f"{value:.{decimals}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _checked(name: str, value: Any, dist: Distribution) -> Any:
    """The value as the distribution holds it, or `InvalidSolution` naming what is wrong."""
    if isinstance(dist, CategoricalDistribution):
        for choice in dist.choices:  # 1, 1.0 and True are different choices
            if type(choice) is type(value) and choice == value:
                return choice
        raise InvalidSolution(f"{name}: not one of {', '.join(json.dumps(c) for c in dist.choices)}")
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise InvalidSolution(f"{name}: not a number")
    if isinstance(dist, FloatDistribution):  # a bound written with six digits is the bound
        slack = 1e-6 * max(abs(dist.low), abs(dist.high), 1e-300)
        value = (
            dist.low
            if dist.low - slack <= value < dist.low
            else dist.high
            if dist.high < value <= dist.high + slack
            else value
        )
    if not dist.low <= value <= dist.high:
        raise InvalidSolution(f"{name}: outside [{dist.low:g}, {dist.high:g}]")
    if isinstance(dist, IntDistribution):
        if not float(value).is_integer():
            raise InvalidSolution(f"{name}: not an integer")
        if (int(value) - dist.low) % dist.step:
            raise InvalidSolution(f"{name}: off its step of {dist.step}")
        return int(value)
    if dist.step is not None:
        steps = (value - dist.low) / dist.step
        if abs(steps - round(steps)) > 1e-6:
            raise InvalidSolution(f"{name}: off its step of {dist.step:g}")
        return float(min(dist.low + round(steps) * dist.step, dist.high))
    return float(value)


def _draw(dist: Distribution, rng: np.random.Generator) -> Any:
    if isinstance(dist, CategoricalDistribution):
        return dist.choices[int(rng.integers(len(dist.choices)))]
    if getattr(dist, "log", False):
        value = math.exp(rng.uniform(math.log(dist.low), math.log(dist.high)))
    else:
        value = rng.uniform(dist.low, dist.high)
    step = dist.step or (1 if isinstance(dist, IntDistribution) else None)
    if step is not None:
        value = dist.low + round((value - dist.low) / step) * step
        value = min(max(value, dist.low), dist.high)
    return int(value) if isinstance(dist, IntDistribution) else float(value)


def _range(name: str, dist: Distribution) -> str:
    if isinstance(dist, CategoricalDistribution):
        return f"- {name}: one of {', '.join(json.dumps(c) for c in dist.choices)}"
    kind = "an integer" if isinstance(dist, IntDistribution) else "a real number"
    notes = [f"in steps of {dist.step!r}" if dist.step not in (None, 1) else "", "on a log scale" if dist.log else ""]
    return f"- {name}: {kind} from {dist.low!r} to {dist.high!r}" + "".join(f", {n}" for n in notes if n)


class StudyProblem(Problem):
    """An Optuna study's search space as an llmopt problem: what the proposers read. Optuna evaluates."""

    name = "optuna-study"
    summary = "the search space of an Optuna study"
    solution_label = "parameter set"
    value_label = "objective value"

    space: StudySpace

    def __init__(
        self,
        space: StudySpace,
        direction: Direction,
        directions: tuple[Direction, ...] | None = None,
        reference: tuple[float, ...] | None = None,
        labels: tuple[str, ...] | None = None,
    ) -> None:
        self.space = space
        self.direction = direction  # type: ignore[misc]  # a study's own, known once it is made
        if directions is not None:  # a multi-objective study: its reference point is known before any driver
            self.directions, self.reference, self.objective_labels = directions, reference, labels
            self.value_label = "objective values"  # type: ignore[misc]

    def describe(self) -> str:
        """The parameters by their names, with their ranges (and the objectives, when there are several)."""
        lines = "\n".join(_range(n, d) for n, d in zip(self.space.names, self.space.distributions))
        if self.directions is None:
            goal = "lowest" if self.direction == "min" else "highest"
            return f"Find the parameter set with the {goal} objective value. The parameters are:\n{lines}"
        goals = ", ".join(
            f"{label} ({'lower' if d == 'min' else 'higher'} is better)"
            for label, d in zip(self.labels(), self.directions)
        )
        return (
            f"Find parameter sets on the Pareto front of {self.objectives} objectives: {goals}. "
            f"The parameters are:\n{lines}"
        )

    def format_hint(self) -> str:
        """A JSON object with exactly the parameters' keys."""
        example = self.space.encode(self.space.sample(np.random.default_rng(0), 1)[0])
        return (
            f"Give one new parameter set, different from all those above, as a JSON object with exactly "
            f"these keys, for example {example}"
        )

    def key(self, solution: Any) -> str:
        """The text form."""
        return self.space.key(solution)

    def evaluate(self, solution: Any) -> float:
        """Never called: the study's objective evaluates, in Optuna."""
        raise NotImplementedError("an Optuna study evaluates its own objective")


@dataclass
class _State:
    """The model's side of one study and search space: the study (its storage's id and its own), the space,
    the driver that asks the model for it and the driver's proposer, and the step the driver is at (0 until
    its first request; a sampler numbers the steps across search spaces)."""

    study: tuple[int, int]
    space: StudySpace
    driver: Driver
    proposer: Any
    step: int = 0


class ModelSampler(BaseSampler):
    """What `OPROSampler` and `LMXSampler` share: the queue, the study's trials as the history, the
    fallback, the records. `config` holds the model-facing settings (`temperature`, `answer_tokens`,
    `use_grammar`, `metaprompt`, `max_llm_calls`, `max_total_tokens`, `max_cost` with `price`, and
    LMX's `lmx_*`); `proposals` is the answers of one request; `constraints_func`, as Optuna's samplers take it,
    gives a finished trial's constraint values (<= 0 satisfied), which Optuna stores with the trial. In a study
    with several objectives, `reference` is the point the sampler's front is measured against (one value per
    objective); without it the sampler derives one from the study's first complete trials (see the module)."""

    method = "model"

    def __init__(
        self,
        *,
        seed: int | None = None,
        model: str = BackendSpec.model,
        base_url: str | None = None,
        model_path: str | None = None,
        backend: Backend | None = None,
        cache: str | None = None,
        proposals: int = RunConfig.proposals,
        n_startup_trials: int = 5,
        fallback: BaseSampler | None = None,
        config: RunConfig | None = None,
        constraints_func: Callable[[FrozenTrial], Sequence[float]] | None = None,
        reference: Sequence[float] | None = None,
    ) -> None:
        self._constraints_func = constraints_func
        self._reference = _given_reference(reference)
        self._seed = seed if seed is not None else int(np.random.SeedSequence().generate_state(1)[0])
        self._settings: dict[str, Any] = {
            "model": model,
            "base_url": base_url,
            "model_path": model_path,
            "cache": cache,
        }
        self._backend, self._backend_given = backend, backend is not None
        base = config if config is not None else RunConfig()
        self._config = dataclasses.replace(
            base,
            proposals=proposals,
            seed=self._seed,
            steps=10**9,
            max_evals=None,
            target=None,
            patience=None,
            timeout=None,
        )
        self._fallback = fallback if fallback is not None else RandomSampler(seed=seed)
        self._startup = n_startup_trials
        self._id = uuid.uuid4().hex[:8]
        self._fresh()

    def _fresh(self) -> None:
        self._lock = threading.RLock()
        self._queue: list[tuple[Params, str, str]] = []
        self._state: _State | None = None
        self._synced: set[int] = set()
        self._handed: set[str] = set()  # keys given to trials, so two running trials never get the same one
        self._steps = 0  # this sampler's model requests, across search spaces
        self._spent: Any = None  # what earlier drivers' requests cost, carried to the next
        self._fruitless_at: int | None = None  # finished trials when a refill last gave nothing new
        self.fallbacks = self.rejected = self.repeats = 0
        self._warned = False

    def __getstate__(self) -> dict[str, Any]:
        """For process-based workers: the settings travel, the model and the queue are made anew there."""
        fresh = ("_lock", "_queue", "_state", "_synced", "_handed", "_steps", "_spent", "_fruitless_at")
        state = {k: v for k, v in self.__dict__.items() if k not in fresh}
        state["_backend"] = None
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        """Rebuild what `__getstate__` left out."""
        self.__dict__.update(state)
        self._id = uuid.uuid4().hex[:8]
        self._fresh()

    def reseed_rng(self) -> None:
        """New random streams for the fallback and the model's request seeds (Optuna calls this before each
        trial of `n_jobs`); the queue, the history and the counts stay."""
        with self._lock:
            self._fallback.reseed_rng()
            self._seed = int(np.random.SeedSequence().generate_state(1)[0])
            self._config = dataclasses.replace(self._config, seed=self._seed)
            if self._state is not None:
                self._state.proposer.config = self._config

    def infer_relative_search_space(self, study: Study, trial: FrozenTrial) -> dict[str, BaseDistribution]:
        """Every parameter all finished trials share (single-valued ones aside)."""
        found = IntersectionSearchSpace(include_pruned=True).calculate(study)
        return {name: dist for name, dist in found.items() if not dist.single()}

    def sample_relative(
        self, study: Study, trial: FrozenTrial, search_space: dict[str, BaseDistribution]
    ) -> dict[str, Any]:
        """A value for every parameter of `search_space`: one proposal of the model's for this trial, or the
        fallback's values for the first trials and when the model gave nothing usable. (A fully enqueued trial
        never asks; a partly enqueued one keeps its fixed values, as Optuna does for every sampler.)"""
        finished = len(study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)))
        found: dict[str, Any] | None = None
        if search_space and finished >= self._startup:
            with self._lock:
                found = self._next(study, trial, search_space, finished)
                self.fallbacks += found is None
        found = found or {}
        # every name, whatever the model gave: Optuna's sampler suite reads them all
        return {
            name: found[name] if name in found else self.sample_independent(study, trial, name, dist)
            for name, dist in search_space.items()
        }

    def sample_independent(
        self, study: Study, trial: FrozenTrial, param_name: str, param_distribution: BaseDistribution
    ) -> Any:
        """The fallback sampler's value."""
        return self._fallback.sample_independent(study, trial, param_name, param_distribution)

    def before_trial(self, study: Study, trial: FrozenTrial) -> None:
        """The fallback's own preparation."""
        self._fallback.before_trial(study, trial)

    def after_trial(self, study: Study, trial: FrozenTrial, state: TrialState, values: Sequence[float] | None) -> None:
        """The trial's constraint values stored as Optuna's samplers store them (`constraints_func`), and the
        fallback's own bookkeeping; the model learns of the trial at the next refill."""
        if self._constraints_func is not None:
            _process_constraints_after_trial(self._constraints_func, study, trial, state)
        self._fallback.after_trial(study, trial, state, values)

    @property
    def counts(self) -> Any:
        """What the model requests cost (`llmopt.Counts`: calls, tokens, failed requests), across the study's
        search spaces; None before any."""
        return None if self._state is None else self._state.driver.result.counts

    # -- the queue ---------------------------------------------------------------------------

    def _next(
        self, study: Study, trial: FrozenTrial, search: dict[str, BaseDistribution], finished: int
    ) -> dict[str, Any] | None:
        state = self._state_for(search, study)
        if state is None:  # a multi-objective study with no complete trial yet to derive a reference point from
            return None
        space = state.space
        taken = self._handed | {
            space.key(tuple(t.params[n] for n in space.names))
            for t in study.get_trials(deepcopy=False)
            if all(n in t.params for n in space.names)
        }
        for _ in range(REFILLS):
            while self._queue:
                solution, answer, step = self._queue.pop(0)
                if space.key(solution) in taken:
                    self.repeats += 1
                    continue
                self._handed.add(space.key(solution))
                self._note(study, trial, step, answer)
                return dict(zip(space.names, solution))
            if self._fruitless_at == finished:  # nothing new since a request that gave nothing new: no re-ask
                return None
            if not self._refill(study, state):
                return None
            self._fruitless_at = finished if all(space.key(q[0]) in taken for q in self._queue) else None
        return None

    def _state_for(self, search: dict[str, BaseDistribution], study: Study) -> _State | None:
        names = tuple(sorted(search))
        space = StudySpace(names, tuple(cast(Distribution, search[n]) for n in names))
        which = (id(study._storage), study._study_id)
        old = self._state
        if old is not None and (old.study, old.space) == (which, space):
            return old
        # a new study, or its search space changed
        problem = self._problem(space, study)
        if problem is None:
            return None
        if old is not None:  # the model's spending and steps go on across search spaces
            self._spent = old.driver.result.counts
        state = self._new_state(which, problem)
        if self._spent is not None:  # the model's spending of an earlier driver: its limits count it too
            state.driver.observe([], Spent.between(self._spent, None))
        if old is not None and old.study != which:
            self._handed = set()
        self._state, self._queue, self._synced, self._fruitless_at = state, [], set(), None
        return state

    def _problem(self, space: StudySpace, study: Study) -> StudyProblem | None:
        """The model's problem: the study's direction, or its directions with their reference point (None while
        a multi-objective study has no complete trial to derive that point from)."""
        directions = tuple(from_optuna(d) for d in study.directions)
        if len(directions) == 1:
            return StudyProblem(space, directions[0])
        reference = self._reference_for(study, directions)
        if reference is None:
            return None
        labels = tuple(study.metric_names) if study.metric_names else None
        return StudyProblem(space, directions[0], directions, reference, labels)

    def _reference_for(self, study: Study, directions: tuple[Direction, ...]) -> tuple[float, ...] | None:
        """The point a multi-objective study's front is measured against: the sampler's own (`reference=`), else
        the study's recorded one, else one derived from its first complete trials (`report.study.study_reference`,
        the study report's rule too), recorded for the next; a ValueError when the sampler's own differs from the
        recorded one (the study's hypervolumes would not compare)."""
        recorded = study.user_attrs.get(REFERENCE_ATTR)
        if self._reference is not None and recorded is not None and _point(recorded) != self._reference:
            raise ValueError(
                f"reference={list(self._reference)} differs from the point the study recorded in its user attribute "
                f"{REFERENCE_ATTR}, {list(_point(recorded))}: every trial of a study is measured against one; give "
                "that point, or none"
            )
        reference = self._reference or study_reference(study, max(self._startup, 1))
        if reference is None:
            return None
        if len(reference) != len(directions):
            raise ValueError(
                f"the reference point {list(reference)} has {len(reference)} values; the study has "
                f"{len(directions)} objectives"
            )
        if recorded is None:
            study.set_user_attr(REFERENCE_ATTR, list(reference))
        return reference

    def _new_state(self, which: tuple[int, int], problem: StudyProblem) -> _State:
        """A driver for `problem` (the embedded model, or the server, made once), with its proposer."""
        from llmopt.engine.driver import Driver

        if self._backend is None:
            if self._backend_given:
                raise UsageError(
                    "a sampler given backend= does not travel to other processes; give model=, "
                    "base_url= (and cache=) instead"
                )
            from llmopt.backends import make_backend

            self._backend = make_backend(**self._settings)
        proposer = self._proposer(problem, self._backend)
        driver = Driver(problem, proposer, self._config, name=self.method)
        return _State(which, problem.space, driver, proposer)

    def _proposer(self, problem: StudyProblem, backend: Backend) -> Any:
        raise NotImplementedError

    def _refill(self, study: Study, state: _State) -> bool:
        """One request for a step's proposals; False when the model's limits are spent."""
        read_at = datetime.datetime.now().isoformat()
        seen = self._sync(study, state)
        reason = state.driver.stop_reason()
        if reason in MODEL_LIMITS:
            if not self._warned:
                warnings.warn(
                    f"{self.method} sampler: {reason} reached; the rest of the study is sampled by the fallback",
                    stacklevel=3,
                )
                self._warned = True
            return False
        self._steps += 1
        state.step = self._steps
        ask = state.driver.propose_step(self._steps)  # a refusal or a server gone raises, as in `llmopt run`
        step = f"llmopt:{self._id}:{self._steps}"
        study.set_user_attr(step, {"prompt": ask.prompt, "seen": seen, "read_at": read_at, "error": ask.error})
        for proposal in ask.proposals:
            if proposal.reason is None:
                self._queue.append((proposal.solution, proposal.raw, step))
            else:
                self.rejected += 1
        return True

    def _sync(self, study: Study, state: _State) -> list[int]:
        """The study's finished trials the driver has not seen yet, recorded as its history."""
        space = state.space
        done = [
            t
            for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
            if all(n in t.params for n in space.names)
        ]
        new = [t for t in done if t.number not in self._synced]
        trials = []
        for frozen in new:
            solution = tuple(frozen.params[n] for n in space.names)
            said = _said(frozen, state.driver.problem.objectives)
            if said is None:
                continue
            trials.append(
                Trial(
                    0 if not self._synced else state.step,
                    "ok",
                    text=space.encode(solution),
                    solution=solution,
                    value=said.value,
                    feedback=said.feedback,
                    constraints=said.constraints,
                    values=said.values,
                )
            )
        self._synced |= {t.number for t in new}
        state.driver.observe(trials)
        return sorted(self._synced)

    def _note(self, study: Study, trial: FrozenTrial, step: str, answer: str) -> None:
        storage = study._storage  # a sampler writes attributes through the storage, as Optuna's own do
        for key, value in (("llmopt_step", step), ("llmopt_answer", answer), ("llmopt_sampler", self._id)):
            storage.set_trial_user_attr(trial._trial_id, key, value)


def _said(trial: FrozenTrial, objectives: int = 1) -> Scored | None:
    """A complete trial's value (its values, with several objectives) with its feedback (user attribute
    `llmopt_feedback`) and constraint values, read as strictly as an `llmopt.Evaluation`; a malformed feedback or
    constraint is left out, with a warning. None: a multi-objective trial with an infinite value, left out."""
    values = tuple(float(v) for v in cast(list, trial.values))  # a complete trial has its values
    plain = Scored(values[0], None, "ok") if objectives == 1 else Scored(None, None, "ok", values=values)
    if not all(math.isfinite(v) for v in values):  # Optuna keeps an infinite value; one objective shows it as it is
        return plain if objectives == 1 else None
    feedback, constraints = trial.user_attrs.get(FEEDBACK_ATTR), constraints_of(trial)
    for given in ((feedback, constraints), (None, constraints), (None, None)):
        evaluation = Evaluation(values[0], *given) if objectives == 1 else Evaluation(None, *given, values=values)
        said = read_returned(evaluation, objectives)
        if said.succeeded:
            return said
        warnings.warn(f"trial {trial.number}: {said.reason}; left out of what the model sees", stacklevel=4)
    return plain


def _given_reference(reference: Sequence[float] | None) -> tuple[float, ...] | None:
    """A user's reference point as floats; a ValueError for one that is not all finite numbers."""
    if reference is None:
        return None
    point = tuple(float(v) for v in reference)
    if not all(math.isfinite(v) for v in point):
        raise ValueError(f"reference= takes finite numbers, one per objective, not {list(reference)}")
    return point


def _point(recorded: Sequence[Any]) -> tuple[float, ...]:
    """A reference point as the study's user attribute stores it (a list), as floats."""
    return tuple(float(v) for v in recorded)


class OPROSampler(ModelSampler):
    """OPRO as an Optuna sampler: the meta-prompt shows the best finished trials with their values."""

    method = OPRO_NAME

    def _proposer(self, problem: StudyProblem, backend: Backend) -> Any:
        return OPROProposer(problem, backend, self._config, name=self.method)


class LMXSampler(ModelSampler):
    """Language-model crossover as an Optuna sampler: the model continues a list of good trials' parameters."""

    method = "lmx"

    def _proposer(self, problem: StudyProblem, backend: Backend) -> Any:
        from llmopt.methods.model.lmx import Continuation

        return Continuation(problem, backend, self._config, name=self.method)
