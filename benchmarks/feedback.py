"""What is telling the model why worth? OPRO against `opro-no-feedback` (the same meta-prompt with the
feedback and the constraint violations hidden), the reflective proposer `reflect` and its ablation
`reflect-no-feedback`, and every default black-box method of each problem, at equal evaluations over
several seeds, on knapsack (over capacity is a constraint with its amount), MaxSAT, prompt search on
next_number (the questions an instruction got wrong), and two constrained functions (Simionescu's,
whose unconstrained minimum is infeasible, and Mishra's bird). Prints one table per problem: median best
[IQR] (best feasible value; a run with none counts as the worst), success rate, ERT and the rank-sum
p-value against OPRO (Holm-corrected).

The embedded 135M model proves the machinery, not quality: bring your own with --model/--base-url.

    python benchmarks/feedback.py --seeds 5 --steps 4 --proposals 4
    python benchmarks/feedback.py --model qwen2.5:7b --base-url http://127.0.0.1:11434/v1
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

from ablations import table  # noqa: E402  (the same table as the ablation study's)

from llmopt.bench.jobs import execute, make_jobs  # noqa: E402
from llmopt.contract.registry import build_problem, get_problem  # noqa: E402
from llmopt.methods import default_methods, methods_for  # noqa: E402
from llmopt.opro import OPROConfig  # noqa: E402

MODEL_DRIVEN = ["opro", "opro-no-feedback", "reflect", "reflect-no-feedback"]

# label -> (problem, options, OPRO settings, target: None for the problem's optimum)
PROBLEMS: dict[str, tuple[str, dict[str, Any], dict[str, Any], float | None]] = {
    "knapsack 20 items": ("knapsack", {}, {}, None),
    "maxsat 20 vars": ("maxsat", {}, {}, None),
    "prompt search next_number": (
        "prompt-search",
        {"task": "next_number", "train_size": 4, "test_size": 4},
        {"proposals": 4},
        100.0,
    ),
    "simionescu": ("simionescu", {}, {}, None),
    "mishra's bird": ("mishra-bird", {}, {}, None),
}


def methods(problem: str, options: dict[str, Any]) -> list[str]:
    """The model-driven methods the problem has, then its default black-box methods."""
    built = build_problem(problem, {o.dest: o.default for o in get_problem(problem).options} | options)
    found = methods_for(built)
    black_box = [name for name in default_methods(built) if found[name].kind == "black-box"]
    return [name for name in MODEL_DRIVEN if name in found] + black_box


def run_problem(label: str, model: dict[str, Any], seeds: int, steps: int, proposals: int) -> list[dict[str, Any]]:
    """Every method on one problem over `seeds` seeds at the same evaluation budget."""
    name, options, settings, target = PROBLEMS[label]
    if name == "prompt-search" and model.get("model") != "local":  # the scorer is the user's model too
        options = options | {"scorer_model": model["model"], "scorer_base_url": model.get("base_url")}
    config = OPROConfig(**{"steps": steps, "proposals": proposals, **settings}).to_dict()
    config.pop("seed")
    jobs = make_jobs(name, options, methods(name, options), seeds, config, model, target)
    return [{**row, "label": label} for row in execute(jobs)]


def main() -> None:
    """Run every problem and print its table as it finishes."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=4)
    parser.add_argument("--proposals", type=int, default=4)
    parser.add_argument("--model", default="local", help="'local' (the embedded model) or a served model's name")
    parser.add_argument("--base-url", help="the OpenAI-compatible server of --model")
    parser.add_argument("--problems", nargs="+", choices=list(PROBLEMS), default=list(PROBLEMS))
    parser.add_argument("--json", metavar="FILE", help="also write every run's row here")
    args = parser.parse_args()
    model = {"model": args.model, "base_url": args.base_url, "check": False, "cache": None}
    everything: list[dict[str, Any]] = []
    for label in args.problems:
        rows = run_problem(label, model, args.seeds, args.steps, args.proposals)
        print(table(rows, args.model), flush=True)
        everything += rows
        if args.json:
            Path(args.json).write_text(json.dumps(everything, default=str))


if __name__ == "__main__":
    main()
