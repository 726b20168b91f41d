"""The run's settings (steps, proposals, budgets, where evaluations run, the meta-prompt's knobs), declared
as `Setting`s; each method declares its own beside its code."""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from llmopt.core import values
from llmopt.core.errors import UsageError, literal
from llmopt.core.settings import Data, Setting
from llmopt.engine.evaluation import WHERE

Order = Literal["ascending", "descending", "random", "found"]
ORDERS = ("ascending", "descending", "random", "found")
Scores = Literal["shown", "hidden", "shuffled", "bucketed"]
Layout = Literal["paper", "cache"]
LAYOUTS = ("paper", "cache")


@dataclass(frozen=True)
class MetaPromptConfig:
    """Knobs of the meta-prompt, so the paper's ablations can be rerun.

    `order="ascending"` lists the worst first and the best last (the paper's choice);
    `"descending"` puts the best first, `"random"` shuffles them, `"found"` keeps the order they were found in.
    `decimals` rounds shown values
    (None: as is). `scores` are `"shown"`, `"hidden"`, `"shuffled"` among the shown solutions, or
    `"bucketed"` into `buckets` levels between the worst and the best shown. Random orders and
    scores need the `rng` that `render` is given. `layout="paper"` is the paper's order (problem, history,
    exemplars, answer format); `"cache"` puts what never changes within a run first (problem, exemplars,
    answer format) and the history last, so that consecutive prompts share a prefix a server can cache.
    `feedback_chars` is how much of a solution's feedback is shown under it (cut beyond, with a mark);
    `show_feedback=False` hides the feedback and the constraint violations (the `opro-no-feedback` ablation).
    """

    top_k: int = 20
    order: Order = "ascending"
    decimals: int | None = 2
    show_exemplars: bool = True
    scores: Scores = "shown"
    buckets: int = 20
    layout: Layout = "paper"
    feedback_chars: int = 300
    show_feedback: bool = True

    def __post_init__(self) -> None:
        for name, allowed in (
            ("order", ORDERS),
            ("layout", LAYOUTS),
            ("scores", ("shown", "hidden", "shuffled", "bucketed")),
        ):
            if getattr(self, name) not in allowed:
                raise ValueError(
                    f"the meta-prompt's {name} is one of {', '.join(allowed)}, not {getattr(self, name)!r}"
                )

    @property
    def random(self) -> bool:
        """Whether rendering draws from a random generator."""
        return self.order == "random" or self.scores == "shuffled"


def option_pairs(options: Mapping[str, Any]) -> tuple[tuple[str, Any], ...]:
    """Methods' own settings as `RunConfig.options` keeps them: sorted pairs, so that a config hashes as it
    always did."""
    return tuple(sorted(options.items()))


