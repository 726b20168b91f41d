"""The SQLite response cache: replays, keys, concurrent writers, and exact reruns through the CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest

from llmopt.backends.cache import CachedBackend, request_key
from llmopt.backends.scripted import ScriptedBackend

ROOT = Path(__file__).resolve().parents[2]


def test_hit_replays_without_calling_the_backend(tmp_path: Path) -> None:
    inner = ScriptedBackend(["a", "b", "c", "d"])
    cached = CachedBackend(inner, tmp_path / "c.sqlite")
    first = cached.generate("p", n=2, temperature=1.0, max_tokens=5, seed=1)
    second = cached.generate("p", n=2, temperature=1.0, max_tokens=5, seed=1)
    assert first == second and len(inner.prompts) == 1 and (cached.hits, cached.misses) == (1, 1)
    cached.generate("p", n=2, temperature=1.0, max_tokens=5, seed=2)
    assert len(inner.prompts) == 2


def test_key_covers_the_request_but_not_secrets() -> None:
    base = dict(
        identity={"backend": "openai", "model": "m"},
        prompt="p",
        n=8,
        temperature=1.0,
        max_tokens=9,
        seed=0,
        grammar=None,
    )
    key = request_key(**base)
    for change in (
        {"prompt": "q"},
        {"n": 7},
        {"temperature": 0.5},
        {"max_tokens": 8},
        {"seed": 1},
        {"grammar": "root ::= x"},
        {"identity": {"backend": "openai", "model": "n"}},
    ):
        assert request_key(**{**base, **change}) != key


def _writer(args: tuple[str, int]) -> int:
    path, worker = args
    cached = CachedBackend(ScriptedBackend([f"w{worker}-{i}" for i in range(200)]), path)
    for i in range(100):
        cached.generate(f"prompt {worker} {i}", n=1, temperature=1.0, max_tokens=4, seed=i)
        cached.generate("shared", n=1, temperature=1.0, max_tokens=4, seed=0)
    return cached.misses


def test_several_processes_write_at_once(tmp_path: Path) -> None:
    path = str(tmp_path / "shared.sqlite")
    with ProcessPoolExecutor(4) as pool:
        misses = list(pool.map(_writer, [(path, w) for w in range(4)]))
    assert sum(misses) >= 400
    check = CachedBackend(ScriptedBackend([]), path)
    for worker in range(4):
        for i in range(100):
            assert check.generate(f"prompt {worker} {i}", n=1, temperature=1.0, max_tokens=4, seed=i).completions
    assert check.misses == 0


def run(args: list[str], env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    import os

    return subprocess.run(
        [sys.executable, "-m", "llmopt.cli", "run", "linear-regression", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=900,
        env={**os.environ, **(env or {})},
    )


def results(run_dir: Path) -> list[dict]:
    rows = json.loads((run_dir / "results.json").read_text())["full_results"]
    for row in rows:  # seconds are what each run spent (a replay's keep the first run's as seconds_computed)
        row.pop("seconds")
        row["extra"].pop("seconds_computed", None)
    return rows


@pytest.mark.slow
def test_rerun_with_the_embedded_model_is_an_exact_replay(tmp_path: Path) -> None:
    common = ["--steps", "1", "--proposals", "4", "--seed", "3", "--cache", str(tmp_path / "c.sqlite")]
    first = run([*common, "--out", str(tmp_path / "one")])
    from llmopt.backends.local import FORBID_ENV

    second = run([*common, "--out", str(tmp_path / "two")], env={FORBID_ENV: "1"})  # a replay never loads the model
    assert first.returncode == 0 and second.returncode == 0, first.stderr + second.stderr
    assert "0 requests replayed, 1 sent" in first.stderr and "1 requests replayed, 0 sent" in second.stderr
    assert "compared methods: 0 replayed, 7 computed" in first.stderr
    assert "compared methods: 7 replayed, 0 computed" in second.stderr
    assert results(tmp_path / "one") == results(tmp_path / "two")
    off = run([*common, "--no-cache", "--out", str(tmp_path / "three")])
    assert off.returncode == 0 and "replayed" not in off.stderr


@pytest.mark.parametrize("content", [b"this is not a database", b"SQLite format 3\x00" + b"\x00" * 50])
def test_a_broken_cache_file_is_a_one_line_usage_error(tmp_path: Path, content: bytes) -> None:
    broken = tmp_path / "cache.sqlite"
    broken.write_bytes(content)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "llmopt.cli",
            "run",
            "linear-regression",
            "--steps",
            "1",
            "--cache",
            str(broken),
            "--out",
            str(tmp_path / "run"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 2 and "Traceback" not in done.stderr
    (line,) = done.stderr.strip().splitlines()
    assert str(broken) in line and "--no-cache" in line
    assert broken.read_bytes() == content  # the user's file is left as it was


def test_a_replay_keeps_reasoning_apart_and_where_the_limit_cut(tmp_path: Path) -> None:
    from llmopt.backends.base import Completion

    answer = Completion("[1, 2]", 3, 40, reasoning="first I try [9, 9]", reasoning_tokens=30, finish_reason="length")
    cached = CachedBackend(ScriptedBackend([answer, answer]), tmp_path / "c.sqlite")
    first = cached.generate("p", n=1, temperature=1.0, max_tokens=5, seed=1)
    again = CachedBackend(ScriptedBackend([]), tmp_path / "c.sqlite").generate(
        "p", n=1, temperature=1.0, max_tokens=5, seed=1
    )
    assert again == first and again.completions[0] == answer and again.max_tokens == 5


def test_a_response_cache_applies_inside_its_block_only_and_a_named_cache_wins(tmp_path) -> None:
    from llmopt.backends import CachedBackend, make_backend, response_cache

    def made(**kwargs):
        return make_backend("stub", base_url="http://127.0.0.1:9/v1", check=False, server_grammar="none", **kwargs)

    with response_cache(str(tmp_path / "outer.sqlite")):
        with response_cache(None):
            assert not isinstance(made(), CachedBackend)
        inside = made()
        named = made(cache=str(tmp_path / "mine.sqlite"))
    assert isinstance(inside, CachedBackend) and inside.path == tmp_path / "outer.sqlite"
    assert isinstance(named, CachedBackend) and named.path == tmp_path / "mine.sqlite"
    assert not isinstance(made(), CachedBackend), "nothing of the block stays behind"


def test_a_broken_cache_file_names_the_keywords_in_python_and_the_flags_on_the_command_line(tmp_path: Path) -> None:
    from llmopt.cli.options import flag_of
    from llmopt.core.errors import UsageError

    broken = tmp_path / "cache {x}.sqlite"  # braces in the path stay as they are
    broken.write_bytes(b"this is not a database")
    with pytest.raises(UsageError) as refused:
        CachedBackend(ScriptedBackend(["[1, 2]"]), broken)
    assert str(refused.value).endswith("choose another file with cache, or pass no_cache")
    assert str(broken) in str(refused.value)
    assert refused.value.naming(flag_of).endswith("choose another file with --cache, or pass --no-cache")
