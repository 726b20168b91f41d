"""A third-party plugin: a black-box method (`grid-search`), a model-driven method with one setting of its
own (`best-of-k`, `--best-k`) and a backend (`echo`), each registered by one entry-point line."""

from __future__ import annotations

import itertools
import re
from typing import Any

import numpy as np

from llmopt.backends.base import Completion, Generation
from llmopt.contract.spaces import Box
from llmopt.core import values
from llmopt.core.result import Spent
from llmopt.core.settings import Setting
from llmopt.engine.proposer import Ask, Study
from llmopt.methods.classical.base import black_box
from llmopt.methods.method import Methods, driven
from llmopt.methods.model.proposer import ModelProposer

BEST_K = Setting(
    "best_k",
    values.positive_int,
    3,
    "solutions best-of-k shows the model (default: 3)",
    group="best-of-k (a plugin)",
    sweep=True,
)


def grid_search(space: Box, f: Any, setup: Any) -> str:
    """Every point of a 5-per-axis grid over the box, in order, until the budget ends it."""
    axes = [np.linspace(lo, hi, 5) for lo, hi in space.bounds]
    for point in itertools.product(*axes):
        f(space.snap(list(point)))
    return "converged"


class BestOfK(ModelProposer):
    """Shows the model the best k solutions (no scores) and asks for `proposals` new ones."""

    def propose(self, study: Study) -> Ask:
        """One request per step."""
        shown = sorted(study.history(), key=lambda item: item[1])[: self.config.option(BEST_K)]
        prompt = "\n".join(["Good solutions so far:", *(text for text, _ in shown), self.problem.format_hint()])
        spent = Spent()
        generation = self.request(prompt, self.config.proposals, study.step, spent)
        if generation is None:
            return Ask(study.step, prompt, [], error=spent.last_error, spent=spent)
        return Ask(study.step, prompt, self.read_generation(generation), spent=spent)


def methods(space: Any) -> dict[str, Any]:
    """grid-search for a box; best-of-k for every space."""
    found = {
        "best-of-k": driven(
            "best-of-k",
            lambda problem, setup, config: BestOfK(problem, setup.backend, config, name="best-of-k"),
            reads=frozenset({"temperature", "proposals"}),
            settings=(BEST_K,),
            default=True,
        ),
        "powell": black_box("powell", grid_search),
    }  # a built-in's name: skipped with a warning
    if isinstance(space, Box):
        found["grid-search"] = black_box("grid-search", grid_search)  # asks to be a default: the registry says no
    return found


METHODS = Methods(methods, (BEST_K,), rank=-1)  # asks to come first: the built-ins still do


class Echo:
    """A backend that answers with the last bracketed list of the prompt, each number moved by the answer's
    index: it knows nothing of problems, and it needs no network."""

    name = "echo"

    def generate(
        self,
        prompt: str,
        *,
        n: int,
        temperature: float,
        max_tokens: int,
        seed: int | None = None,
        grammar: str | None = None,
    ) -> Generation:
        """n answers."""
        found = re.findall(r"\[([-0-9., ]+)\]", prompt)
        numbers = [float(v) for v in found[-1].split(",")] if found else [0.0]
        answers = [f"[{', '.join(f'{v + i:g}' for v in numbers)}]" for i in range(n)]
        return Generation(
            [
                Completion(text=a, prompt_tokens=len(prompt.split()) if i == 0 else 0, completion_tokens=len(a.split()))
                for i, a in enumerate(answers)
            ],
            calls=n,
            max_tokens=max_tokens,
        )

    complete = generate

    def describe(self) -> dict[str, object]:
        """Identity for run records."""
        return {"backend": self.name}


def make_echo(model: str, **settings: Any) -> Echo:
    """The `echo` backend factory."""
    return Echo()
