"""The embedded model's n answers to one prompt, decoded together against one after another; prints a table.

    python benchmarks/local_batch.py                   # n = 1, 4, 8, 16; about four minutes on two cores
    python benchmarks/local_batch.py --answers 8 --repeats 3

Two prompts, each with its problem's grammar, temperature 1 and the answer limit a run sizes on the
problem's space: the main job's first meta-prompt (`llmopt run linear-regression`) and OPRO's first
meta-prompt on a 50-city TSP (about 1,500 tokens). For each n, the same request runs both ways on one loaded model:
`sequential` through `create_chat_completion`, one answer after another (the old path, its prompt cache
emptied first, as for a step's new prompt), and `batched` as LocalBackend samples it now (n answers as
one llama.cpp batch; one answer still goes the old way). `x seq` is batched over sequential tokens per
second; `x one` is batched tokens per second over the first row's (one answer); `same` counts the
batched answers equal to the sequential ones with the same seed. Other processes on the cores skew
every figure: the load average is printed before and after.
"""

from __future__ import annotations

import argparse
import os
import time

import llmopt
from llmopt.backends.local import LocalBackend
from llmopt.backends.scripted import ScriptedBackend
from llmopt.contract.registry import build_problem
from llmopt.engine.config import OPROConfig
from llmopt.methods.model.answers import answer_tokens_for

PROMPTS = {"main job": ("linear-regression", {}), "tsp-50": ("tsp", {"cities": 50})}


def first_request(name: str, options: dict, backend: LocalBackend) -> tuple[str, str, int]:
    """OPRO's first meta-prompt on a problem, the problem's grammar and a run's answer limit for it."""
    problem = build_problem(name, options)
    ask = llmopt.OPRO(problem, ScriptedBackend(["x"] * OPROConfig().proposals), OPROConfig()).ask()
    return (
        ask.prompt or "",
        problem.grammar(),
        answer_tokens_for(problem.encode(problem.space.longest()), backend.count_tokens),
    )


def timed(backend: LocalBackend, request: tuple[str, str, int], n: int, seed: int) -> tuple[float, list]:
    """Seconds for n answers from a cold prompt cache, and the answers."""
    prompt, grammar, limit = request
    backend.reset()
    began = time.perf_counter()
    generation = backend.generate(
        prompt, n=n, temperature=OPROConfig().temperature, max_tokens=limit, seed=seed, grammar=grammar
    )
    return time.perf_counter() - began, generation.completions


def rate(completions: list, seconds: float) -> float:
    """Generated tokens per second."""
    return sum(c.completion_tokens for c in completions) / seconds


def main() -> None:
    """Print one row per prompt and number of answers."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--answers", default="1,4,8,16", help="numbers of answers, comma-separated")
    parser.add_argument("--repeats", type=int, default=1, help="runs of each row; the fastest counts")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    counts = [int(a) for a in args.answers.split(",")]
    sequential, batched = LocalBackend(batched=False), LocalBackend()
    print(f"load average before: {os.getloadavg()[0]:.2f}")
    print(
        f"{'prompt':9} {'tokens':>6} {'limit':>5} {'n':>3} {'seq s':>7} {'seq tok/s':>9} {'batch s':>8} "
        f"{'batch tok/s':>11} "
        f"{'x seq':>6} {'x one':>6} {'same':>6} {'cut off':>7}"
    )
    for label, (name, options) in PROMPTS.items():
        request = first_request(name, options, batched)
        one = None
        for n in counts:
            old = min((timed(sequential, request, n, args.seed) for _ in range(args.repeats)), key=lambda run: run[0])
            new = min((timed(batched, request, n, args.seed) for _ in range(args.repeats)), key=lambda run: run[0])
            one = one or rate(new[1], new[0])
            same = sum(a.text == b.text for a, b in zip(old[1], new[1]))
            print(
                f"{label:9} {new[1][0].prompt_tokens:6d} {request[2]:5d} {n:3d} {old[0]:7.2f} "
                f"{rate(old[1], old[0]):9.1f} {new[0]:8.2f} {rate(new[1], new[0]):11.1f} "
                f"{rate(new[1], new[0]) / rate(old[1], old[0]):6.2f} {rate(new[1], new[0]) / one:6.2f} "
                f"{same:3d}/{n:<2d} {sum(c.cut_off for c in new[1]):7d}"
            )
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
