"""Scorer throughput on the embedded model: naive sequential scoring against the concurrent,
deduplicated scorer, on a workload that repeats instructions as an OPRO run does (initial
instructions that are also baselines, re-proposed instructions). Prints a table.

    python benchmarks/prompt_search.py --questions 16
"""

from __future__ import annotations

import argparse
import time

from llmopt.backends.local import LocalBackend
from llmopt.problems.prompt_search.problem import build_prompt
from llmopt.problems.prompt_search.scorer import Scorer
from llmopt.problems.prompt_search.tasks import TASKS

INSTRUCTIONS = [
    "Let's solve the problem.",
    "Give only the final answer.",
    "Let's think step by step.",
    "Let's solve the problem.",
    "Give only the final answer.",
]


def workload(questions: int) -> list[str]:
    """Every (instruction, question) prompt of the workload, repeats included."""
    examples = TASKS["next_number"].examples(0, questions)
    return [build_prompt(ins, e.input, "q_begin") for ins in INSTRUCTIONS for e in examples]


def naive(prompts: list[str], max_tokens: int) -> tuple[float, int]:
    """One model copy, one prompt after another, every prompt sent."""
    backend = LocalBackend()
    backend.generate("warm up", n=1, temperature=0.0, max_tokens=2, seed=0)
    began = time.perf_counter()
    for prompt in prompts:
        backend.generate(prompt, n=1, temperature=0.0, max_tokens=max_tokens, seed=0)
    return time.perf_counter() - began, len(prompts)


def concurrent(prompts: list[str], max_tokens: int, instances: int) -> tuple[float, int]:
    """The Scorer: duplicates answered from memory, the rest spread over model copies."""
    backend = LocalBackend(instances=instances)
    scorer = Scorer(backend, max_tokens=max_tokens, concurrency=2 * instances)
    for _ in range(instances):
        backend.generate("warm up", n=1, temperature=0.0, max_tokens=2, seed=0)
    began = time.perf_counter()
    for start in range(0, len(prompts), len(prompts) // len(INSTRUCTIONS)):  # one instruction at a time
        scorer.answer_all(prompts[start : start + len(prompts) // len(INSTRUCTIONS)])
    return time.perf_counter() - began, scorer.calls


def main() -> None:
    """Run both paths and print examples per second and the speed-up."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--questions", type=int, default=16)
    parser.add_argument("--max-tokens", type=int, default=24)
    args = parser.parse_args()
    prompts = workload(args.questions)
    rows = [("naive sequential", *naive(prompts, args.max_tokens))]
    rows.append(("deduplicated + concurrent (shared copy)", *concurrent(prompts, args.max_tokens, 1)))
    # Last: once two 1-thread copies have run, other llama.cpp thread teams in this process slow down.
    rows.append(("deduplicated, 2 copies x 1 thread", *concurrent(prompts, args.max_tokens, 2)))
    base = len(prompts) / rows[0][1]
    print(f"{'path':40} {'examples':>8} {'model calls':>11} {'seconds':>8} {'examples/s':>10} {'speed-up':>8}")
    for label, seconds, calls in rows:
        rate = len(prompts) / seconds
        print(f"{label:40} {len(prompts):8d} {calls:11d} {seconds:8.1f} {rate:10.2f} {rate / base:7.2f}x")


if __name__ == "__main__":
    main()
