"""How much of each OPRO step's prompt the previous step's prompt already began with, for both meta-prompt
layouts (`--layout paper|cache`); prints a table.

    python benchmarks/prefix_cache.py [--steps 20] [--problems linear-regression tsp prompt-search]
                                      [--model NAME --base-url URL]

Each problem runs OPRO for `--steps` steps per layout on the model given (the embedded one by default;
prompt search's scorer is the embedded model too). The shared prefix of consecutive prompts is counted in
the embedded model's tokens. With `--base-url`, the table also shows the prompt tokens that server reports
it read from its cache (`usage.prompt_tokens_details.cached_tokens`), where it reports them.
"""

from __future__ import annotations

import argparse
import os
import statistics
from typing import Any

from llmopt import OPRO, OPROConfig
from llmopt.backends import make_backend
from llmopt.backends.local import LocalBackend
from llmopt.contract.registry import build_problem
from llmopt.engine.config import MetaPromptConfig
from llmopt.report.tables import text_table

PROBLEMS: dict[str, dict[str, Any]] = {
    "linear-regression": {},
    "tsp": {"cities": 50},
    "prompt-search": {"train_size": 3, "test_size": 2},
}


def shared_tokens(before: str, after: str, count: Any) -> int:
    """The tokens of the longest common prefix of two prompts."""
    length = next((i for i, (a, b) in enumerate(zip(before, after)) if a != b), min(len(before), len(after)))
    return count(after[:length]) if length else 0


def measure(name: str, layout: str, steps: int, backend: Any, count: Any) -> list[str]:
    """One OPRO run: the mean share of each prompt that the previous one began with, and the cached tokens
    (`layout` is a layout, or `cache+found`: the cache layout with the history in the order found)."""
    problem = build_problem(name, PROBLEMS[name])
    shape, _, order = layout.partition("+")
    config = OPROConfig(steps=steps, seed=0, metaprompt=MetaPromptConfig(layout=shape, order=order or "ascending"))
    driver = OPRO(problem, backend, config)
    prompts = []
    while (reason := driver.stop_reason()) is None:
        ask = driver.ask()
        prompts.append(ask.prompt)
        driver.evaluate(ask)
        driver.tell(ask)
    result = driver.finish(reason)
    shares = [shared_tokens(a, b, count) / count(b) for a, b in zip(prompts, prompts[1:])]
    counts = result.counts
    cached = f"{counts.cached_tokens / counts.prompt_tokens:.0%}" if counts.cached_tokens else "-"
    return [
        name,
        layout,
        str(len(prompts)),
        f"{statistics.mean(shares):.0%}" if shares else "-",
        f"{min(shares):.0%}" if shares else "-",
        str(counts.prompt_tokens),
        cached,
        f"{result.best_value:.4g}" if result.best_value is not None else "-",
    ]


def main() -> None:
    """Run both layouts on each problem and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--problems", nargs="+", default=list(PROBLEMS), choices=list(PROBLEMS))
    parser.add_argument("--model", default="local")
    parser.add_argument("--base-url")
    args = parser.parse_args()
    tokenizer = LocalBackend()
    backend = make_backend(args.model, base_url=args.base_url, cache=None)
    rows = [
        [
            "problem",
            "layout",
            "steps",
            "shared with the step before (mean)",
            "(least)",
            "prompt tokens",
            "server cached",
            "best",
        ]
    ]
    for name in args.problems:
        for layout in ("paper", "cache", "cache+found"):
            rows.append(measure(name, layout, args.steps, backend, tokenizer.count_tokens))
    print(text_table(rows))
    print(f"model: {args.model}{' at ' + args.base_url if args.base_url else ''}; {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