@dataclass(frozen=True)
class RunConfig:
    """The settings of a run: its stop rules and budgets, where its evaluations run, and what every
    model-driven method of a comparison (OPRO, its ablations, EvoPrompt, LMX, the Optuna samplers) reads;
    defaults follow the paper's linear-regression setup. Each field holds its default once; its `Setting` (the
    flag) reads it from here. `OPROConfig` is its name before 0.6.

    Stop rules: `steps`, `max_evals`, `target`, `patience` (steps without improvement),
    `max_failures` (failed evaluations), and the budgets `max_llm_calls`, `max_total_tokens`
    (prompt + completion tokens of the whole run), `max_cost` (dollars at `price`: dollars per
    million prompt and completion tokens) and `timeout` (seconds of the run's own work, resumes
    included). Budgets are checked between steps, so a run overshoots one by at most a step.
    `answer_tokens` limits one proposal's answer (a backend whose model reasons adds room for that); None
    sizes it on the problem's space (`ModelProposer.answer_limit`).
    `options` holds the settings methods declare for themselves (`lmx_parents`, ...), by key;
    `setting.get(config.to_dict())` reads one with its default.
    """

    steps: int = 10
    proposals: int = 8
    temperature: float = 1.0
    initial: int = 5
    seed: int = 0
    answer_tokens: int | None = None
    max_evals: int | None = None
    target: float | None = None
    patience: int | None = None
    use_grammar: bool = True
    max_llm_calls: int | None = None
    max_total_tokens: int | None = None
    timeout: float | None = None
    max_failures: int | None = None
    repair: bool = False
    price: tuple[float, ...] | None = None
    max_cost: float | None = None
    # where evaluations run: how many at once, in threads or processes (or on a Dask scheduler), each cut
    # after `eval_timeout` seconds; the model-driven methods find the same whatever these are
    eval_workers: int = 1
    eval_in: str = "threads"
    eval_timeout: float | None = None
    dask: str | None = None
    metaprompt: MetaPromptConfig = field(default_factory=MetaPromptConfig)
    options: tuple[tuple[str, Any], ...] = ()

    def __post_init__(self) -> None:
        if isinstance(self.options, Mapping):  # a config made in Python may give them by key
            object.__setattr__(self, "options", option_pairs(self.options))
        if isinstance(self.price, list):
            object.__setattr__(self, "price", tuple(self.price))
        for setting in RUN_SETTINGS:  # the rules of the flags, for a config made in Python too
            value = getattr(self, setting.key)
            if value is None or setting.read in (bool, str) or isinstance(value, bool):
                continue
            try:
                setting.read(",".join(map(str, value)) if isinstance(value, tuple) else str(value))
            except ValueError as error:
                raise UsageError.about(f"{{{setting.key}}}: {literal(error)}") from None

    def to_dict(self) -> Data:
        """Plain data for run records: a method's own settings stand beside the run's, as they always did."""
        data = dataclasses.asdict(self)
        return {**{k: v for k, v in data.items() if k != "options"}, **dict(self.options)}

    @classmethod
    def from_dict(cls, data: Data) -> RunConfig:
        """The config `to_dict` wrote; a setting added since takes its default, a renamed one its new name,
        and a key that is no field is a method's own setting."""
        data = dict(data)
        if "max_tokens" in data:  # records written before the per-answer limit was renamed
            data["answer_tokens"] = data.pop("max_tokens")
        if data.get("price") is not None:
            data["price"] = tuple(data["price"])
        known = {f.name for f in dataclasses.fields(cls)} - {"options"}
        data["metaprompt"] = MetaPromptConfig(**data.get("metaprompt", {}))
        options = {**dict(data.pop("options", ())), **{k: v for k, v in data.items() if k not in known}}
        return cls(**{k: v for k, v in data.items() if k in known}, options=option_pairs(options))

    def option(self, setting: Setting) -> Any:
        """A declared setting's value in this config (its default where it is not set)."""
        return setting.get(self.to_dict())

    def with_options(self, **options: Any) -> RunConfig:
        """This config with some of the methods' own settings set, by key."""
        return dataclasses.replace(self, options=option_pairs({**dict(self.options), **options}))

    def changes_on_resume(self, saved: RunConfig, resumable: frozenset[str] | None = None) -> list[str]:
        """The settings that differ from the recorded run's and may not change when it resumes."""
        ours, theirs = json.loads(json.dumps(self.to_dict())), json.loads(json.dumps(saved.to_dict()))
        allowed = RESUMABLE if resumable is None else resumable
        return sorted(k for k in ours if k not in allowed and ours[k] != theirs.get(k))

    def evaluation_budget(self) -> int:
        """The budget rule: the number of evaluations (distinct solutions scored) every compared method gets.

        It is `max_evals` when set, else what OPRO could spend at most: initial points plus steps × proposals.
        """
        return self.max_evals or self.initial + self.steps * self.proposals


OPROConfig = RunConfig  # its name before 0.6, when it configured OPRO alone


def evaluation_budget(config: RunConfig) -> int:
    """`config.evaluation_budget()`, the budget rule of every comparison."""
    return config.evaluation_budget()


def _proposals(data: Data, value: int) -> Data:
    """Proposals per step at an unchanged evaluation budget and number of samples: fewer proposals, more steps."""
    budget = RunConfig.from_dict(data).evaluation_budget()  # the one budget rule
    steps = max(1, math.ceil(data["steps"] * data["proposals"] / value))
    return {**data, "proposals": value, "steps": steps, "max_evals": budget}


