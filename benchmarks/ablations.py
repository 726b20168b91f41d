"""Does the optimizer model use the scored trajectory, and which way of using it optimizes best? OPRO
against its four ablations, language-model crossover (`lmx`) and its model-free twin (`lmx-no-model`)
and the best black-box baseline (chosen on other seeds), at equal evaluations over several seeds, on
linear regression (the paper's (15, 14)), rosenbrock in 2-D, TSP with 10 cities, a random MaxSAT
instance (bit vectors), knapsack and prompt search on next_number; once with the embedded model in
this machine's processes and once through a real llama.cpp server on 127.0.0.1.
Prints one table per backend: median best [IQR], success rate, ERT and the rank-sum p-value
against OPRO (Holm-corrected). No response cache: every model answer is sampled.

    python benchmarks/ablations.py --seeds 5 --steps 3 --proposals 4 --json rows.json
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import tempfile
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from llmopt.bench import ablation_study, summarize
from llmopt.opro import OPROConfig
from llmopt.report.tables import text_table

BACKENDS = ["in-process", "llama.cpp-server"]

# label -> (problem, options, OPRO settings, target: None for the problem's optimum)
PROBLEMS: dict[str, tuple[str, dict[str, Any], dict[str, Any], float | None]] = {
    "linear regression (15, 14)": ("linear-regression", {}, {}, None),
    # a loss of 0.01, as the exact 0 is out of reach of every black-box method at this budget
    "rosenbrock 2-D": ("rosenbrock", {"dim": 2}, {}, 0.01),
    "tsp 10 cities": ("tsp", {"cities": 10}, {}, None),
    "maxsat 20 vars (bits)": ("maxsat", {}, {}, None),
    "knapsack 20 items": ("knapsack", {}, {}, None),
    # prompt search scores each instruction with the model, so it gets fewer, smaller steps
    "prompt search next_number": (
        "prompt-search",
        {"task": "next_number", "train_size": 4, "test_size": 4},
        {"proposals": 4},
        100.0,
    ),  # every training question right
}


def run_problem(
    label: str, model: dict[str, Any], seeds: int, steps: int, proposals: int, scorer: dict[str, Any], executor: Any
) -> list[dict[str, Any]]:
    """OPRO, each ablation and the best black-box baseline (chosen on other seeds) on one problem."""
    name, options, settings, target = PROBLEMS[label]
    options = options | (scorer if name == "prompt-search" else {})
    opro = {
        k: v
        for k, v in OPROConfig(**{"steps": steps, "proposals": proposals, **settings}).to_dict().items()
        if k != "seed"
    }
    found = ablation_study(name, options, seeds, opro, model, target, executor, also=("lmx", "lmx-no-model"))
    return [{**row, "label": label} for row in found]


def table(rows: list[dict[str, Any]], backend: str) -> str:
    """One line per problem and method: median best, success rate, ERT and p against OPRO."""
    lines = [
        [
            "backend",
            "problem",
            "method",
            "kind",
            "median best [IQR]",
            "success",
            "ERT",
            "p vs opro (Holm)",
            "evals (budget)",
        ]
    ]
    for s in summarize(rows):
        success = "-" if s["success_rate"] is None else f"{round(s['success_rate'] * s['runs'])}/{s['runs']}"
        lines.append(
            [
                backend,
                s["label"],
                s["method"],
                s["kind"],
                f"{s['median']:.4g} [{s['q1']:.4g}, {s['q3']:.4g}]",
                success,
                "-" if s["ert"] is None else f"{s['ert']:.4g}",
                "-" if math.isnan(s["p_vs_opro"]) else f"{s['p_vs_opro']:.3g}",
                f"{sum(s['evals_used']) / s['runs']:.3g} ({s['budget']})",
            ]
        )
    return text_table(lines)


@contextlib.contextmanager
def backend(which: str, log_dir: Path) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    """The optimizer model settings and prompt search's scorer options of one backend, up while in use."""
    from llmopt.backends.local import default_model_path
    from llmopt.testing.llama_server import ALIAS, llama_server

    if which == "in-process":
        yield {"model": "local", "check": False, "cache": None}, {}
        return
    with llama_server(default_model_path(), log_dir / "server.log") as url:
        yield (
            {"model": ALIAS, "base_url": url, "check": False, "cache": None},
            {"scorer_model": ALIAS, "scorer_base_url": url},
        )


def main() -> None:
    """Run every problem on each backend and print the tables."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--proposals", type=int, default=8, help="per step (prompt search: 4)")
    parser.add_argument("--backends", nargs="+", choices=BACKENDS, default=BACKENDS)
    parser.add_argument("--problems", nargs="+", choices=list(PROBLEMS), default=list(PROBLEMS))
    parser.add_argument("--json", metavar="FILE", help="also write every run's row here")
    args = parser.parse_args()
    everything = []
    with tempfile.TemporaryDirectory() as tmp, ProcessPoolExecutor(max_workers=1) as executor:
        for name in args.backends:
            with backend(name, Path(tmp)) as (model, scorer):
                for label in args.problems:  # a table per problem as it finishes, so a long run shows progress
                    rows = run_problem(label, model, args.seeds, args.steps, args.proposals, scorer, executor)
                    print(table(rows, name), flush=True)
                    everything += [{**row, "backend": name} for row in rows]
                    if args.json:
                        Path(args.json).write_text(json.dumps(everything, default=str))


if __name__ == "__main__":
    main()
