"""Solution spaces: where a problem's solutions live, with their text form, grammar and sampling.

A problem declares its space; every method written for that space (`llmopt.methods`) then
applies to it, and the problem's encoder, decoder, grammar and random start points come with it.
"""

from __future__ import annotations

import abc
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from llmopt.contract.parsing import format_number, last_bracketed, last_tagged, parse_decimal
from llmopt.core.errors import InvalidSolution, did_you_mean

Point = tuple[float, ...]
Tour = tuple[int, ...]
Bitvector = tuple[int, ...]

# Continuous coordinates are kept (and written to the model) at this many decimals.
DECIMALS = 4
_INDEX = re.compile(r"\d{1,7}")


class Space(abc.ABC):
    """A set of solutions and how a model writes one down."""

    @abc.abstractmethod
    def encode(self, solution: Any) -> str:
        """The text form of a solution, exactly as the model should write it."""

    @abc.abstractmethod
    def decode(self, text: str) -> Any:
        """The solution written in `text`; raises `InvalidSolution` with a reason otherwise."""

    @abc.abstractmethod
    def sample(self, rng: np.random.Generator, k: int) -> list[Any]:
        """k random solutions."""

    def grammar(self) -> str | None:
        """A GBNF grammar that admits exactly the well-formed answers, or None."""
        return None

    def longest(self) -> Any:
        """A solution whose text is as long as any solution's can be (the answer limit is sized on it): here
        the longest of a few samples, exact where every solution's text is as long (orderings, bit vectors)."""
        return longest_sampled(self)


def longest_sampled(space: Any, k: int = 16) -> Any:
    """The solution with the longest text among `k` seeded samples of `space`."""
    return max(space.sample(np.random.default_rng(0), k), key=lambda solution: len(space.encode(solution)))


def _tagged(tag: str, body: str) -> str:
    return f"<{tag}>{body}</{tag}>"


def _inside(text: str, tag: str) -> str:
    """The content of the last `<tag>…</tag>` in the text; its absence is a rejection."""
    found = last_tagged(text, f"<{tag}>", f"</{tag}>")
    if found is None:
        raise InvalidSolution(f"no {tag} found")
    return found


@dataclass(frozen=True)
class Box(Space):
    """Vectors of continuous or integer variables, each within [low, high]; written `[x1, x2]`."""

    bounds: tuple[tuple[float, float], ...]
    integer: bool = False
    names: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        bounds = tuple((float(lo), float(hi)) for lo, hi in self.bounds)
        if not bounds:
            raise ValueError("a box needs at least one variable")
        if any(not (math.isfinite(lo) and math.isfinite(hi) and lo < hi) for lo, hi in bounds):
            raise ValueError("every bound needs finite LO < HI")
        object.__setattr__(self, "bounds", bounds)
        if not self.names:
            object.__setattr__(self, "names", tuple(f"x{i + 1}" for i in range(len(bounds))))
        if len(self.names) != len(bounds):
            raise ValueError("one name per variable")

    @property
    def dim(self) -> int:
        """Number of variables."""
        return len(self.bounds)

    @property
    def lows(self) -> np.ndarray:
        """Lower bounds as an array."""
        return np.array([lo for lo, _ in self.bounds])

    @property
    def highs(self) -> np.ndarray:
        """Upper bounds as an array."""
        return np.array([hi for _, hi in self.bounds])

    def snap(self, x: Sequence[float] | np.ndarray) -> Point:
        """The solution nearest to x: clipped to the box, then rounded to integers or to DECIMALS."""
        clipped = np.clip(np.asarray(x, dtype=float), self.lows, self.highs)
        if self.integer:
            rounded = np.clip(np.round(clipped), np.ceil(self.lows), np.floor(self.highs))
            return tuple(int(v) for v in rounded)
        return tuple(float(round(v, DECIMALS)) + 0.0 for v in clipped)

    def longest(self) -> Point:
        """Each coordinate at its widest: the bound with the most digits (and a sign), moved inside by a
        fraction with every decimal written."""

        def widest(lo: float, hi: float) -> float:
            edge, inward = (lo, 1) if len(format_number(int(lo))) >= len(format_number(int(hi))) else (hi, -1)
            return edge + inward * min(0.1235, (hi - lo) / 2) if not self.integer else edge

        return self.snap([widest(lo, hi) for lo, hi in self.bounds])

    def sample(self, rng: np.random.Generator, k: int) -> list[Point]:
        """k points drawn uniformly from the box, snapped."""
        return [self.snap(rng.uniform(self.lows, self.highs)) for _ in range(k)]

    def encode(self, solution: Point) -> str:
        """`[x1, x2, …]`."""
        return "[" + ", ".join(format_number(v) for v in solution) + "]"

    def decode(self, text: str) -> Point:
        """The last bracketed vector; wrong length, non-numbers, non-integers and points outside are rejected."""
        found = last_bracketed(text)
        if found is None:
            raise InvalidSolution(f"no [{', '.join(self.names)}] found")
        tokens = found.split(",")
        if len(tokens) != self.dim:
            raise InvalidSolution("wrong length")
        return tuple(self._coordinate(token, lo, hi) for token, (lo, hi) in zip(tokens, self.bounds))

    def _coordinate(self, token: str, lo: float, hi: float) -> float:
        value = parse_decimal(token)
        if value is None:
            raise InvalidSolution("not a number")
        if not math.isfinite(value):
            raise InvalidSolution("not a finite number")
        if self.integer and not value.is_integer():
            raise InvalidSolution("not an integer")
        if not lo <= value <= hi:
            raise InvalidSolution("out of bounds")
        return int(value) if self.integer else value

    def grammar(self) -> str:
        """GBNF for a vector of the right length whose numbers reach every point of the box."""
        widest = max(abs(v) for bound in self.bounds for v in bound)
        digits = len(str(int(widest)))
        sign = '"-"? ' if min(lo for lo, _ in self.bounds) < 0 else ""
        number = f"{sign}[0-9]{{1,{digits}}}" + ("" if self.integer else f' ("." [0-9]{{1,{DECIMALS}}})?')
        rest = ' ", " num' * (self.dim - 1)
        return f'root ::= "[" num{rest} "]"\nnum ::= {number}\n'


