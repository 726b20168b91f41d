"""Run records: a directory per run with its config as JSON and one JSONL line per step."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from llmopt.backends.reasoning import DEFAULT_REASONING_TOKENS
from llmopt.core.result import Result
from llmopt.engine.journal import SAID


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
    """Journals a run: `config.json`, one `steps.jsonl` line per finished step, `results.json` at the end.

    `pending.jsonl` holds the step in progress: its proposals, then one line per evaluation, so a
    run killed at any moment resumes without asking the model again or repeating an evaluation.
    """

    def __init__(self, directory: str | Path, config: dict[str, Any], *, resume: bool = False) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        if not resume:
            _write_json(self.directory / "config.json", config)
        self.steps_path = self.directory / "steps.jsonl"
        self.pending_path = self.directory / "pending.jsonl"
        if resume:
            _drop_torn_tail(self.steps_path)
            _drop_torn_tail(self.pending_path)
            with (self.directory / "resumes.txt").open("a", encoding="utf-8") as handle:
                handle.write(time.strftime("%Y-%m-%d %H:%M:%S\n"))

    def write_step(self, record: dict[str, Any]) -> None:
        """Append one finished step as a single JSON line; the pending journal is then cleared."""
        _append(self.steps_path, record)
        self.pending_path.write_text("", encoding="utf-8")

    def write_pending(self, record: dict[str, Any]) -> None:
        """Start the journal of a step whose proposals are known but not yet evaluated."""
        self.pending_path.write_text(json.dumps(record, default=_jsonable) + "\n", encoding="utf-8")

    def write_eval(self, index: int, value: float | None, round: int | None = None, **said: Any) -> None:
        """Journal one finished evaluation of the pending step, with the round it was made in and what the
        objective said with the value (`feedback`, `constraints`, `cases`; `values` with several objectives)."""
        _append(self.pending_path, {"index": index, "value": value, **({"round": round} if round else {}), **said})

    def amend_config(self, fields: dict[str, Any]) -> None:
        """Add what the run learned (e.g. how requests were adapted to the server) to `config.json`."""
        path = self.directory / "config.json"
        _write_json(path, {**json.loads(path.read_text(encoding="utf-8")), **fields})

    def write_results(self, payload: dict[str, Any]) -> None:
        """The final comparison (OPRO and baselines) as `results.json`."""
        _write_json(self.directory / "results.json", payload)


def read_steps(directory: str | Path) -> list[dict[str, Any]]:
    """The step records of a run; a torn last line (crash mid-write) is ignored."""
    path = Path(directory) / "steps.jsonl"
    return _read_lines(path) if path.exists() else []


def _read_lines(path: Path) -> list[dict[str, Any]]:
    records = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            break  # a line torn by a crash ends the journal
    return records


def _drop_torn_tail(path: Path) -> None:
    """Cut a half-written last line so appends start on a clean line."""
    if not path.exists():
        return
    data = path.read_bytes()
    if data and not data.endswith(b"\n"):
        path.write_bytes(data[: data.rfind(b"\n") + 1])


def _append(path: Path, record: dict[str, Any]) -> None:
    with path.open("a", encoding="utf-8") as handle:
        handle.write(json.dumps(record, default=_jsonable) + "\n")


def read_pending(directory: str | Path) -> dict[str, Any] | None:
    """The interrupted step, if any: its proposals plus the evaluations already done."""
    path = Path(directory) / "pending.jsonl"
    if not path.exists():
        return None
    records = _read_lines(path)
    if not records:
        return None
    pending = dict(records[0])
    pending["evals"] = [(r["index"], r["value"]) for r in records[1:]]
    pending["rounds"] = {r["index"]: r["round"] for r in records[1:] if r.get("round")}
    # what the objective said with each value (a journal written before 0.7 has values alone), and with several
    # objectives the values themselves
    pending["said"] = {r["index"]: {k: r[k] for k in SAID if k in r} for r in records[1:] if any(k in r for k in SAID)}
    return pending


def read_config(directory: str | Path) -> dict[str, Any]:
    """The run's `config.json`."""
    return json.loads((Path(directory) / "config.json").read_text(encoding="utf-8"))


def resume_refusal(
    saved: dict[str, Any], current: dict[str, Any], changed_settings: list[str], default_journaled: str
) -> str | None:
    """Why the run recorded as `saved` (its config.json) cannot go on with the `current` one, or None when it
    can: another problem, problem definition or backend, another reference point (several objectives: a derived
    one follows the problem's code), settings that may not change on resume (`changed_settings`,
    `RunConfig.changes_on_resume`), or another journaled method (a record without the key journaled
    `default_journaled`, the only method that could be then)."""
    current = json.loads(json.dumps(current))  # compared as stored
    if isinstance(saved.get("backend"), dict) and isinstance(current["backend"], dict):
        added = {"reasoning_effort": None, "reasoning_tokens": DEFAULT_REASONING_TOKENS}
        saved = {
            **saved,
            "backend": {**{k: v for k, v in added.items() if k in current["backend"]}, **saved["backend"]},
        }
    if isinstance(saved.get("backend"), dict):  # 0.4's records name the context size, which no answer depends on
        saved = {**saved, "backend": {k: v for k, v in saved["backend"].items() if k != "n_ctx"}}
    for key in ("problem", "problem_config", "backend"):
        if saved.get(key) != current[key]:
            return f"the run was made with a different {key.replace('_', ' ')}; repeat its original options"
    if saved.get("reference") != current.get("reference"):
        return (
            f"the run's hypervolumes are measured against the reference point {saved.get('reference')}, the "
            f"problem now gives {current.get('reference')} (its code or data changed); start a new run"
        )
    if changed_settings:
        return (
            f"the run was made with different settings ({', '.join(changed_settings)}); repeat its original "
            "options (only steps and budgets may change)"
        )
    if saved.get("journaled", default_journaled) != current["journaled"]:
        return (
            f"the run journaled {saved.get('journaled', default_journaled)}; give --methods with that method "
            "first among those that sample the model"
        )
    return None


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
