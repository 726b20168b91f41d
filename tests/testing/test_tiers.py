"""The fast-tier guard reads pytest's marker expression, not its spelling."""

from __future__ import annotations

import pytest

from llmopt.testing.tiers import deselects


@pytest.mark.parametrize(
    "expression",
    ["not slow", "not  slow", "not slow and not gpu", "(not slow)", "not (slow or gpu)", "gpu and not slow"],
)
def test_an_expression_that_leaves_out_slow_tests_is_the_fast_tier(expression: str) -> None:
    assert deselects(expression)


@pytest.mark.parametrize("expression", ["", "slow", "not gpu", "slow or not slow", "not slower"])
def test_an_expression_that_may_keep_slow_tests_is_not(expression: str) -> None:
    assert not deselects(expression)
