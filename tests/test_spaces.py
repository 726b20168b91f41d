"""Solution spaces: text forms round-trip, decoders give one reason per defect, grammars fit the space."""

from __future__ import annotations

import re

import numpy as np
import pytest

from llmopt.contract.problem import InvalidSolution
from llmopt.contract.spaces import Box, Permutation, Text


def reason(space, text: str) -> str:
    with pytest.raises(InvalidSolution) as caught:
        space.decode(text)
    return caught.value.reason


@pytest.mark.parametrize(
    "space",
    [
        Box(((-5, 5), (0, 10))),
        Box(((-5000, 5000),) * 3, integer=True),
        Box(((0, 1),), names=("p",)),
        Permutation(6),
        Permutation(5, start=None, tag="order"),
        Text(pool=("a", "b", "c")),
    ],
)
def test_samples_round_trip_through_their_text(space) -> None:
    for solution in space.sample(np.random.default_rng(0), 20):
        assert space.decode(space.encode(solution)) == solution


def test_box_snaps_to_the_precision_it_keeps() -> None:
    box = Box(((-1, 1), (-1, 1)))
    assert box.snap([0.123456, 7.0]) == (0.1235, 1.0)
    assert Box(((-3, 3),), integer=True).snap([2.6]) == (3,)


def test_box_reasons() -> None:
    box = Box(((-5, 5), (0, 10)), integer=True, names=("w", "b"))
    assert reason(box, "w = 1") == "no [w, b] found"
    assert reason(box, "[1, 2, 3]") == "wrong length"
    assert reason(box, "[one, 2]") == "not a number"
    assert reason(box, "[1e400, 2]") == "not a finite number"
    assert reason(box, "[1.5, 2]") == "not an integer"
    assert reason(box, "[6, 2]") == "out of bounds"


def test_box_grammar_reaches_every_point_of_wide_boxes() -> None:
    grammar = Box(((-5000, 5000), (0, 3)), integer=True).grammar()
    assert "[0-9]{1,4}" in grammar and '"-"?' in grammar and '"."' not in grammar
    continuous = Box(((0, 1), (0, 2))).grammar()
    assert '"-"' not in continuous and "[0-9]{1,4})?" in continuous


def test_permutation_reasons_and_fixed_start() -> None:
    space = Permutation(4, start=0)
    assert reason(space, "0,1,2,3") == "no trace found"
    assert reason(space, "<trace>0,1,x,3</trace>") == "non-integer entry"
    assert reason(space, "<trace>0,1,2,7</trace>") == "unknown city"
    assert reason(space, "<trace>0,1,1,3</trace>") == "repeated city"
    assert reason(space, "<trace>0,1,2</trace>") == "missing cities"
    assert reason(space, "<trace>1,0,2,3</trace>") == "wrong start"
    assert space.normalise([2, 3, 0, 1]) == (0, 1, 2, 3)
    free = Permutation(4, start=None)
    assert free.decode("<trace>1,0,2,3</trace>") == (1, 0, 2, 3)


def test_permutation_grammar_names_every_item_once_per_slot() -> None:
    grammar = Permutation(5, start=0).grammar()
    assert '"<trace>" "0" ("," item){4} "</trace>"' in grammar
    assert re.findall(r'"(\d)"', grammar.split("item ::=")[1]) == ["1", "2", "3", "4"]


def test_text_reasons_and_bracket_fallback() -> None:
    space = Text(max_length=12, label="instruction")
    assert space.decode("x <ins> Be  brief. </INS>") == "Be brief."
    assert space.decode("answer: [Think first.]") == "Think first."
    assert reason(space, "nothing here") == "no instruction found"
    assert reason(space, "<INS>   </INS>") == "empty instruction"
    assert reason(space, "<INS>" + "a" * 13 + "</INS>") == "instruction too long"


def test_spaces_reject_impossible_definitions() -> None:
    with pytest.raises(ValueError):
        Box(((1, 0),))
    with pytest.raises(ValueError):
        Permutation(1)
    with pytest.raises(ValueError):
        Permutation(3, start=5)


def test_bits_reasons_and_grammar() -> None:
    from llmopt.contract.grammar import to_regex
    from llmopt.contract.spaces import Bits

    space = Bits(4)
    assert space.decode("x <bits>1, 0,1,1</bits>") == (1, 0, 1, 1)
    assert reason(space, "1,0,1,1") == "no bits found"
    assert reason(space, "<bits>1,2,0,1</bits>") == "not 0/1"
    assert reason(space, "<bits>1,0,1</bits>") == "wrong length"
    pattern = to_regex(space.grammar())
    assert pattern.fullmatch("<bits>0110</bits>") and not pattern.fullmatch("<bits>011</bits>")
    assert space.encode((0, 1, 1, 0)) == "<bits>0110</bits>" and space.decode("<bits>0 1 1 0</bits>") == (0, 1, 1, 0)


def test_the_longest_solution_of_each_space_writes_the_longest_text() -> None:
    import numpy as np

    from llmopt.contract.spaces import Bits, Box, Permutation, Text

    rng = np.random.default_rng(3)
    for space in [
        Box(((-5, 5), (0, 1000))),
        Box(((-12, 3),), integer=True),
        Permutation(30),
        Bits(40),
        Text(max_length=60),
    ]:
        longest = len(space.encode(space.longest()))
        others = space.sample(rng, 50) if not isinstance(space, Text) else ["short", "a b c d e f"]
        assert all(len(space.encode(other)) <= longest for other in others), space
        assert space.decode(space.encode(space.longest())) == space.longest(), "a solution of the space"
    assert Box(((-5, 5), (0, 1000))).encode(Box(((-5, 5), (0, 1000))).longest()) == "[-4.8765, 999.8765]"


def test_the_answer_limit_fits_the_longest_answer() -> None:
    from llmopt.methods.model.answers import answer_tokens_for

    assert answer_tokens_for("[1, 2]") == 128, "small spaces keep the limit they always had"
    assert answer_tokens_for("<bits>" + "1" * 200 + "</bits>") == 213 + 64, "one token per byte without a tokenizer"
    assert answer_tokens_for("x" * 500, count=lambda text: len(text) // 4) == 125 + 64
    assert answer_tokens_for(None) == 128
