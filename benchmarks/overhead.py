"""Framework overhead and request concurrency of one OPRO step; prints a table.

python benchmarks/overhead.py            # all three sections
python benchmarks/overhead.py --no-local # skip the embedded-model section
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import numpy as np

from llmopt.backends.openai_compat import OpenAIBackend
from llmopt.backends.scripted import ScriptedBackend
from llmopt.opro import OPRO, OPROConfig
from llmopt.problems.linear_regression import LinearRegression
from llmopt.testing.stub_server import StubSettings, serve

LATENCY = 0.2
PROPOSALS = 8


def timed(fn: Callable[[], object], repeat: int) -> float:
    """Median seconds of `fn` over `repeat` calls."""
    samples = []
    for _ in range(repeat):
        began = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - began)
    return statistics.median(samples)


def opro_with_history(size: int) -> OPRO:
    """An OPRO run whose history already holds `size` evaluated trials."""
    rng = np.random.default_rng(0)
    # answers inside the problem's box, so that every one is a valid proposal
    texts = [f"[{w}, {b}]" for w, b in rng.integers(-100, 101, (size + 10_000, 2))]
    opro = OPRO(LinearRegression(), ScriptedBackend(texts), OPROConfig(proposals=PROPOSALS, initial=1))
    while opro.result.counts.evals < size:
        step(opro)
    return opro


def step(opro: OPRO) -> None:
    """One ask, evaluate and tell."""
    ask = opro.ask()
    opro.evaluate(ask)
    opro.tell(ask)


def framework_overhead() -> list[tuple[str, float, str]]:
    """ask()+evaluate()+tell() with an instant backend, small vs 1,000-trial history."""
    rows = []
    base = None
    for size in (10, 1000):
        opro = opro_with_history(size)
        seconds = timed(lambda opro=opro: step(opro), 50)
        base = base or seconds
        rows.append((f"framework per step, history {size}", seconds * 1e3, f"{seconds / base:.2f}x"))
    return rows


def concurrency() -> list[tuple[str, float, str]]:
    """One step of 8 proposals against a stub server that waits 200 ms per request."""
    rows = []
    settings = StubSettings(latency=LATENCY, honour_n=False)
    server, url = serve(settings)
    try:
        backend = OpenAIBackend("stub", base_url=url)
        prompt = LinearRegression().describe()

        def naive() -> None:
            for i in range(PROPOSALS):
                backend._request(prompt, 1, 1.0, 16, i, None)

        naive_s = timed(naive, 3)
        rows.append(("naive loop, 8 requests one by one", naive_s * 1e3, "1.00x"))
        for honour in (False, True):
            settings.honour_n = honour
            fresh = OpenAIBackend("stub", base_url=url)
            fresh.generate(prompt, n=PROPOSALS, temperature=1.0, max_tokens=16, seed=0)  # learn n support
            step_s = timed(
                lambda fresh=fresh: fresh.generate(prompt, n=PROPOSALS, temperature=1.0, max_tokens=16, seed=0), 5
            )
            label = "server honours n (1 request)" if honour else "server ignores n (8 concurrent)"
            rows.append(
                (f"llmopt step, {label}", step_s * 1e3, f"{naive_s / step_s:.2f}x faster; {step_s / LATENCY:.2f} L")
            )
    finally:
        server.shutdown()
    return rows


def local_model() -> list[tuple[str, float, str]]:
    """Embedded model: 8 samples from one meta-prompt against 1 sample."""
    from llmopt.backends.local import LocalBackend

    problem = LinearRegression()
    opro = OPRO(problem, ScriptedBackend([]), OPROConfig(initial=20))
    opro.start()
    prompt = opro.prompt()
    backend = LocalBackend()
    grammar = problem.grammar()
    backend.generate(prompt, n=1, temperature=1.0, max_tokens=16, seed=0, grammar=grammar)  # load

    def sample(n: int) -> Callable[[], object]:
        def go() -> None:
            backend.reset()  # a new step starts from a cold prompt cache
            backend.generate(prompt + " ", n=n, temperature=1.0, max_tokens=16, seed=1, grammar=grammar)

        return go

    one = timed(sample(1), 5)
    eight = timed(sample(PROPOSALS), 5)
    return [
        ("local model, 1 sample", one * 1e3, "1.00x"),
        ("local model, 8 samples (shared prompt prefix)", eight * 1e3, f"{eight / one:.2f}x"),
    ]


def main() -> None:
    """Run the sections and print the table."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--no-local", action="store_true", help="skip the embedded-model section")
    args = parser.parse_args()
    rows = framework_overhead() + concurrency() + ([] if args.no_local else local_model())
    width = max(len(r[0]) for r in rows)
    print(f"{'measurement'.ljust(width)}  {'ms':>9}  ratio")
    print(f"{'-' * width}  {'-' * 9}  -----")
    for label, ms, ratio in rows:
        print(f"{label.ljust(width)}  {ms:9.2f}  {ratio}")


if __name__ == "__main__":
    main()
