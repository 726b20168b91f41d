"""OPRO's ablations: the same OPRO loop with a different meta-prompt, at the same evaluation budget."""

from __future__ import annotations

import dataclasses

from llmopt.comparators.base import Method, Setup
from llmopt.metaprompt import MetaPromptConfig
from llmopt.problem import Problem, UsageError
from llmopt.result import Result
from llmopt.sweep import METAPROMPT_KEYS, OPRO_READS

# name -> how the ablation changes the meta-prompt settings
VARIANTS: dict[str, dict[str, object]] = {
    "opro-no-history": {"top_k": 0},
    "opro-no-scores": {"scores": "hidden", "order": "random"},
    "opro-shuffled-scores": {"scores": "shuffled", "order": "random"},  # or the order would still rank them
    "opro-bucketed-scores": {"scores": "bucketed", "buckets": 20},
}


def _ablation(name: str, change: dict[str, object]) -> Method:
    def run(problem: Problem, setup: Setup) -> Result:
        from llmopt.opro import OPRO, OPROConfig

        if setup.backend is None:
            raise UsageError(f"{name} samples from the optimizer model; give the comparison a backend")
        config = setup.opro or OPROConfig(seed=setup.seed)
        metaprompt: MetaPromptConfig = dataclasses.replace(config.metaprompt, **change)
        config = dataclasses.replace(config, seed=setup.seed, max_evals=setup.max_evals, target=setup.target,
                                     max_failures=setup.max_failures, metaprompt=metaprompt)
        result = OPRO(problem, setup.backend, config).run()
        result.method, result.kind = name, "ablation"
        return result

    fixed = {knob for knob, key in METAPROMPT_KEYS.items() if key in change}
    return Method(name, "ablation", run, default=False, reads=OPRO_READS - fixed)


def methods() -> dict[str, Method]:
    """Every ablation, for any problem; none runs unless asked for (or listed by a space)."""
    return {name: _ablation(name, change) for name, change in VARIANTS.items()}
