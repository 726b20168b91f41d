"""OPRO (Yang et al. 2023): the proposer that shows the model its scored history in a meta-prompt, its own
settings (the meta-prompt's top-k and order, repairs), and `OPRO(...)`, a driver that runs it."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

import numpy as np

from llmopt.backends.base import Backend
from llmopt.contract.problem import Problem
from llmopt.core import values
from llmopt.core.errors import PromptTooLong
from llmopt.core.result import Kind, Spent
from llmopt.core.settings import Setting
from llmopt.engine.config import LAYOUTS, ORDERS, MetaPromptConfig, RunConfig
from llmopt.engine.proposer import Ask, Proposal, Seen, Study
from llmopt.methods.method import Methods, driven
from llmopt.methods.model import metaprompt
from llmopt.methods.model.fronts import directions_of
from llmopt.methods.model.metaprompt import DOMINATED_SHOWN
from llmopt.methods.model.proposer import ModelProposer, longest_text

if TYPE_CHECKING:
    from llmopt.engine.driver import Driver
    from llmopt.engine.records import RunRecorder
    from llmopt.engine.stopping import StopRule

NAME = "opro"
RECORD_KEY = NAME  # config.json's key for the settings of a run's methods (OPRO's, when there was only OPRO)
REPAIR_SEED_OFFSET = 500_000
EXEMPLAR_STREAM = 7  # the cache layout's own generator of exemplars (the run's stream is left as it was)
PREFLIGHT_VALUE = -123456.789012  # a score as long as most a meta-prompt shows, for the fullest prompt's length


class OPROProposer(ModelProposer):
    """One request per step for `proposals` answers to the meta-prompt; rejected answers repaired once when asked."""

    def prompt(self, study: Study) -> str:
        """The meta-prompt for the study's current step."""
        return self._render(study.seen(), study.rng, study.step)

    def _render(
        self, history: Sequence[metaprompt.Shown], rng: np.random.Generator, step: int, top_k: int | None = None
    ) -> str:
        """The meta-prompt of `history` at `step`, its exemplars drawn from `rng` (`top_k` to show fewer)."""
        config = self.config.metaprompt if top_k is None else dataclasses.replace(self.config.metaprompt, top_k=top_k)
        # the cache layout keeps the exemplars of the first step, so that every step's prompt starts alike
        source = np.random.default_rng((self.config.seed, EXEMPLAR_STREAM)) if config.layout == "cache" else rng
        exemplars = self.problem.exemplars(source) if config.show_exemplars else None
        # a generator of its own, so that a random variant changes the meta-prompt and nothing else
        shuffle = np.random.default_rng((self.config.seed, step)) if config.random else None
        return metaprompt.render(self.problem, history, config, exemplars, shuffle)

    def preflight(self, starts: list[Any]) -> None:
        """Refuse, before anything is evaluated, a run whose fullest meta-prompt (as many solutions as it will
        ever show, each as long as the space's longest) cannot fit the model's context window (a backend that
        knows its window: the embedded model), naming the most solutions that fit."""
        check = getattr(self.backend, "check_fits", None)
        if check is None or not starts:
            return
        config, limit = self.config, self.answer_limit()
        most = min(config.metaprompt.top_k, len(starts) + max(config.steps - 1, 0) * config.proposals)
        longest = longest_text(self.problem)
        if longest is None:
            longest = max((self.problem.encode(start) for start in starts), key=len)

        said = _preflight_said(self.problem, config.metaprompt.feedback_chars)

        def fullest(shown: int) -> str:
            history = _preflight_history(self.problem, Seen(longest, PREFLIGHT_VALUE, *said), shown)
            return self._render(history, np.random.default_rng(0), 1, top_k=shown)

        try:
            check(fullest(most), limit)
        except PromptTooLong as error:
            fits = next((k for k in range(most - 1, 0, -1) if _fits(check, fullest(k), limit)), 0)
            fix = f"show at most {fits} ({{top_k}} {fits})" if fits else "no history fits at all"
            raise PromptTooLong.about(
                f"this run's fullest meta-prompt ({most} solutions shown) and an answer of up to "
                f"{limit} tokens need {error.needed} tokens, more than the model's context of "
                f"{error.window}; {fix}, or use a model with a larger context",
                error.needed,
                error.window,
            ) from None

    def propose(self, study: Study) -> Ask:
        """This step's answers to the meta-prompt, decoded (and repaired when asked)."""
        prompt = self.prompt(study)
        n, spent = self.config.proposals, Spent()
        generation = self.request(prompt, n, study.step * n, spent)
        if generation is None:
            return Ask(study.step, prompt, [], error=spent.last_error, spent=spent)
        ask = Ask(study.step, prompt, self.read_generation(generation), spent=spent)
        if self.config.repair:
            self._repair(ask)
        return ask

    def _repair(self, ask: Ask) -> None:
        """Send each rejection's reason back once, all concurrently, and decode the new answers."""
        broken = [p for p in ask.proposals if p.reason is not None]
        if not broken:
            return

        def fix(index: int, proposal: Proposal) -> tuple[str | None, Spent]:
            prompt = (
                f"{ask.prompt}\nYour answer was:\n{proposal.raw}\n\nIt was rejected: {proposal.reason}. "
                "Answer again, in the required format."
            )
            spent = Spent()  # each thread its own; they are added up once all are back
            generation = self.request(prompt, 1, REPAIR_SEED_OFFSET + ask.step * 1000 + index, spent, repair=True)
            return (generation.completions[0].text if generation and generation.completions else None), spent

        with ThreadPoolExecutor(max_workers=len(broken)) as pool:
            answers = list(pool.map(fix, range(len(broken)), broken))
        for proposal, (answer, spent) in zip(broken, answers):
            ask.spent.add(spent)
            ask.spent.repairs += 1
            fixed = self.read(answer) if answer is not None else None
            if fixed is not None and fixed.reason is None:
                ask.spent.repairs_valid += 1
                proposal.first_attempt = {"raw": proposal.raw, "reason": proposal.reason or ""}
                proposal.raw, proposal.solution, proposal.reason = fixed.raw, fixed.solution, None


