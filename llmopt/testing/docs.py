"""The commands the README shows, with the times it states: read by a test (every command on the embedded
model states its time, under two minutes) and by `benchmarks/readme_times.py` (which measures them)."""

from __future__ import annotations

import re
from dataclasses import dataclass

# A command that names a model server does not run on the embedded model.
SERVER = re.compile(r"--model (?!local\b)|--models |--base-url ")
STATED = re.compile(r"#.*?about (\d+) (s|min)\b")


@dataclass(frozen=True)
class Command:
    """One `llmopt` command of a README code block: its words, the folder it runs in, the seconds stated."""

    text: str
    folder: str
    stated: float | None

    @property
    def embedded(self) -> bool:
        """Whether it runs the embedded model (no server named)."""
        return not SERVER.search(self.text)


def commands(readme: str) -> list[Command]:
    """The `llmopt run|baselines|bench` lines of the README's text blocks, with their stated times."""
    found = []
    for block in re.findall(r"```text\n(.*?)```", readme, flags=re.S):
        folder = "."
        for line in block.splitlines():
            if line.startswith("cd "):
                folder = line.split()[1]
            code = line.split("#", 1)[0].strip()
            if re.match(r"llmopt (run|baselines|bench) ", code):
                stated = STATED.search(line)
                seconds = None if stated is None else float(stated.group(1)) * (60 if stated.group(2) == "min" else 1)
                found.append(Command(code, folder, seconds))
    return found
