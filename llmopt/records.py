"""Run records: a directory per run with its config as JSON and one JSONL line per step."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from llmopt.result import Result


def default_run_dir(problem: str, root: str | Path = "runs") -> Path:
    """`runs/<timestamp>-<problem>`, made unique if that name is taken."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    base = Path(root) / f"{stamp}-{problem}"
    path, n = base, 1
    while path.exists():
        n += 1
        path = base.with_name(f"{base.name}-{n}")
    return path


class RunRecorder:
    """Writes `config.json`, appends `steps.jsonl` as the run goes, and `result.json` at the end."""

    def __init__(self, directory: str | Path, config: dict[str, Any]) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        _write_json(self.directory / "config.json", config)
        self.steps_path = self.directory / "steps.jsonl"

    def write_step(self, record: dict[str, Any]) -> None:
        """Append one step as a single JSON line, flushed so a crash loses at most that line."""
        with self.steps_path.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(record, default=_jsonable) + "\n")

    def write_results(self, payload: dict[str, Any]) -> None:
        """The final comparison (OPRO and baselines) as `results.json`."""
        _write_json(self.directory / "results.json", payload)


def read_steps(directory: str | Path) -> list[dict[str, Any]]:
    """The step records of a run; a torn last line (crash mid-write) is ignored."""
    path = Path(directory) / "steps.jsonl"
    steps = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            steps.append(json.loads(line))
        except json.JSONDecodeError:
            break
    return steps


def read_results(directory: str | Path) -> list[Result]:
    """The Results saved at the end of a run."""
    payload = json.loads((Path(directory) / "results.json").read_text(encoding="utf-8"))
    return [Result.from_dict(r) for r in payload["full_results"]]


def _write_json(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=2, default=_jsonable), encoding="utf-8")
    tmp.replace(path)


def _jsonable(value: Any) -> Any:
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"cannot store {type(value).__name__} in a run record")
