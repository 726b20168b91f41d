"""Loaders for user datasets: BIG-Bench-Hard JSON and GSM8K JSONL; errors name file and line."""

from __future__ import annotations

import json
import re
from pathlib import Path

from llmopt.problems.prompt_search.normalize import AnswerKind, infer_kind
from llmopt.problems.prompt_search.tasks import Example

_GSM8K_FINAL = re.compile(r"####\s*(-?[\d,]*\.?\d+)\s*$")


class DatasetError(ValueError):
    """A dataset file that cannot be used, with the reason and where."""


def load_dataset(path: str | Path) -> tuple[list[Example], AnswerKind]:
    """Examples and their answer kind; `.jsonl` is read as GSM8K, anything else as BIG-Bench-Hard."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise DatasetError(f"cannot read dataset {path}: {error}") from None
    examples, kind = load_gsm8k(text, str(path)) if path.suffix == ".jsonl" else load_bbh(text, str(path))
    if len(examples) < 2:
        raise DatasetError(f"{path}: needs at least 2 examples, found {len(examples)}")
    return examples, kind


def load_bbh(text: str, source: str = "<string>") -> tuple[list[Example], AnswerKind]:
    """`{"examples": [{"input": ..., "target": ...}, ...]}`."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise DatasetError(f"{source}:{error.lineno}: not valid JSON ({error.msg})") from None
    if not isinstance(data, dict) or not isinstance(data.get("examples"), list):
        raise DatasetError(f'{source}: expected a JSON object with an "examples" list (BIG-Bench-Hard format)')
    examples = []
    for index, item in enumerate(data["examples"]):
        if (
            not isinstance(item, dict)
            or not isinstance(item.get("input"), str)
            or not isinstance(item.get("target"), (str, int, float))
        ):
            raise DatasetError(f'{source}: examples[{index}] needs string "input" and "target"')
        examples.append(Example(item["input"], str(item["target"])))
    return examples, infer_kind([e.target for e in examples])


def load_gsm8k(text: str, source: str = "<string>") -> tuple[list[Example], AnswerKind]:
    """One JSON object a line with `question` and an `answer` ending in `#### N`."""
    examples = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as error:
            raise DatasetError(f"{source}:{number}: not valid JSON ({error.msg})") from None
        if (
            not isinstance(item, dict)
            or not isinstance(item.get("question"), str)
            or not isinstance(item.get("answer"), str)
        ):
            raise DatasetError(f'{source}:{number}: needs string "question" and "answer" (GSM8K format)')
        final = _GSM8K_FINAL.search(item["answer"])
        if not final:
            raise DatasetError(f"{source}:{number}: answer does not end with '#### <number>'")
        examples.append(Example(item["question"], final.group(1).replace(",", "")))
    return examples, "number"
