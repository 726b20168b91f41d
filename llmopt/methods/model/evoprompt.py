"""EvoPrompt (Guo et al. 2023) for the text space: a genetic algorithm and differential evolution
whose variation operators are the optimizer model, at the same evaluation budget as OPRO.

Both are proposers on the driver: a step is a generation, each child one model answer to its own
request, decoded by the space as OPRO's proposals are. An answer that does not decode is counted as
invalid and costs no evaluation, and a failed request is counted and skipped. Both draw at most as many
answers as OPRO may (steps × proposals, or fewer with `max_llm_calls`), and a generation whose answers
bring no new text (all invalid or already seen) ends the search as stalled. DE builds a generation's
children from the population at its start (synchronous DE), so each generation is one batch.

An operator's request shows each parent's constraint violation and feedback under it, as OPRO's meta-prompt
does (`metaprompt.notes`, cut to the same `feedback_chars`); a parent the objective said nothing about is shown
as the paper's operators show it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from llmopt.core.errors import UsageError
from llmopt.core.feasibility import rank_key
from llmopt.core.result import Spent, Trial
from llmopt.core.stops import STALLED
from llmopt.engine.proposer import Ask, Seen, Study
from llmopt.engine.stopping import StopRule
from llmopt.methods.method import Method, driven
from llmopt.methods.model import metaprompt
from llmopt.methods.model.proposer import ModelProposer

POPULATION = 10

CROSSOVER = """Here are two {label}s.
First: <{tag}>{a}</{tag}>{a_notes}
Second: <{tag}>{b}</{tag}>{b_notes}
Write one new {label} that joins ideas from the first and the second. Then change a few of its words so \
that it reads a little differently. Give only the new {label}, between <{tag}> and </{tag}>."""

DIFFERENTIAL = """Here are four {label}s.
A: <{tag}>{a}</{tag}>{a_notes}
B: <{tag}>{b}</{tag}>{b_notes}
Best: <{tag}>{best}</{tag}>{best_notes}
Base: <{tag}>{base}</{tag}>{base_notes}
Find the words in which A and B differ, and replace those words with other words at random. Put the \
replaced words into Best to make a new {label}. Then mix that {label} with Base. Give only the final \
{label}, between <{tag}> and </{tag}>."""

Key = tuple[int, float]  # Deb's rank key (core.feasibility.rank_key): (0, loss) if feasible, else (1, violation)
Member = tuple[Key, str]  # (rank key, text): lower first, so any feasible member before any infeasible one


def roulette(population: list[Member] | list[tuple[float, str]], rng: np.random.Generator) -> tuple[str, str]:
    """Two different parents, each drawn with a chance proportional to its fitness: how much better than the
    worst feasible member it is, plus a share of the spread so that the worst keeps a chance (EvoPrompt draws in
    proportion to the raw score, which needs scores that are positive and higher-is-better). A member's key is
    its rank key, or a bare loss for a feasible one."""
    keys = [key if isinstance(key, tuple) else (0, key) for key, _ in population]
    feasible = np.array([grade == 0 for grade, _ in keys])
    losses = np.array([loss for _, loss in keys], dtype=float)
    finite = np.isfinite(losses) & feasible
    worst = losses[finite].max() if finite.any() else 0.0
    floor = (worst - losses[finite].min() if finite.any() else 0.0) / len(losses) or 1.0
    weights = np.where(finite, worst - losses + floor, 0.0)
    # infeasible ones weigh below the worst feasible, by violation: floor·(m-r)/(m+1), r of the m less violating
    broken = losses[~feasible]
    rank = np.array([np.count_nonzero(broken < b) for b in broken])
    weights[~feasible] = floor * (len(broken) - rank) / (len(broken) + 1)
    if np.count_nonzero(weights) < 2:
        weights = np.ones(len(population))
    first, second = rng.choice(len(population), size=2, replace=False, p=weights / weights.sum())
    return population[first][1], population[second][1]


class EvoPrompt(ModelProposer):
    """What EvoPrompt's two searches share: the start texts, one request per child, the stall rule."""

    least = 2  # members the search needs

    def __post_init__(self) -> None:
        super().__post_init__()
        self.population: list[Member] = []
        self.known: dict[str, Key] = {}  # text -> rank key of every text evaluated, for a repeat's
        self.told: dict[Any, Seen] = {}  # solution -> what the objective said of it (feedback, constraints)
        self.stalled = False
        self.stop_rules = [StopRule(STALLED, lambda driver: self.stalled)]

    def initial(self, rng: np.random.Generator) -> list[Any]:
        """The shared start points, then texts of the space's pool, up to POPULATION."""
        texts = list(dict.fromkeys(super().initial(rng)))
        space = self.problem.space
        if space.pool:
            texts += [t for t in space.sample(rng, len(space.pool)) if t not in texts]
        if len(texts) < self.least:
            raise UsageError(
                f"EvoPrompt needs at least {self.least} different starting texts; the space gives {len(texts)}"
            )
        return texts[:POPULATION]

    def key(self, trial: Trial) -> Key | None:
        """The trial's rank key by Deb's rules (a repeat's as first scored), or None when it has none."""
        return self.known.get(trial.text) if trial.text is not None else None

    def ask_model(
        self, study: Study, spent: Spent, template: str, index: int, parent: str | None = None, **texts: str
    ) -> list:
        """One child: one answer to `template` filled with the parents' texts (none if the request failed),
        with the `parent` whose place it may take."""
        space = self.problem.space
        notes = {f"{key}_notes": self.notes(text) for key, text in texts.items()}
        prompt = template.format(label=space.label, tag=space.tag, **texts, **notes)
        generation = self.request(prompt, 1, study.step * 1000 + index, spent)
        children = self.read_generation(generation, prompt)[:1] if generation is not None else []
        for child in children:
            child.parent = parent
        return children

    def notes(self, solution: Any) -> str:
        """The lines under a parent in an operator's request: its violation and feedback ("" for none)."""
        seen = self.told.get(solution)
        lines = metaprompt.notes(seen, self.config.metaprompt) if seen is not None else []
        return "".join(f"\n{line}" for line in lines)

    def children(self, study: Study, make: Any) -> Ask:
        """Up to a generation's children (no more than the answers and evaluations left), one request each:
        `make(index, spent)` gives one child and counts its request in `spent`."""
        proposals, spent = [], Spent()
        for index in range(int(min(len(self.population), study.answers_left, study.evals_left))):
            proposals += make(index, spent)
        return Ask(study.step, None, proposals, spent=spent)

    def observe(self, trials: list[Trial]) -> None:
        """Step 0 is the population; a later step stalls the search when its answers brought nothing new."""
        self.known.update(
            {
                t.text: rank_key(t.value, t.constraints, self.problem.direction)
                for t in trials
                if t.value is not None and t.text is not None
            }
        )
        self.told.update(
            {
                t.solution: Seen(t.text or "", t.value, t.feedback, t.constraints)
                for t in trials
                if t.value is not None and (t.feedback is not None or t.constraints is not None)
            }
        )
        if trials and trials[0].step == 0:
            self.population = [
                (self.known[t.text], t.solution) for t in trials if t.value is not None and t.text is not None
            ]
            return
        self.stalled = bool(trials) and not any(t.status in ("ok", "failed") for t in trials)
        self.update(trials)

    def update(self, trials: list[Trial]) -> None:
        """How the population takes in a generation's children."""
        raise NotImplementedError


