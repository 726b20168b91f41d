"""GBNF grammars read as regular expressions: the checker the contract uses against `encode`."""

from __future__ import annotations

import pytest

from llmopt.contract import checks as contract
from llmopt.contract.grammar import to_regex
from llmopt.contract.spaces import Box, Permutation, Text


@pytest.mark.parametrize(
    "grammar, good, bad",
    [
        ('root ::= "[" num ", " num "]"\nnum ::= "-"? [0-9]{1,3}\n', ["[1, -20]", "[999, 0]"], ["[1000, 0]", "[1,2]"]),
        ('root ::= "<t>0" ("," c){2} "</t>"\nc ::= "1" | "2"\n', ["<t>0,1,2</t>", "<t>0,2,2</t>"], ["<t>0,1</t>"]),
        (
            'root ::= "<INS>" [A-Za-z] [^<\\n]{0,5} "</INS>"\n',
            ["<INS>Go now</INS>"],
            ["<INS>1x</INS>", "<INS>a\\nb</INS>"],
        ),
        ('root ::= ("a" | "b")+ "c"?\n', ["abba", "abc"], ["c", ""]),
    ],
)
def test_to_regex_matches_what_the_grammar_admits(grammar: str, good: list[str], bad: list[str]) -> None:
    pattern = to_regex(grammar)
    assert all(pattern.fullmatch(text) for text in good)
    assert not any(pattern.fullmatch(text.replace("\\n", "\n")) for text in bad)


@pytest.mark.parametrize(
    "space",
    [
        Box(((-5000, 5000), (0, 3)), integer=True),
        Box(((-2.048, 2.048),) * 3),
        Permutation(7),
        Permutation(4, start=None),
        Text(pool=("Answer.",)),
    ],
)
def test_every_space_grammar_admits_its_samples(space) -> None:
    import numpy as np

    pattern = to_regex(space.grammar())
    for solution in space.sample(np.random.default_rng(0), 50):
        assert pattern.fullmatch(space.encode(solution)), space.encode(solution)


def test_the_contract_catches_a_grammar_too_narrow_for_the_box(build_problem) -> None:
    problem = build_problem("function")

    class Narrow(type(problem)):
        def grammar(self) -> str:
            return 'root ::= "[" num ", " num "]"\nnum ::= "-"? [0-9]\n'  # one digit: misses 4.5

    narrow = Narrow(problem.fun, [(-5, 5), (-5, 5)])
    with pytest.raises(AssertionError, match="grammar rejects"):
        contract.check_grammar_admits_every_encoding(narrow)


def test_recursive_or_unknown_rules_are_refused() -> None:
    with pytest.raises(ValueError, match="recursive"):
        to_regex('root ::= "a" root?\n')
    with pytest.raises(ValueError, match="unknown rule"):
        to_regex('root ::= "a" missing\n')


def test_rules_may_continue_on_the_next_line_and_bad_text_is_refused() -> None:
    pattern = to_regex('root ::= "[" num "]"\nnum ::= [0-9]+\n  "." [0-9]\n')
    assert pattern.fullmatch("[12.5]") and not pattern.fullmatch("[12]")
    with pytest.raises(ValueError, match="follows nothing"):
        to_regex('root ::= ("a" | +"b")\n')
    with pytest.raises(ValueError, match="cannot read"):
        to_regex('root ::= "a" # a trailing comment\n')
