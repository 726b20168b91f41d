"""The problem plugin contract: what every optimization task supplies to the engine."""

from __future__ import annotations

import abc
import argparse
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Literal, cast

import numpy as np

from llmopt.contract.constraints import with_constraints
from llmopt.contract.evaluation import Evaluation, Scored, read_returned
from llmopt.core.errors import ENDS_THE_RUN, InvalidSolution
from llmopt.core.errors import UsageError as UsageError  # plugins raise it from here, as they always did
from llmopt.core.feasibility import violation
from llmopt.core.pareto import derived_reference
from llmopt.core.result import Kind, Result
from llmopt.core.settings import Setting, with_default

if TYPE_CHECKING:
    from llmopt.contract.spaces import Space

Direction = Literal["min", "max"]


@dataclass(frozen=True)
class Option:
    """One problem-specific command-line option, e.g. ``--w-true`` for linear regression."""

    flag: str
    type: Callable[[str], Any]
    default: Any
    help: str
    choices: tuple[Any, ...] | None = None
    nargs: str | None = None  # "+": one or more words, each read by `type`, given to the problem as a list

    @classmethod
    def of(cls, setting: Setting, prefix: str, help: str = "") -> Option:
        """A problem's copy of a declared setting under `prefix` (prompt search's scorer model: `--scorer-...`,
        keyword `scorer_...`): the setting's flag, reader, default and choices, so that an error about the copy's
        setting names this flag."""
        return cls(setting.flag_of(prefix), setting.read, setting.default, help or setting.help, setting.choices)

    @property
    def dest(self) -> str:
        """The keyword argument name the option maps to."""
        return self.flag.lstrip("-").replace("-", "_")

    def add_to(self, parser: argparse.ArgumentParser) -> None:
        """Register this option on an argparse parser."""
        if self.type is bool:
            parser.add_argument(
                self.flag, dest=self.dest, action=argparse.BooleanOptionalAction, default=self.default, help=self.help
            )
            return
        parser.add_argument(
            self.flag,
            dest=self.dest,
            type=self.type,
            default=self.default,
            choices=self.choices,
            help=with_default(self.help, self.default),
            nargs=self.nargs,  # argparse's own default is None too
        )


