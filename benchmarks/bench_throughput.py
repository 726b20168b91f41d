"""A bench of N model-driven jobs x S steps against a stub server (a process of its own) with latency L and
capacity C; prints a table.

Each job is an OPRO run on linear regression whose model is the stub (one request a step). The floor
is what the server alone allows: ceil(N / C) x S x L. Every row runs the same jobs through
`llmopt.bench.execute` as the CLI does; the first rows run them as before this benchmark's change
(one job at a time in each of 2 worker processes), for the ratio.

    python benchmarks/bench_throughput.py                       # the default grid
    python benchmarks/bench_throughput.py --jobs 64 --capacity 64 --latency 0.5 --steps 4
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import resource
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator

from llmopt.bench import execute, make_jobs, worker_pool
from llmopt.testing.llama_server import free_port


def jobs_for(n: int, steps: int, url: str) -> list:
    """n OPRO jobs (n // 2 seeds x OPRO and its no-history ablation, or n seeds of OPRO) on the stub."""
    methods = ["opro", "opro-no-history"] if n % 2 == 0 else ["opro"]
    opro = {"steps": steps, "proposals": 8, "initial": 5, "temperature": 1.0}
    model = {"model": "stub", "base_url": url, "check": False, "cache": None, "server_grammar": "none"}
    # a target no loss reaches, so that every job runs all its steps (some seeds start at the optimum)
    return make_jobs("linear-regression", {}, methods, n // len(methods), opro, model, target=-1.0, max_concurrency=n)


def stats(url: str) -> dict:
    """The stub's counters (it runs in a process of its own, as a real server would)."""
    with urllib.request.urlopen(url.removesuffix("/v1") + "/stats", timeout=5) as answer:
        return json.loads(answer.read())


@contextlib.contextmanager
def stub_process(latency: float, capacity: int) -> Iterator[str]:
    """The stub server in its own process, so that its work does not share this process's interpreter."""
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "llmopt.testing.stub_server",
            "--port",
            str(port),
            "--latency",
            str(latency),
            "--capacity",
            str(capacity),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/v1"
    try:
        for _ in range(100):
            try:
                stats(url)
                break
            except OSError:
                time.sleep(0.1)
        yield url
    finally:
        process.kill()


def measure(n: int, steps: int, latency: float, capacity: int, how: str) -> dict:
    """Wall time, peak in-flight requests at the server and their trace for one way of running the jobs."""
    trace: list[int] = []
    stop = threading.Event()
    with stub_process(latency, capacity) as url:

        def sample() -> None:
            while not stop.wait(0.1):
                trace.append(stats(url)["in_flight"])

        sampler = threading.Thread(target=sample, daemon=True)
        jobs = jobs_for(n, steps, url)
        began = time.perf_counter()
        sampler.start()
        try:
            if how == "threads":
                rows = execute(jobs, None, server_threads=n)
            else:
                with worker_pool(int(how.split()[0])) as pool:
                    rows = execute(jobs, pool)
        finally:
            stop.set()
            sampler.join()
        seconds = time.perf_counter() - began
        peak = stats(url)["max_in_flight"]
    short = [
        (row["method"], row["seed"], row["stop_reason"], row["n_evals"])
        for row in rows
        if row["counts"]["requests"] != steps
    ]
    assert len(rows) == n and not short, f"every job runs every step: {short[:3]}"
    return {"seconds": seconds, "peak": peak, "trace": trace}


def in_flight_over_time(trace: list[int], width: int = 12) -> str:
    """The trace, sampled every 0.1 s, as `width` evenly spaced counts."""
    if not trace:
        return "-"
    picks = [trace[min(len(trace) - 1, round(i * (len(trace) - 1) / max(1, width - 1)))] for i in range(width)]
    return " ".join(str(p) for p in picks)


def main() -> None:
    """Print wall time against the floor, peak memory and requests in flight for each setting."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, nargs="+", default=[16, 64, 256])
    parser.add_argument("--capacity", type=int, default=64)
    parser.add_argument("--latency", type=float, default=0.5)
    parser.add_argument("--steps", type=int, default=4)
    parser.add_argument("--before", action="store_true", help="also run as before: 2 worker processes")
    args = parser.parse_args()
    ways = (["2 worker processes"] if args.before else []) + ["threads"]
    print(f"latency {args.latency} s, capacity {args.capacity}, {args.steps} steps per job\n")
    print(
        f"{'jobs':>5}  {'run as':<20} {'wall s':>7} {'floor s':>7} {'ratio':>6} {'peak in flight':>14} "
        f"{'peak RSS MB':>11}  in flight over time (every 1/12 of the run)"
    )
    for n in args.jobs:
        floor = math.ceil(n / args.capacity) * args.steps * args.latency
        for how in ways:
            if how != "threads" and n > 64:
                continue  # one at a time per process: hundreds of jobs take minutes
            got = measure(n, args.steps, args.latency, args.capacity, how)
            rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            print(
                f"{n:>5}  {how:<20} {got['seconds']:>7.2f} {floor:>7.2f} {got['seconds'] / floor:>6.2f} "
                f"{got['peak']:>14} {rss:>11.0f}  {in_flight_over_time(got['trace'])}"
            )


if __name__ == "__main__":
    main()