def _preflight_said(problem: Problem, budget: int) -> tuple[str | None, tuple[float, ...] | None]:
    """The feedback and constraints the fullest meta-prompt shows under each solution: a full budget of
    feedback when the problem declares it gives feedback, a broken constraint when it declares constraints."""
    return ("x" * budget if problem.gives_feedback else None, (1.0,) if problem.constrained else None)


def _preflight_history(problem: Problem, seen: Seen, shown: int) -> list[Seen]:
    """`shown` copies of `seen`; with several objectives, each with values as long as PREFLIGHT_VALUE's, so
    that the meta-prompt shows every one of them: a front of all but a few, that trade the first objective
    against the second, and the most dominated ones it shows (so both lists, and the gap, are there)."""
    directions = directions_of(problem)
    if directions is None:
        return [seen] * shown
    worse = [1.0 if d == "min" else -1.0 for d in directions]  # a step that makes an objective worse
    dominated = min(DOMINATED_SHOWN, max(shown - 2, 0))
    history = []
    for i in range(shown - dominated):  # along the front: better in the first objective, worse in the second
        steps = [-i, i, *[0] * (len(directions) - 2)]
        history.append(seen._replace(values=tuple(PREFLIGHT_VALUE + w * k for w, k in zip(worse, steps))))
    for j in range(1, dominated + 1):  # worse than the front's first member in every objective
        history.append(seen._replace(values=tuple(PREFLIGHT_VALUE + w * j for w in worse)))
    return history


def _fits(check: Any, prompt: str, limit: int) -> bool:
    try:
        check(prompt, limit)
    except PromptTooLong:
        return False
    return True


_GROUP = "OPRO (and its ablations)"
SETTINGS = (
    Setting(
        "top_k",
        values.positive_int,
        MetaPromptConfig.top_k,
        "solutions shown in the meta-prompt",
        group=_GROUP,
        sweep=True,
        path=("metaprompt", "top_k"),
    ),
    Setting(
        "order",
        values.one_of("order", ORDERS),
        MetaPromptConfig.order,
        "ascending puts the best solution last, as in the "
        "paper; found lists the best solutions in the order they were found (with --layout cache, the longest "
        "prefix a server can cache)",
        group=_GROUP,
        sweep=True,
        path=("metaprompt", "order"),
        choices=ORDERS,
    ),
    Setting(
        "layout",
        values.one_of("layout", LAYOUTS),
        MetaPromptConfig.layout,
        "paper: the paper's order; cache: the problem, "
        "exemplars and answer format first and the history last, a prefix a server can cache",
        group=_GROUP,
        sweep=True,
        path=("metaprompt", "layout"),
        choices=LAYOUTS,
    ),
    Setting(
        "feedback_chars",
        values.positive_int,
        MetaPromptConfig.feedback_chars,
        "characters of a solution's feedback shown under it in the meta-prompt (and to EvoPrompt's operators); "
        "more is cut, with a mark",
        group=_GROUP,
        sweep=True,
        path=("metaprompt", "feedback_chars"),
        metavar="N",
    ),
    Setting(
        "repair",
        bool,
        RunConfig.repair,
        "send each rejection's reason back to the model once and decode the new answer",
        group=_GROUP,
    ),
)
# What OPRO reads: the run's sampling settings and its own.
READS = frozenset({"temperature", "proposals", *(setting.name for setting in SETTINGS)})


def methods(space: Any = None) -> dict[str, Any]:
    """OPRO as a method of every comparison: the one a comparison is about, run first by default."""

    def make(problem: Problem, setup: Any, config: RunConfig) -> OPROProposer:
        return OPROProposer(problem, setup.backend, config, name=NAME)

    return {
        NAME: driven(NAME, make, reads=READS, default=True, under_study=True, settings=SETTINGS, multiobjective=True)
    }


METHODS = Methods(methods, SETTINGS, rank=0)


def OPRO(
    problem: Problem,
    backend: Backend | None = None,
    config: RunConfig = RunConfig(),
    recorder: RunRecorder | None = None,
    stop: Sequence[StopRule] = (),
    name: str = NAME,
    kind: Kind = "model",
) -> Driver:
    """An OPRO run: the driver with the OPRO proposer (the embedded model when no backend is given)."""
    from llmopt.engine.driver import Driver

    if backend is None:
        from llmopt.backends.local import LocalBackend

        backend = LocalBackend()
    return Driver(
        problem,
        OPROProposer(problem, backend, config, name=name),
        config,
        name=name,
        kind=kind,
        recorder=recorder,
        stop=stop,
    )
