"""The fast-tier guard reads pytest's marker expression as pytest does, not by its spelling."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from llmopt.testing.tiers import deselects, selects

FAST = ["not slow", "not  slow", "not slow and not gpu", "(not slow)", "not (slow or gpu)", "gpu and not slow"]
MAYBE_SLOW = ["", "slow", "not gpu", "slow or not slow", "not slower", "slow and not gpu"]


@pytest.mark.parametrize("expression", FAST)
def test_an_expression_that_leaves_out_slow_tests_is_the_fast_tier(expression: str) -> None:
    assert deselects(expression)


@pytest.mark.parametrize("expression", MAYBE_SLOW)
def test_an_expression_that_may_keep_slow_tests_is_not(expression: str) -> None:
    assert not deselects(expression)


def test_precedence_is_pytests_not_before_and_before_or() -> None:
    assert selects("not a and b or c", {"c"}) and not selects("not (a and b or c)", {"c"})
    assert selects("a or b and c", {"a"}) and not selects("(a or b) and c", {"a"})


@pytest.mark.parametrize("expression", ["not", "slow and", "(not slow", "not slow)", "slow(reason='x')", "not my-mark"])
def test_an_expression_it_cannot_read_leaves_nothing_out(expression: str) -> None:
    with pytest.raises(ValueError):
        selects(expression, {"slow"})
    assert not deselects(expression)


def test_it_agrees_with_pytests_own_selection(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """pytest itself, through its command line and a public hook, decides whether a slow test is left out."""
    probe = tmp_path / "test_tier_probe.py"
    probe.write_text("import pytest\n\n@pytest.mark.slow\ndef test_slow():\n    pass\n")
    (tmp_path / "pytest.ini").write_text("[pytest]\nmarkers =\n    slow\n    gpu\n")

    class Deselected:
        def __init__(self) -> None:
            self.items: list[pytest.Item] = []

        def pytest_deselected(self, items: list[pytest.Item]) -> None:
            self.items += items

    args = ["--collect-only", "-q", "-p", "no:cacheprovider", "-c", str(tmp_path / "pytest.ini"), str(probe)]
    monkeypatch.setattr(sys, "path", list(sys.path))  # a run may put the probe's folder on the path
    try:
        for expression in FAST + MAYBE_SLOW:
            seen = Deselected()
            code = pytest.main([*args, "-m", expression], plugins=[seen])
            assert code in (pytest.ExitCode.OK, pytest.ExitCode.NO_TESTS_COLLECTED), expression
            assert deselects(expression) is bool(seen.items), expression
    finally:  # the probe module is imported by each run, then forgotten
        for name, module in list(sys.modules.items()):
            if str(getattr(module, "__file__", None) or "").startswith(str(tmp_path)):
                del sys.modules[name]