@dataclass(frozen=True)
class Permutation(Space):
    """Orderings of the items 0..n-1, optionally starting at a fixed item; written `<tag>0,2,1</tag>`."""

    n: int
    start: int | None = 0
    tag: str = "trace"
    item: str = "city"
    items: str = "cities"

    def __post_init__(self) -> None:
        if self.n < 2:
            raise ValueError("a permutation needs at least 2 items")
        if self.start is not None and not 0 <= self.start < self.n:
            raise ValueError("the fixed start must be one of the items")

    def sample(self, rng: np.random.Generator, k: int) -> list[Tour]:
        """k uniformly random orderings (with the fixed start first)."""
        return [self.normalise(rng.permutation(self.n)) for _ in range(k)]

    def normalise(self, order: Sequence[int] | np.ndarray) -> Tour:
        """The ordering as a tuple of ints, moved to begin at the fixed start when there is one."""
        items = [int(c) for c in order]
        if self.start is not None:
            k = items.index(self.start)
            items = items[k:] + items[:k]
        return tuple(items)

    def encode(self, solution: Tour) -> str:
        """`<trace>0,3,1,2</trace>`."""
        return _tagged(self.tag, ",".join(str(c) for c in solution))

    def decode(self, text: str) -> Tour:
        """The last tagged ordering, checked to hold every item once; one reason per defect."""
        tokens = [t.strip() for t in _inside(text, self.tag).split(",")]
        if not all(_INDEX.fullmatch(t) for t in tokens):
            raise InvalidSolution("non-integer entry")
        items = [int(t) for t in tokens]
        if any(c >= self.n for c in items):
            raise InvalidSolution(f"unknown {self.item}")
        if len(set(items)) != len(items):
            raise InvalidSolution(f"repeated {self.item}")
        if len(items) != self.n:
            raise InvalidSolution(f"missing {self.items}")
        if self.start is not None and items[0] != self.start:
            raise InvalidSolution("wrong start")
        return tuple(items)

    def grammar(self) -> str:
        """GBNF: the tags, the fixed start first (if any), then exactly the right number of known items."""
        rest = [c for c in range(self.n) if c != self.start]
        names = " | ".join(f'"{c}"' for c in rest)
        if self.start is None:
            body = f'item ("," item){{{self.n - 1}}}'
        else:
            body = f'"{self.start}" ("," item){{{self.n - 1}}}'
        return f'root ::= "<{self.tag}>" {body} "</{self.tag}>"\nitem ::= {names}\n'


