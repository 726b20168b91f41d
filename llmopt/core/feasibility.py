"""Deb's feasibility rules, written once: constraint values in Optuna's convention (<= 0 satisfied, > 0 the
amount of violation), a solution's total violation, and the rank every method, table and meta-prompt uses.

Deb (2000), "An efficient constraint handling method for genetic algorithms": any feasible solution beats
any infeasible one; feasible ones compare by value, infeasible ones by their total violation.
"""

from __future__ import annotations

from collections.abc import Sequence

from llmopt.core.direction import to_loss


def violation(constraints: Sequence[float] | None) -> float:
    """The total violation: the sum of the positive constraint values (0 for none or all satisfied)."""
    return float(sum(c for c in constraints or () if c > 0))


def feasible(constraints: Sequence[float] | None) -> bool:
    """Whether every constraint is satisfied (a solution without constraints is feasible)."""
    return violation(constraints) == 0


def rank_key(value: float, constraints: Sequence[float] | None, direction: str) -> tuple[int, float]:
    """The sort key of Deb's rules, lower first: (0, the loss) for a feasible solution, (1, its violation)
    for an infeasible one."""
    broken = violation(constraints)
    return (1, broken) if broken > 0 else (0, to_loss(value, direction))


def deb_better(
    direction: str, a: float, a_constraints: Sequence[float] | None, b: float, b_constraints: Sequence[float] | None
) -> bool:
    """Whether solution a (value, constraints) is strictly better than b by Deb's rules."""
    return rank_key(a, a_constraints, direction) < rank_key(b, b_constraints, direction)


def broken_count(constraints: Sequence[float] | None) -> int:
    """How many constraints are violated."""
    return sum(1 for c in constraints or () if c > 0)