class GeneticAlgorithm(EvoPrompt):
    """EvoPrompt-GA: per generation, one child per member from two roulette-chosen parents; the best of
    parents and children survive."""

    def propose(self, study: Study) -> Ask:
        """One crossover-and-mutation child per member."""
        return self.children(
            study,
            lambda i, spent: self.ask_model(
                study, spent, CROSSOVER, i, **dict(zip("ab", roulette(self.population, study.rng)))
            ),
        )

    def update(self, trials: list[Trial]) -> None:
        """Parents and children together; the best len(population) by Deb's rules survive."""
        merged = {text: key for key, text in self.population}
        for trial in trials:
            key = self.key(trial)
            if key is not None:
                merged.setdefault(trial.solution, key)
        self.population = sorted((key, text) for text, key in merged.items())[: len(self.population)]


class DifferentialEvolution(EvoPrompt):
    """EvoPrompt-DE: each member in turn is the base of a child built from the differing words of two
    others and the best member; the child replaces the base when it ranks better (all by Deb's rules)."""

    least = 3

    def propose(self, study: Study) -> Ask:
        """One child per member, the member its base."""

        def child(i: int, spent: Spent) -> list:
            others = [j for j in range(len(self.population)) if j != i]
            r1, r2 = study.rng.choice(others, size=2, replace=False)
            return self.ask_model(
                study,
                spent,
                DIFFERENTIAL,
                i,
                a=self.population[r1][1],
                b=self.population[r2][1],
                best=min(self.population)[1],
                base=self.population[i][1],
                parent=self.population[i][1],
            )

        return self.children(study, child)

    def update(self, trials: list[Trial]) -> None:
        """A child better than its base takes the base's place (the base the trial's parent, journaled with
        it, so a replayed journal rebuilds the population as the run did)."""
        for trial in trials:
            base = trial.parent if trial.parent is not None else self._base_in_request(trial.prompt)
            where = [i for i, (_, text) in enumerate(self.population) if text == base]
            key = self.key(trial)
            if where and key is not None and key < self.population[where[0]][0]:
                self.population[where[0]] = (key, trial.solution)

    def _base_in_request(self, prompt: str | None) -> str | None:
        """The base of a child journaled before trials kept their parent: read from its request (the last
        "Base:" line, which a base that itself holds one misleads)."""
        tag = self.problem.space.tag
        return prompt.rpartition(f"Base: <{tag}>")[2].partition(f"</{tag}>")[0] if prompt else None


def methods(space: Any) -> dict[str, Method]:
    """EvoPrompt's two searches, as model-driven methods on the driver."""
    reads = frozenset({"temperature", "feedback-chars"})  # no meta-prompt, and one answer per request

    def maker(cls: type[EvoPrompt], name: str) -> Any:
        return lambda problem, setup, config: cls(problem, setup.backend, config, name=name)

    return {
        name: driven(name, maker(cls, name), reads=reads, default=True)
        for name, cls in (("evoprompt-ga", GeneticAlgorithm), ("evoprompt-de", DifferentialEvolution))
    }