class Problem(abc.ABC):
    """Base class of every problem plugin; one instance is one concrete task.

    A problem declares the `space` its solutions live in; the space gives it an encoder, a decoder,
    a grammar, random start points and every black-box method written for that space. A problem
    whose solutions fit no space overrides `encode`, `decode` and `initial` instead.

    `paper_grid` names the task variants of the paper's table for this problem (label -> options),
    which `llmopt bench --paper-grid` runs.

    `constrained` declares, before any run, that `evaluate` returns constraint values (an `Evaluation`
    with `constraints`, Optuna's convention): a comparison then adds the methods whose libraries take
    constraints (scipy's COBYQA and SLSQP for a box) and hands the constraints to the libraries that can
    take them. A problem that returns constraints without declaring them is still ranked by Deb's rules.
    `gives_feedback` declares that `evaluate` returns feedback, so that a model-driven run sizes its fullest
    meta-prompt with a full feedback budget under every solution before it starts.

    A problem with several objectives sets `directions`, one per objective ("min" or "max", in the order
    `evaluate` returns its values, labelled by `objective_labels`); its `direction` is then unused. Its
    runs are compared by the hypervolume of their fronts against one `reference_point()`: the problem's own
    (`reference`), else one derived from random start points (`derive_reference`).
    """

    name: ClassVar[str]
    summary: ClassVar[str]
    direction: ClassVar[Direction] = "min"
    solution_label: ClassVar[str] = "solution"
    value_label: ClassVar[str] = "value"
    options: ClassVar[tuple[Option, ...]] = ()
    drawable: ClassVar[bool] = False
    constrained: ClassVar[bool] = False
    gives_feedback: ClassVar[bool] = False
    paper_grid: ClassVar[dict[str, dict[str, Any]]] = {}
    space: Space | None = None
    directions: tuple[Direction, ...] | None = None
    objective_labels: tuple[str, ...] | None = None
    reference: tuple[float, ...] | None = None

    @property
    def goal(self) -> Direction:
        """The direction of a run's one number: the problem's `direction`, or "max" with several objectives
        (the hypervolume of the front)."""
        return "max" if self.directions is not None else self.direction

    @property
    def objectives(self) -> int:
        """How many objectives `evaluate` returns (1 unless `directions` says otherwise)."""
        return 1 if self.directions is None else len(self.directions)

    def reference_point(self) -> tuple[float, ...] | None:
        """The point every method's hypervolume is measured against (None with one objective): the problem's
        own `reference`, else the one derived once from random start points (`derive_reference`)."""
        if self.directions is None:
            return None
        if self.reference is not None:
            return tuple(float(r) for r in self.reference)
        derived = getattr(self, "_derived_reference", None)  # derived once; the config keeps what was given
        if derived is None:
            derived = self._derived_reference = derive_reference(self)
        return derived

    def true_front(self) -> np.ndarray | None:
        """Points of the true Pareto front, (n, m), where it is known (for plots and targets)."""
        return None

    def labels(self) -> tuple[str, ...]:
        """The objectives' names, as the meta-prompt and the plots show them."""
        return self.objective_labels or tuple(f"f{i}" for i in range(1, self.objectives + 1))

    @classmethod
    def from_options(cls, **kwargs: Any) -> Problem:
        """Build an instance from parsed command-line options (keys are `Option.dest`)."""
        return cls(**kwargs)

    @abc.abstractmethod
    def describe(self) -> str:
        """The problem-specific opening of the meta-prompt."""

    @abc.abstractmethod
    def format_hint(self) -> str:
        """How the answer must be written, the closing instruction of the meta-prompt."""

    @abc.abstractmethod
    def evaluate(self, solution: Any) -> float | Evaluation:
        """The score the optimizer sees, deterministic: a number, or an `Evaluation` that adds feedback (why
        the solution scores as it does) and constraint values."""

    def constrained_by(self, fun: Callable[[Any], Any], label: str) -> Problem:
        """A copy of this problem whose evaluations also carry `fun(solution)`'s constraint values (one number
        or a sequence, Optuna's convention: <= 0 satisfied) and which declares itself `constrained`; `label`
        names `fun` in the problem's config. A problem whose solutions reach its own function in another
        form (a numeric problem's numpy array) overrides this."""
        return with_constraints(self, fun, label)

    def _space(self) -> Space:
        if self.space is None:
            raise NotImplementedError(
                f"{type(self).__name__} declares no space: set `space` or override encode, decode and initial"
            )
        return self.space

    def encode(self, solution: Any) -> str:
        """The text form of a solution, exactly as the model should write it."""
        return self._space().encode(solution)

    def decode(self, text: str) -> Any:
        """Parse a model completion into a solution; raise `InvalidSolution` otherwise."""
        return self._space().decode(text)

    def initial(self, rng: np.random.Generator, k: int) -> list[Any]:
        """k starting solutions (by default drawn at random from the space)."""
        return self._space().sample(rng, k)

    def grammar(self) -> str | None:
        """A GBNF grammar that forces well-formed answers, if the problem has one."""
        return None if self.space is None else self.space.grammar()

    def key(self, solution: Any) -> str:
        """Identity used for the duplicate check."""
        return self.encode(solution)

    def exemplars(self, rng: np.random.Generator) -> str | None:
        """Task examples shown in the meta-prompt, if the problem has any."""
        return None

    def optimum(self) -> float | None:
        """The best achievable value when it is known."""
        return None

    def references(self) -> dict[str, Callable[[], Any]]:
        """White-box methods that use the problem's structure: name -> a function returning a solution."""
        return {}

    def usage(self) -> dict[str, int]:
        """Running totals of what evaluation itself costs (e.g. scorer-model calls and tokens)."""
        return {}

    def extra_columns(self, result: Any) -> dict[str, Any]:
        """Problem-specific fields for a result's summary row (e.g. TSP's `gap_pct`)."""
        return {}

    def draw(self, ax: Any, solution: Any, title: str) -> None:
        """Draw a solution on a matplotlib axis; only problems with `drawable = True` can."""
        raise NotImplementedError(f"{self.name} has no drawing of its solutions")

    def config(self) -> dict[str, Any]:
        """The options that define this instance, for run records."""
        return {}

    def fingerprint(self) -> str:
        """What identifies this exact task, for replaying cached results: class and config by default.

        A problem whose config does not pin down its data or code (a file's contents, a user's
        function) adds them, so that a changed task does not replay an old result.
        """
        return json.dumps(
            {"class": f"{type(self).__module__}.{type(self).__qualname__}", "config": self.config()},
            sort_keys=True,
            default=repr,
        )


