"""Size and render time of the HTML report for long runs; prints a table.

    python benchmarks/report.py --steps 200 1000

Each run is a real OPRO run on linear regression with 8 proposals per step, its answers replayed by
the scripted backend so the benchmark measures the report, not a model. The ratio compares the
report's render time with reading the same run's journal (steps.jsonl) in the same process.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from llmopt.backends.scripted import ScriptedBackend
from llmopt.engine.records import RunRecorder, read_steps
from llmopt.opro import OPRO, OPROConfig
from llmopt.problems.linear_regression import LinearRegression
from llmopt.report import write_run_report


def make_run(directory: Path, steps: int) -> None:
    """A finished-journal run of `steps` steps (no results.json: reported as unfinished, the larger case)."""
    config = OPROConfig(steps=steps, proposals=8, seed=1)
    texts = [f"I propose [{i % 61 - 30}, {i % 53 - 26}] because it is lower." for i in range(steps * 8)]
    recorder = RunRecorder(directory, {"problem": "linear-regression", "direction": "min", "opro": config.to_dict()})
    OPRO(LinearRegression(), ScriptedBackend(texts), config, recorder).run()


def main() -> None:
    """Print one row per run length."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--steps", type=int, nargs="+", default=[200, 1000])
    args = parser.parse_args()
    print(
        f"{'steps':>6} {'proposals':>9} {'journal MB':>10} {'report MB':>9} {'read s':>7} {'render s':>8} {'ratio':>6}"
    )
    for steps in args.steps:
        with tempfile.TemporaryDirectory() as tmp:
            run = Path(tmp) / "run"
            make_run(run, steps)
            began = time.perf_counter()
            read_steps(run)
            read = time.perf_counter() - began
            began = time.perf_counter()
            report = write_run_report(run)
            render = time.perf_counter() - began
            journal = (run / "steps.jsonl").stat().st_size / 1e6
            print(
                f"{steps:6d} {steps * 8:9d} {journal:10.2f} {report.stat().st_size / 1e6:9.2f} {read:7.3f} "
                f"{render:8.2f} {render / read:5.0f}x"
            )


if __name__ == "__main__":
    main()
