"""Which test tier a pytest run is: read from its marker expression (`-m`), whose grammar (mark names joined
by `not`, `and`, `or` and parentheses, with Python's precedence) is a subset of Python's own expressions; so
Python's parser reads it, and this module imports nothing of pytest (pytest's own parser is not public).
"""

from __future__ import annotations

import ast
from collections.abc import Collection


def deselects(markexpr: str, mark: str = "slow") -> bool:
    """Whether `-m markexpr` leaves out every test marked `mark` (as `-m "not slow and not gpu"` does); an
    expression this reader cannot parse (a mark with arguments, a mark name with characters a Python name
    cannot hold, such as `-`) leaves nothing out."""
    try:
        return not selects(markexpr, {mark})
    except ValueError:
        return False


def selects(markexpr: str, marks: Collection[str]) -> bool:
    """Whether `-m markexpr` selects a test with `marks` (an empty expression selects every test)."""
    if not markexpr.strip():
        return True
    try:
        tree = ast.parse(markexpr.strip(), mode="eval")
    except SyntaxError as error:
        raise ValueError(f"cannot read {markexpr!r}: {error.msg}") from None
    return _value(tree.body, marks)


def _value(node: ast.expr, marks: Collection[str]) -> bool:
    if isinstance(node, ast.Name):
        return node.id in marks
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        return not _value(node.operand, marks)
    if isinstance(node, ast.BoolOp):
        found = [_value(value, marks) for value in node.values]
        return all(found) if isinstance(node.op, ast.And) else any(found)
    raise ValueError(f"not a mark expression: {ast.unparse(node)!r}")
