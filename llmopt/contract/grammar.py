"""GBNF grammars as Python regular expressions, so a grammar can be checked against what `encode` writes.

Covers the regular part of GBNF that problems use: string literals, character classes, groups,
alternatives, rule references without recursion, and the `? * + {m} {m,n}` repetitions.
"""

from __future__ import annotations

import re

_TOKEN = re.compile(r'\s*("(?:\\.|[^"\\])*"|\[(?:\\.|[^\]\\])*\]|[A-Za-z][\w-]*|\{\d+(?:,\d*)?\}|[()|?*+])')
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\"}


def _rules(grammar: str) -> dict[str, str]:
    """Rule name -> body; a line without `::=` continues the rule before it; `#` lines are comments."""
    rules: dict[str, str] = {}
    name = None
    for line in grammar.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if "::=" in line:
            name, _, body = line.partition("::=")
            name = name.strip()
            rules[name] = body.strip()
        elif name is None:
            raise ValueError(f"grammar text before the first rule: {line.strip()!r}")
        else:
            rules[name] += " " + line.strip()
    return rules


def _tokens(body: str) -> list[str]:
    tokens, at = [], 0
    while body[at:].strip():
        found = _TOKEN.match(body, at)
        if found is None:
            raise ValueError(f"cannot read the grammar at {body[at : at + 20]!r}")
        tokens.append(found.group(1))
        at = found.end()
    return tokens


def _literal(token: str) -> str:
    text = re.sub(r"\\(.)", lambda m: _ESCAPES.get(m.group(1), m.group(1)), token[1:-1])
    return re.escape(text)


def _atom(token: str, rules: dict[str, str], seen: tuple[str, ...]) -> str:
    if token.startswith('"'):
        return _literal(token)
    if token.startswith("["):
        return token.replace("\\n", "\n")
    if token not in rules:
        raise ValueError(f"unknown rule {token!r}")
    if token in seen:
        raise ValueError(f"recursive rule {token!r} is not regular")
    return f"(?:{_expression(_tokens(rules[token]), rules, seen + (token,))})"


def _expression(tokens: list[str], rules: dict[str, str], seen: tuple[str, ...]) -> str:
    alternatives, current, depth, group = [], [], 0, []
    for token in tokens:
        if depth:
            depth += {"(": 1, ")": -1}.get(token, 0)
            if depth:
                group.append(token)
            else:
                current.append(f"(?:{_expression(group, rules, seen)})")
        elif token == "(":
            depth, group = 1, []
        elif token == "|":
            alternatives.append("".join(current))
            current = []
        elif token in ("?", "*", "+") or token.startswith("{"):
            if not current:
                raise ValueError(f"the repetition {token!r} follows nothing")
            current[-1] += token
        else:
            current.append(_atom(token, rules, seen))
    return "|".join([*alternatives, "".join(current)])


def to_regex(grammar: str, root: str = "root") -> re.Pattern[str]:
    """The regular expression that matches exactly the texts the grammar's `root` admits."""
    rules = _rules(grammar)
    return re.compile(_expression(_tokens(rules[root]), rules, (root,)), flags=re.DOTALL)
