"""The embedded model through llama-cpp-python, in-process."""

from __future__ import annotations

from llmopt.backends.local import default_model_path
from llmopt.methods.model.metaprompt import render
from llmopt.problems.linear_regression import LinearRegression

PROBLEM = LinearRegression()
PROMPT = render(PROBLEM, [("[12, 19]", 20000.0), ("[16, 11]", 3000.0)])


def test_model_file_comes_from_the_package() -> None:
    path = default_model_path()
    assert path.suffix == ".gguf" and path.stat().st_size > 10_000_000
    assert "site-packages" in str(path)


def test_grammar_makes_every_proposal_valid(local_backend) -> None:
    generation = local_backend.generate(PROMPT, n=8, temperature=1.0, max_tokens=24, seed=3, grammar=PROBLEM.grammar())
    assert len(generation.completions) == 8 and generation.calls == 8
    for completion in generation.completions:
        PROBLEM.decode(completion.text)
    assert generation.prompt_tokens > 50 and generation.completion_tokens > 0


def test_same_seed_same_samples(local_backend) -> None:
    kwargs = dict(n=3, temperature=1.0, max_tokens=24, seed=11, grammar=PROBLEM.grammar())
    one = [c.text for c in local_backend.generate(PROMPT, **kwargs).completions]
    two = [c.text for c in local_backend.generate(PROMPT, **kwargs).completions]
    assert one == two


def test_without_grammar_text_is_free(local_backend) -> None:
    generation = local_backend.generate(PROMPT, n=2, temperature=0.0, max_tokens=32, seed=0)
    assert all(isinstance(c.text, str) and c.text for c in generation.completions)


def test_the_context_is_the_one_the_model_was_trained_for(local_backend) -> None:
    import struct

    # the GGUF header's own value, read here by hand: key "llama.context_length", a uint32
    data = local_backend.model_path.read_bytes()[: 1 << 20]
    key = b"llama.context_length"
    at = data.index(struct.pack("<Q", len(key)) + key) + 8 + len(key)
    assert struct.unpack("<I", data[at : at + 4]) == (4,)  # the value's type: uint32
    assert local_backend.context_window() == struct.unpack("<I", data[at + 4 : at + 8])[0] == 8192


def test_a_prompt_that_cannot_fit_is_refused_with_the_fix(local_backend) -> None:
    import pytest

    from llmopt.core.errors import PromptTooLong

    long_prompt = "0 1 " * 5000
    with pytest.raises(
        PromptTooLong, match=r"do not fit the model's context of 8192 tokens; show fewer solutions \(top_k\)"
    ) as refused:
        local_backend.generate(long_prompt, n=1, temperature=1.0, max_tokens=16, seed=0)
    from llmopt.cli.options import flag_of

    assert "show fewer solutions (--top-k)" in refused.value.naming(flag_of), "the CLI names the flag"
    fits = local_backend.generate("Say yes.", n=1, temperature=1.0, max_tokens=4, seed=0)
    assert len(fits.completions) == 1, "the model still answers after a refusal"


def test_a_run_whose_fullest_prompt_cannot_fit_is_refused_before_any_evaluation(model_path, tmp_path) -> None:
    import subprocess
    import sys

    (tmp_path / "objs.py").write_text("calls = []\ndef bitsum(x):\n    return float(sum(x))\n")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "llmopt.cli",
            "run",
            "function",
            "--function",
            "objs:bitsum",
            "--space",
            "bits:800",
            "--steps",
            "3",
            "--methods",
            "opro",
            "random-search",
            "--no-cache",
            "--out",
            str(tmp_path / "run"),
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
    )
    import re

    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    assert "(20 solutions shown)" in done.stderr and "more than the model's context of 8192" in done.stderr
    assert re.search(r"show at most ([1-9]|1[0-9]) \(--top-k \1\)", done.stderr), done.stderr
    assert not (tmp_path / "run" / "steps.jsonl").exists(), "refused before anything was evaluated"


def _no_answer_cut_off(local_backend, name: str, options: dict) -> None:
    from llmopt import OPRO, OPROConfig
    from llmopt.contract.registry import build_problem

    problem = build_problem(name, options)
    # one start point: a short prompt, the long answers are what is tested
    result = OPRO(problem, local_backend, OPROConfig(steps=1, proposals=2, initial=1, seed=0)).run()
    assert result.counts.proposals == 2
    assert not [reason for reason in result.counts.invalid if reason.startswith("answer cut off")], (
        result.counts.invalid
    )
    longest = local_backend.count_tokens(problem.encode(problem.space.longest()))
    assert result.extra["answer_tokens"] == max(128, longest + 64) > longest, "the limit the run used is recorded"


def test_a_200_item_knapsack_answer_is_never_cut_off_at_the_default(local_backend) -> None:
    _no_answer_cut_off(local_backend, "knapsack", {"items": 200})


def test_a_100_city_tour_is_never_cut_off_at_the_default(local_backend) -> None:
    _no_answer_cut_off(local_backend, "tsp", {"cities": 100})
