"""Times every README command that runs the embedded model, beside the time the README states; prints a table.

    python benchmarks/readme_times.py

Each command runs once, without the response cache (`--no-cache`), in a scratch folder holding a copy of
`examples/`, so that nothing is replayed. Run it on a quiet machine: the times are those of two cores.
"""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from llmopt.report.tables import text_table
from llmopt.testing.docs import Command, commands

ROOT = Path(__file__).resolve().parents[1]
MAIN_JOB = Command("llmopt run linear-regression --steps 3", ".", 10.0)  # the set-up command's run


def measure(command: Command, scratch: Path) -> tuple[float, int]:
    """Seconds and exit status of one command, run as the README shows it (with --no-cache)."""
    words = shlex.split(command.text)
    argv = [sys.executable, "-m", "llmopt.cli", *words[1:], "--no-cache"]
    began = time.perf_counter()
    done = subprocess.run(argv, cwd=scratch / command.folder, capture_output=True, text=True)
    return time.perf_counter() - began, done.returncode


def main() -> None:
    """Run and print."""
    shown = [MAIN_JOB, *(c for c in commands((ROOT / "README.md").read_text()) if c.embedded)]
    rows = [["command", "stated s", "measured s", "measured/stated", "exit"]]
    with tempfile.TemporaryDirectory() as folder:
        scratch = Path(folder)
        shutil.copytree(ROOT / "examples", scratch / "examples")
        for command in shown:
            seconds, status = measure(command, scratch)
            stated = command.stated or float("nan")
            rows.append([command.text, f"{stated:.0f}", f"{seconds:.1f}", f"{seconds / stated:.2f}", str(status)])
            print(rows[-1], file=sys.stderr, flush=True)
    print(text_table(rows))


if __name__ == "__main__":
    main()
