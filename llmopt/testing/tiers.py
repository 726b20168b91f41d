"""Which test tier a pytest run is: read from its marker expression the way pytest itself reads it."""

from __future__ import annotations


def deselects(markexpr: str, mark: str = "slow") -> bool:
    """Whether `-m markexpr` leaves out every test marked `mark` (as `-m "not slow and not gpu"` does)."""
    if not markexpr.strip():
        return False
    from _pytest.mark.expression import Expression  # pytest's own parser, so no spelling of it is missed

    return not Expression.compile(markexpr).evaluate(lambda name, **_: name == mark)
