"""OPRO's ablations: the OPRO proposer with a part of its meta-prompt taken away, at the same budget."""

from __future__ import annotations

import dataclasses
from typing import Any

from llmopt.contract.problem import Problem
from llmopt.engine.config import RunConfig
from llmopt.methods.method import Method, Methods, driven
from llmopt.methods.model.opro import READS, SETTINGS, OPROProposer

# name -> how the ablation changes the meta-prompt settings (MetaPromptConfig fields, each of its own type)
VARIANTS: dict[str, dict[str, Any]] = {
    "opro-no-history": {"top_k": 0},
    "opro-no-scores": {"scores": "hidden", "order": "random"},
    "opro-shuffled-scores": {"scores": "shuffled", "order": "random"},  # or the order would still rank them
    "opro-bucketed-scores": {"scores": "bucketed", "buckets": 20},
    # Feedback and violations hidden, the history still ranked by Deb's rules and the sentence above it still
    # saying so: OPRO shows the same solutions in the same order, so the two differ only in the text under each,
    # which is what a bench of the two measures. (Ranked by value alone, it would also lose the constraint
    # handling, and show infeasible solutions as the best: another ablation.)
    "opro-no-feedback": {"show_feedback": False},
}
# The ablations that run with several objectives, where the meta-prompt shows the front: without the history,
# and without the feedback. The others change how one score per solution is shown (hidden, shuffled,
# bucketed), which a front of several values, sorted along the first, does not have.
MULTIOBJECTIVE = frozenset({"opro-no-history", "opro-no-feedback"})
# Settings a variant makes moot beside those it sets (a sweep of them leaves it alone).
MOOT: dict[str, tuple[str, ...]] = {"opro-no-feedback": ("feedback_chars",)}


def _ablation(name: str, change: dict[str, Any]) -> Method:
    def make(problem: Problem, setup: Any, config: RunConfig) -> OPROProposer:
        changed = dataclasses.replace(config, metaprompt=dataclasses.replace(config.metaprompt, **change))
        return OPROProposer(problem, setup.backend, changed, name=name)

    moot = {*change, *MOOT.get(name, ())}
    fixed = {s.name for s in SETTINGS if s.where[0] == "metaprompt" and s.where[-1] in moot}
    return driven(name, make, kind="ablation", reads=READS - fixed, multiobjective=name in MULTIOBJECTIVE)


def methods(space: Any = None) -> dict[str, Method]:
    """Every ablation, for any problem; none runs unless asked for (or listed by a space)."""
    return {name: _ablation(name, change) for name, change in VARIANTS.items()}


METHODS = Methods(methods, rank=10)