EvalStatus = Literal["ok", "invalid", "failed"]  # how one evaluation ended


def evaluate_safely(evaluate: Callable[[Any], Any], solution: Any, objectives: int = 1) -> Scored:
    """(value, None, "ok", feedback, constraints) from a number or an `Evaluation`; (None, reason, "invalid")
    when the objective calls the solution infeasible (it raised `InvalidSolution`); (None, a one-line reason,
    "failed") when it raised anything else (a `SystemExit` included) or returned something malformed (no
    finite number, a constraint that is NaN, feedback of another type). A model server that refuses or
    stopped answering ends the run instead."""
    try:
        returned = evaluate(solution)
    except InvalidSolution as error:
        return Scored(None, error.reason, "invalid")
    except ENDS_THE_RUN:  # the scorer's server refuses or is gone: no trial's fault, the run stops
        raise
    except Exception as error:  # the objective is user code or a remote scorer: its failure is data
        return Scored(None, one_line(error), "failed")
    except SystemExit as error:  # a script's sys.exit() ends that evaluation, never the run (Ctrl-C still does)
        return Scored(None, f"SystemExit({error.code!r})", "failed")
    return read_returned(returned, objectives)


# A problem without its own reference point derives one from this many random solutions, drawn with this seed,
# so that every method and every seed of a comparison measures against the same point.
REFERENCE_SAMPLES = 16
REFERENCE_SEED = 0


def derive_reference(problem: Problem) -> tuple[float, ...]:
    """The reference point of a problem without its own: the worst value of each objective over
    `REFERENCE_SAMPLES` random solutions drawn with seed `REFERENCE_SEED`, plus 10 % of their range
    (`core.pareto.derived_reference`). These evaluations count in no method's budget."""
    rng = np.random.default_rng(REFERENCE_SEED)
    solutions = problem.initial(rng, REFERENCE_SAMPLES)
    scored = [evaluate_safely(problem.evaluate, s, problem.objectives) for s in solutions]
    points = [o.values for o in scored if o.values is not None and violation(o.constraints) == 0]
    if not points:
        raise UsageError(
            f"{problem.name}: none of {len(solutions)} random solutions could be evaluated to derive a "
            "reference point; give one (reference=..., --reference)"
        )
    return derived_reference(points, cast(tuple, problem.directions))


def new_result(problem: Problem, method: str, kind: Kind = "model") -> Result:
    """The empty Result of `method` on `problem`: its direction and optimum, and with several objectives its
    directions and reference point."""
    return Result(
        method,
        problem.name,
        problem.direction,
        kind=kind,
        optimum=problem.optimum(),
        directions=problem.directions,
        reference=problem.reference_point(),
    )


def one_line(error: BaseException) -> str:
    """An exception as one line: its type, and its message cut to 200 characters."""
    text = " ".join(str(error).split())[:200]
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def digest(*parts: bytes | str) -> str:
    """SHA-256 of the parts, for fingerprints."""
    hasher = hashlib.sha256()
    for part in parts:
        hasher.update(part.encode() if isinstance(part, str) else part)
    return hasher.hexdigest()


def usage_since(problem: Problem, before: dict[str, int]) -> dict[str, int]:
    """What the problem's own evaluation cost since the `before` snapshot of `problem.usage()`."""
    return {key: value - before.get(key, 0) for key, value in problem.usage().items()}
