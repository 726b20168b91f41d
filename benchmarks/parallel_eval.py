"""Evaluations side by side: OPRO (on the stub server, latency L) and the default black-box methods of a
box on an objective that takes E seconds, with --eval-workers 1, 4 and 8, in threads and in processes.

Each row prints the wall time against its floor, rounds x E (+ steps x L for OPRO), the ratio of
the two, the evaluations used and the rounds. The speed-up is against the same method with one
worker in the same run. Timing lives here, never in a test.

    python benchmarks/parallel_eval.py                           # E = 0.5 s, L = 0.2 s, 5 steps of 8
    python benchmarks/parallel_eval.py --seconds 0.1 --workers 1 8 --where threads
"""

from __future__ import annotations

import argparse
import time

from llmopt import OPROConfig, compare, make_backend
from llmopt.methods import compared_methods
from llmopt.problems.numeric import NumericProblem
from llmopt.report.tables import text_table
from llmopt.testing.objectives import Slow
from llmopt.testing.stub_server import StubSettings, serve


def main() -> None:
    """Run the grid and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=0.5, help="E: seconds per evaluation")
    parser.add_argument("--latency", type=float, default=0.2, help="L: the stub server's seconds per request")
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--proposals", type=int, default=8)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 4, 8])
    parser.add_argument("--where", nargs="+", default=["threads", "processes"])
    parser.add_argument("--methods", nargs="+", help="default: opro and the box's default black-box methods")
    args = parser.parse_args()
    problem = NumericProblem(Slow(args.seconds), [(0, 30), (0, 30)], label="slow")
    methods = args.methods or ["opro", *compared_methods(problem)]
    server, url = serve(StubSettings(latency=args.latency))
    backend = make_backend(model="stub", base_url=url, cache=None, check=False, server_grammar="none")
    rows, single = [], {}
    try:
        for where in args.where:
            for workers in args.workers:
                config = OPROConfig(steps=args.steps, proposals=args.proposals, eval_workers=workers, eval_in=where)
                for name in methods:
                    began = time.perf_counter()
                    (result,) = compare(problem, config, [name], backend)
                    wall = time.perf_counter() - began
                    model_wait = args.steps * args.latency if result.kind == "model" else 0.0
                    floor = result.counts.rounds * args.seconds + model_wait
                    single.setdefault((where, name), wall)
                    rows.append(
                        [
                            name,
                            where,
                            str(workers),
                            f"{wall:.2f}",
                            f"{floor:.2f}",
                            f"{wall / floor:.2f}",
                            f"{single[(where, name)] / wall:.1f}",
                            str(result.counts.evals),
                            str(result.counts.rounds),
                            f"{result.best_value:.4g}",
                        ]
                    )
                    print(" ".join(rows[-1]), flush=True)
    finally:
        server.shutdown()
    header = ["method", "in", "workers", "wall s", "floor s", "wall/floor", "speed-up", "evals", "rounds", "best"]
    print(text_table([header, *rows], right_align=True))


if __name__ == "__main__":
    main()
