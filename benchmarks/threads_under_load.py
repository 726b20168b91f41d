"""The embedded model's decoding speed on a busy machine: every core's thread against one, and the default
(the cores the load leaves free); prints a table.

    python benchmarks/threads_under_load.py [--busy 0 3] [--answers 4] [--tokens 48]

For each count of busy processes (pure-Python loops, as other people's work), each thread setting loads the
model in a fresh process and times `--answers` answers of the main job's meta-prompt. llama.cpp's threads
wait for each other at every token, so a thread that shares its core stalls the rest: the ratio column is
each setting's tokens per second against one thread's in the same row group.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import subprocess
import sys
import time

from llmopt.report.tables import text_table

PROBE = """
import json, os, time
from llmopt.backends.local import LocalBackend, thread_share
from llmopt.methods.model.metaprompt import render
from llmopt.problems.linear_regression import LinearRegression
problem = LinearRegression()
prompt = render(problem, [("[12, 19]", 20000.0), ("[16, 11]", 3000.0)])
backend = LocalBackend()
backend.generate(prompt, n=1, temperature=1.0, max_tokens=4, seed=0)  # loaded and warm
began = time.perf_counter()
generation = backend.generate(prompt, n={answers}, temperature=1.0, max_tokens={tokens}, seed=1)
print(json.dumps({{"seconds": time.perf_counter() - began, "tokens": generation.completion_tokens,
                  "threads": backend.n_threads}}))
"""


def _spin(stop: multiprocessing.synchronize.Event) -> None:
    while not stop.is_set():
        sum(range(10_000))


def measure(threads: str | None, answers: int, tokens: int) -> dict[str, float]:
    """One fresh process's decoding: seconds, tokens and the threads it used (`threads` None: the default)."""
    env = {k: v for k, v in os.environ.items() if k != "LLMOPT_THREADS"}
    if threads is not None:
        env["LLMOPT_THREADS"] = threads
    done = subprocess.run(
        [sys.executable, "-c", PROBE.format(answers=answers, tokens=tokens)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=900,
    )
    import json

    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    """Load the machine, measure each setting, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--busy", type=int, nargs="+", default=[0, 3])
    parser.add_argument("--answers", type=int, default=4)
    parser.add_argument("--tokens", type=int, default=48)
    args = parser.parse_args()
    cores = os.cpu_count() or 1
    rows = [["busy processes", "threads setting", "threads used", "seconds", "tokens/s", "ratio to 1 thread"]]
    for busy in args.busy:
        stop = multiprocessing.Event()
        spinners = [multiprocessing.Process(target=_spin, args=(stop,), daemon=True) for _ in range(busy)]
        for spinner in spinners:
            spinner.start()
        if busy:
            time.sleep(65)  # the one-minute load average the default reads has to see them
        found = {
            name: measure(value, args.answers, args.tokens)
            for name, value in (("1", "1"), (f"{cores} (every core)", str(cores)), ("default", None))
        }
        stop.set()
        for spinner in spinners:
            spinner.join()
        one = found["1"]["tokens"] / found["1"]["seconds"]
        for name, row in found.items():
            speed = row["tokens"] / row["seconds"]
            rows.append(
                [str(busy), name, str(row["threads"]), f"{row['seconds']:.2f}", f"{speed:.1f}", f"{speed / one:.2f}"]
            )
    print(text_table(rows))


if __name__ == "__main__":
    main()
