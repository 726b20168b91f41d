"""Does the model find a Pareto front as well as NSGA-II at the same cost? OPRO (and, with --model-methods,
LMX and `reflect`) against every default black-box method of each problem (Optuna's NSGA-II and
multi-objective TPE, random search), at equal evaluations over several seeds, on ZDT1 and ZDT2 (10
variables), DTLZ2 with 3 objectives and the bi-objective knapsack. ZDT and DTLZ2 run with their Pareto set
moved to a random inner point (`--shift 1`): unmoved, it lies where the distance variables are 0 (0.5 for
DTLZ2), which a model that writes the same round number everywhere reaches without searching. Every run is
measured by the hypervolume of its feasible front against the problem's one stated reference point. Prints
one table per problem: the median hypervolume [IQR], success (the hypervolume reached 95 % of the true
front's, where it is known), ERT and the rank-sum p-value against OPRO (Holm-corrected).

The embedded 135M model proves the machinery, not quality: bring your own with --model/--base-url.

    python benchmarks/multiobjective.py --seeds 5 --steps 4 --proposals 4
    python benchmarks/multiobjective.py --model-methods opro lmx reflect --problems "zdt1 (10 variables)"
    python benchmarks/multiobjective.py --model qwen2.5:7b --base-url http://127.0.0.1:11434/v1
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

MODEL_DRIVEN = ["opro", "lmx", "reflect"]  # what --model-methods may name
# success: the front's hypervolume reaches this share of the true front's
TARGET_SHARE = 0.95

# label -> (problem, options)
PROBLEMS: dict[str, tuple[str, dict[str, Any]]] = {
    "zdt1 (10 variables)": ("zdt1", {"dim": 10, "shift": 1}),
    "zdt2 (10 variables)": ("zdt2", {"dim": 10, "shift": 1}),
    "dtlz2 (3 objectives)": ("dtlz2", {"shift": 1}),
    "knapsack2 (bi-objective knapsack)": ("knapsack2", {}),
}


def built(name: str, options: dict[str, Any]) -> Any:
    """The problem with its defaults and `options`."""
    return build_problem(name, {o.dest: o.default for o in get_problem(name).options} | options)


def methods(problem: Any, model_driven: list[str]) -> list[str]:
    """The named model-driven methods the problem has, then its default black-box methods."""
    found = methods_for(problem)
    black_box = [name for name in default_methods(problem) if found[name].kind == "black-box"]
    return [name for name in model_driven if name in found] + black_box


def run_problem(label: str, model: dict[str, Any], args: argparse.Namespace) -> list[dict[str, Any]]:
    """Every method on one problem over `seeds` seeds at the same evaluation budget."""
    name, options = PROBLEMS[label]
    problem = built(name, options)
    optimum = problem.optimum()
    target = None if optimum is None else TARGET_SHARE * optimum
    config = OPROConfig(steps=args.steps, proposals=args.proposals).to_dict()
    config.pop("seed")
    jobs = make_jobs(name, options, methods(problem, args.model_methods), args.seeds, config, model, target)
    return [{**row, "label": label, "reference": problem.reference_point()} for row in execute(jobs)]


def main() -> None:
    """Run every problem and print its table as it finishes."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=4)
    parser.add_argument("--proposals", type=int, default=4)
    parser.add_argument("--model", default="local", help="'local' (the embedded model) or a served model's name")
    parser.add_argument("--base-url", help="the OpenAI-compatible server of --model")
    parser.add_argument("--problems", nargs="+", choices=list(PROBLEMS), default=list(PROBLEMS))
    parser.add_argument("--model-methods", nargs="+", choices=MODEL_DRIVEN, default=["opro"])
    parser.add_argument("--json", metavar="FILE", help="also write every run's row here")
    args = parser.parse_args()
    model = {"model": args.model, "base_url": args.base_url, "check": False, "cache": None}
    everything: list[dict[str, Any]] = []
    for label in args.problems:
        rows = run_problem(label, model, args)
        reference = ", ".join(f"{r:g}" for r in rows[0]["reference"])
        print(f"{label}: hypervolume against the reference point ({reference}), the same for every method")
        print(table(rows, args.model), flush=True)
        everything += rows
        if args.json:
            Path(args.json).write_text(json.dumps(everything, default=str))


if __name__ == "__main__":
    main()
