"""Property tests for every registered problem's decoder: a solution or InvalidSolution, never a crash.

Decoding time against input length is measured by benchmarks/decoders.py, not asserted here.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from llmopt.contract.problem import InvalidSolution, Problem
from llmopt.contract.registry import registry

ADVERSARIAL = [
    "",
    "[",
    "]",
    "[[[[[[",
    "]]]]",
    "[1, 2",
    "[NaN, inf]",
    "[1e400, -1e400]",
    "[-0, -0.0]",
    "[0x10, 1]",
    "<trace>",
    "</trace>",
    "<trace>0,1</trace><trace>",
    "<INS></INS>",
    "<INS><INS></INS></INS>",
    "[١, ٢]",
    "[１, ２]",
    "⁴²",
    "\u202e[1, 2]",
    "\x00[1,2]\x00",
    "[1,,2]",
    "[ , ]",
    "[+-1, 2]",
    "[1.2.3, 4]",
    "the answer is [w, b]",
    "Propose a new (w, b) pair that differs from every pair above. [w, b]",
    "<trace>0," + ",".join(str(i) for i in range(1, 5000)) + "</trace>",
    "[" + "9" * 5000 + ", 1]",
]


NAMES = sorted(registry())


@pytest.fixture(params=NAMES, name="problem")
def problem_fixture(request: pytest.FixtureRequest, build_problem) -> Problem:
    return build_problem(request.param)


def check(problem: Problem, text: str) -> None:
    try:
        solution = problem.decode(text)
    except InvalidSolution as error:
        assert isinstance(error.reason, str) and error.reason
        return
    assert problem.decode(problem.encode(solution)) == solution


def test_adversarial_strings(problem: Problem) -> None:
    prompt_echo = problem.describe() + problem.format_hint()
    for text in [*ADVERSARIAL, prompt_echo, prompt_echo * 20]:
        check(problem, text)


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    text=st.text(max_size=300)
    | st.from_regex(r"\[[-+0-9eE.,\s nainf]{0,40}\]", fullmatch=True)
    | st.from_regex(r"<trace>[0-9,\s-]{0,40}</trace>", fullmatch=True)
    | st.from_regex(r"<INS>[^<]{0,40}</INS>", fullmatch=True)
)
def test_random_strings(problem: Problem, text: str) -> None:
    check(problem, text)
