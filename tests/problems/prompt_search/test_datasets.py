"""Dataset loaders on small files in both formats, and one-line errors for malformed ones."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from llmopt.problems.prompt_search.datasets import DatasetError, load_dataset

ROOT = Path(__file__).resolve().parents[3]


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_bbh_json(tmp_path: Path) -> None:
    data = {"examples": [{"input": "not True", "target": "False"}, {"input": "True and True", "target": "True"}]}
    examples, kind = load_dataset(write(tmp_path, "b.json", json.dumps(data)))
    assert [e.target for e in examples] == ["False", "True"] and kind == "boolean"


def test_bbh_multiple_choice_kind(tmp_path: Path) -> None:
    data = {"examples": [{"input": "q1", "target": "(A)"}, {"input": "q2", "target": "(D)"}]}
    assert load_dataset(write(tmp_path, "c.json", json.dumps(data)))[1] == "choice"


def test_gsm8k_jsonl(tmp_path: Path) -> None:
    lines = [
        {"question": "2+2?", "answer": "Two and two.\n#### 4"},
        {"question": "Big?", "answer": "Lots.\n#### 1,234"},
    ]
    examples, kind = load_dataset(write(tmp_path, "g.jsonl", "\n".join(json.dumps(x) for x in lines)))
    assert [e.target for e in examples] == ["4", "1234"] and kind == "number"


@pytest.mark.parametrize(
    "name, text, fragment",
    [
        ("a.json", '{"examples": [', "a.json:1: not valid JSON"),
        ("b.json", '{"items": []}', '"examples" list'),
        ("c.json", '{"examples": [{"input": "x"}, {"input": "y", "target": "z"}]}', "examples[0]"),
        ("d.jsonl", '{"question": "q", "answer": "#### 1"}\n{"question": "q2"}', "d.jsonl:2:"),
        ("e.jsonl", '{"question": "q", "answer": "no final number"}\n', "e.jsonl:1: answer does not end"),
        ("f.jsonl", '{"question": "q", "answer": "#### 1"}\nnot json', "f.jsonl:2: not valid JSON"),
        ("g.json", '{"examples": [{"input": "x", "target": "y"}]}', "at least 2 examples"),
    ],
)
def test_malformed(tmp_path: Path, name: str, text: str, fragment: str) -> None:
    with pytest.raises(DatasetError) as caught:
        load_dataset(write(tmp_path, name, text))
    assert fragment in str(caught.value)


def test_cli_bad_dataset_is_one_line_exit_2(tmp_path: Path) -> None:
    path = write(tmp_path, "bad.jsonl", '{"question": "q"}\n')
    done = subprocess.run(
        [sys.executable, "-m", "llmopt.cli", "baselines", "prompt-search", "--dataset", str(path)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )
    assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1
    assert "bad.jsonl:1" in done.stderr