_MODEL, _BUDGETS, _EVALUATIONS = (
    "optimizer model",
    "stop rules and budgets (checked between steps)",
    "evaluations (for an expensive objective)",
)

# The run's own settings, in the order the CLI shows them; each default is its field's in `RunConfig`.
RUN_SETTINGS: tuple[Setting, ...] = (
    Setting(
        "temperature",
        values.non_negative_float,
        RunConfig.temperature,
        "sampling temperature",
        group=_MODEL,
        sweep=True,
    ),
    Setting(
        "price",
        values.price,
        RunConfig.price,
        "dollars per million prompt and completion tokens, IN,OUT, or with the "
        "cached prompt tokens' price, IN,CACHED,OUT: a cost column, and --max-cost",
        group=_MODEL,
        metavar="IN,[CACHED,]OUT",
    ),
    Setting("steps", values.positive_int, RunConfig.steps, "optimization steps", resumable=True),
    Setting("proposals", values.positive_int, RunConfig.proposals, "proposals per step", sweep=True, change=_proposals),
    Setting("initial", values.positive_int, RunConfig.initial, "initial random points"),
    Setting(
        "answer_tokens",
        values.positive_int,
        RunConfig.answer_tokens,
        "token limit of one proposal (default: the longest answer "
        "the problem's space holds, in the model's tokens, plus 64; at least 128)",
    ),
    Setting("use_grammar", bool, RunConfig.use_grammar, "do not constrain answers with a grammar", flag="--no-grammar"),
    Setting(
        "max_evals",
        values.positive_int,
        RunConfig.max_evals,
        "the evaluation budget of every method (default: initial + steps x proposals)",
        group=_BUDGETS,
        resumable=True,
    ),
    Setting(
        "max_llm_calls",
        values.positive_int,
        RunConfig.max_llm_calls,
        "stop after this many model calls",
        group=_BUDGETS,
        resumable=True,
    ),
    Setting(
        "max_total_tokens",
        values.positive_int,
        RunConfig.max_total_tokens,
        "stop after this many prompt + completion tokens in all",
        group=_BUDGETS,
        resumable=True,
    ),
    Setting(
        "max_cost",
        values.non_negative_float,
        RunConfig.max_cost,
        "stop once the optimizer model has cost this much (needs --price)",
        group=_BUDGETS,
        resumable=True,
        metavar="DOLLARS",
    ),
    Setting(
        "timeout",
        values.positive_float,
        RunConfig.timeout,
        "stop after this many seconds",
        group=_BUDGETS,
        resumable=True,
    ),
    Setting(
        "target",
        values.finite_float,
        RunConfig.target,
        "stop once this value is reached",
        group=_BUDGETS,
        resumable=True,
    ),
    Setting(
        "patience",
        values.positive_int,
        RunConfig.patience,
        "stop after K steps without improvement",
        group=_BUDGETS,
        resumable=True,
    ),
    Setting(
        "max_failures",
        values.positive_int,
        RunConfig.max_failures,
        "stop after this many failed evaluations (an exception or NaN from the objective)",
        group=_BUDGETS,
        resumable=True,
    ),
    Setting(
        "eval_workers",
        values.positive_int,
        RunConfig.eval_workers,
        "evaluations that run at once: a step's proposals, a generation, a batch",
        group=_EVALUATIONS,
        resumable=True,
        metavar="N",
    ),
    Setting(
        "eval_in",
        str,
        RunConfig.eval_in,
        "threads, for an objective that waits (a subprocess, a remote call); "
        "processes, for one that computes in Python",
        group=_EVALUATIONS,
        resumable=True,
        choices=WHERE,
    ),
    Setting(
        "eval_timeout",
        values.positive_float,
        RunConfig.eval_timeout,
        "an evaluation still running then is cut and recorded as "
        "failed (in processes it is killed; a thread cannot be, and runs on unseen)",
        group=_EVALUATIONS,
        resumable=True,
        metavar="SECONDS",
    ),
)
# Set by the commands themselves rather than by a flag of their own here: the seed (`run --seed`, a bench's
# seeds), the Dask scheduler (`--dask`, which a bench reads as where its jobs go).
RESUMABLE = frozenset({s.key for s in RUN_SETTINGS if s.resumable} | {"dask"})