@dataclass(frozen=True)
class Bits(Space):
    """Vectors of n bits (a subset of n items, or n yes/no choices); written `<bits>0110</bits>`.

    One token a bit for most tokenizers, so 100 bits stay short in a meta-prompt; the decoder also
    accepts the bits separated by commas or spaces.
    """

    n: int
    tag: str = "bits"

    def __post_init__(self) -> None:
        if self.n < 1:
            raise ValueError("a bit vector needs at least one bit")

    def snap(self, values: Sequence[Any]) -> Bitvector:
        """The bit vector of n values read as truth values (a library's 0/1 choices, floats or bools)."""
        if len(values) != self.n:
            raise ValueError(f"expected {self.n} bits, got {len(values)}")
        return tuple(1 if round(float(v)) else 0 for v in values)

    def sample(self, rng: np.random.Generator, k: int) -> list[Bitvector]:
        """k uniformly random vectors."""
        return [tuple(int(b) for b in rng.integers(0, 2, self.n)) for _ in range(k)]

    def encode(self, solution: Bitvector) -> str:
        """`<bits>0110</bits>`."""
        return _tagged(self.tag, "".join(str(b) for b in solution))

    def decode(self, text: str) -> Bitvector:
        """The last tagged vector (commas and spaces between bits allowed), checked to hold n bits."""
        bits = "".join(_inside(text, self.tag).replace(",", " ").split())
        if any(b not in "01" for b in bits):
            raise InvalidSolution("not 0/1")
        if len(bits) != self.n:
            raise InvalidSolution("wrong length")
        return tuple(int(b) for b in bits)

    def grammar(self) -> str:
        """GBNF: the tags around exactly n bits."""
        return f'root ::= "<{self.tag}>" [01]{{{self.n}}} "</{self.tag}>"\n'


@dataclass(frozen=True)
class Text(Space):
    """Free text of bounded length, written between tags (or, failing that, in square brackets).

    `pool` holds generic starting texts; `handwritten` the named texts a person would try, which
    the text space's black-box methods evaluate as they are.
    """

    max_length: int = 300
    tag: str = "INS"
    label: str = "text"
    pool: tuple[str, ...] = ()
    handwritten: dict[str, str] = field(default_factory=dict)

    def sample(self, rng: np.random.Generator, k: int) -> list[str]:
        """k texts of the pool, in seeded order."""
        if not self.pool:
            raise ValueError("this text space has no pool of starting texts")
        order = rng.permutation(len(self.pool))
        return [self.pool[i] for i in order[:k]]

    def longest(self) -> str:
        """The longest text the space takes, written densely (digits and signs cost a tokenizer most)."""
        return ("x=3.14; " * (self.max_length // 8 + 1))[: self.max_length].strip()

    def encode(self, solution: str) -> str:
        """`<INS>text</INS>`."""
        return _tagged(self.tag, solution)

    def decode(self, text: str) -> str:
        """The last tagged text (tags in any case), or else the last bracketed one, with spaces tidied."""
        found = last_tagged(text, f"<{self.tag}>", f"</{self.tag}>", ignore_case=True)
        if found is None:
            found = last_bracketed(text)
        if found is None:
            raise InvalidSolution(f"no {self.label} found")
        tidy = " ".join(found.split())
        if not tidy:
            raise InvalidSolution(f"empty {self.label}")
        if len(tidy) > self.max_length:
            raise InvalidSolution(f"{self.label} too long")
        return tidy

    def grammar(self) -> str:
        """GBNF: one short line between the tags, starting with a letter."""
        return f'root ::= "<{self.tag}>" [A-Za-z] [^<\\n]{{0,100}} "</{self.tag}>"\n'


def parse_space(text: str) -> Bits | Permutation:
    """`bits:16` → Bits(16); `permutation:8` → orderings of 8 items (no fixed start)."""
    kind, _, size = text.partition(":")
    kinds = ("bits", "permutation")
    if kind not in kinds:
        near = [k for k in kinds if kind and k.startswith(kind)]
        hint = f" (did you mean {near[0]}:{size or 'N'}?)" if near else did_you_mean(kind, kinds)
        raise ValueError(f"a combinatorial space is bits:N or permutation:N with N >= 2, not {text!r}{hint}")
    if not size.isdigit() or int(size) < 2:
        raise ValueError(
            f"{kind}:N needs a whole number N >= 2 (the {'bits' if kind == 'bits' else 'items'}), not {size!r}"
        )
    if kind == "bits":
        return Bits(int(size))
    return Permutation(int(size), start=None, tag="order", item="item", items="items")


def space_text(space: Bits | Permutation) -> str:
    """The `--space` text of a combinatorial space."""
    return f"bits:{space.n}" if isinstance(space, Bits) else f"permutation:{space.n}"
