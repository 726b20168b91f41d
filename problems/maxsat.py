"""(Weighted) MaxSAT: an assignment of boolean variables that leaves the least weight of soft clauses
unsatisfied and breaks no hard clause. DIMACS CNF and WCNF files, or random 3-SAT."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from llmopt.contract.evaluation import Evaluation
from llmopt.contract.problem import InvalidSolution, Option, Problem, digest
from llmopt.contract.spaces import Bits, Bitvector

WALKSAT_FLIPS = 5_000
NAMED_CLAUSES = 5  # unsatisfied clauses the feedback writes out: the first few, in the formula's order


class CNFFileError(ValueError):
    """A CNF or WCNF file that does not follow the format; the message names file and line."""


@dataclass(frozen=True)
class Formula:
    """Clauses as tuples of non-zero literals (-3 is "x3 is false"), their weights, and which are hard."""

    n_vars: int
    clauses: tuple[tuple[int, ...], ...]
    weights: tuple[float, ...]
    hard: tuple[bool, ...]
    name: str


def random_3sat(n_vars: int, ratio: float, seed: int) -> Formula:
    """Uniform random 3-SAT: round(ratio × n) clauses of three distinct variables with random signs."""
    if n_vars < 3 or not ratio > 0:
        raise ValueError("--vars must be at least 3 and --ratio positive")
    rng = np.random.default_rng(seed)
    clauses = []
    for _ in range(round(ratio * n_vars)):
        variables = rng.choice(np.arange(1, n_vars + 1), size=3, replace=False)
        signs = rng.choice([-1, 1], size=3)
        clauses.append(tuple(int(v * s) for v, s in zip(variables, signs)))
    return Formula(
        n_vars, tuple(clauses), (1.0,) * len(clauses), (False,) * len(clauses), f"3sat-{n_vars}-{ratio:g}-seed{seed}"
    )


def read_formula(path: str | Path) -> Formula:
    """A DIMACS CNF file (every clause weight 1), or a WCNF file in the `p wcnf` or the `h`/weight form.

    Clauses may span lines or share one, as DIMACS allows; each ends with 0.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise CNFFileError(f"{path}: cannot read it ({error})") from None
    header, tokens = None, []
    for number, line in enumerate(text.splitlines(), 1):
        fields = line.split()
        if not fields or fields[0] == "c":
            continue
        if fields[0] == "%":  # SATLIB's files end their clauses with a '%' line
            break
        if fields[0] == "p":
            header = _header(path, number, fields)
            continue
        tokens += [(number, field) for field in fields]
    if header is None and path.suffix != ".wcnf":
        raise CNFFileError(f"{path}: no 'p cnf' or 'p wcnf' line (a headerless file must be a .wcnf with 'h' lines)")
    kind, n_vars, count, top = header or ("wcnf", 0, None, None)
    clauses, weights, hard = _clauses(path, tokens, kind == "wcnf", top)
    if not clauses:
        raise CNFFileError(f"{path}: no clauses")
    if count is not None and len(clauses) != count:
        raise CNFFileError(f"{path}: the p line announces {count} clauses, the file holds {len(clauses)}")
    n_vars = n_vars or max(abs(lit) for c in clauses for lit in c)
    if any(abs(lit) > n_vars for c in clauses for lit in c):
        raise CNFFileError(f"{path}: a literal names a variable above {n_vars}, the p line's count")
    return Formula(n_vars, tuple(clauses), tuple(weights), tuple(hard), path.stem)


def _header(path: Path, number: int, fields: list[str]) -> tuple[str, int, int, float | None]:
    if len(fields) < 4 or fields[1] not in ("cnf", "wcnf") or not all(f.isdigit() for f in fields[2:4]):
        raise CNFFileError(f"{path}:{number}: expected 'p cnf VARS CLAUSES' or 'p wcnf VARS CLAUSES [TOP]'")
    top = _weight(path, number, fields[4]) if fields[1] == "wcnf" and len(fields) > 4 else None
    return fields[1], int(fields[2]), int(fields[3]), top


def _clauses(
    path: Path, tokens: list[tuple[int, str]], weighted: bool, top: float | None
) -> tuple[list[tuple[int, ...]], list[float], list[bool]]:
    """Read clauses off the token stream: [weight or 'h'] literals... 0."""
    clauses, weights, hard, at = [], [], [], 0
    while at < len(tokens):
        number, first = tokens[at]
        weight, is_hard = 1.0, False
        if weighted:
            is_hard = first == "h"
            weight = math.inf if is_hard else _weight(path, number, first)
            is_hard = is_hard or (top is not None and weight >= top)
            at += 1
        literals = []
        while at < len(tokens) and tokens[at][1] != "0":
            literals.append(_literal(path, *tokens[at]))
            at += 1
        if at == len(tokens) or not literals:
            raise CNFFileError(f"{path}:{number}: a clause needs literals and must end with 0")
        at += 1
        clauses.append(tuple(literals))
        weights.append(1.0 if is_hard else weight)
        hard.append(is_hard)
    return clauses, weights, hard


def _weight(path: Path, number: int, text: str) -> float:
    try:
        weight = float(text)
    except ValueError:
        weight = math.nan
    if not (math.isfinite(weight) and weight > 0):
        raise CNFFileError(f"{path}:{number}: a weight must be a positive finite number, got {text!r}")
    return weight


def _literal(path: Path, number: int, text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise CNFFileError(f"{path}:{number}: a clause holds whole numbers only, got {text!r}") from None


class MaxSAT(Problem):
    """Minimise the total weight of unsatisfied soft clauses; an assignment breaking a hard clause is invalid."""

    gives_feedback = True  # every evaluation says why it scores as it does

    name = "maxsat"
    summary = "MaxSAT: assign boolean variables by bits (DIMACS CNF, WCNF, or random 3-SAT)"
    direction = "min"
    solution_label = "assignment"
    value_label = "unsatisfied weight"
    options = (
        Option("--vars", int, 20, "variables of a random 3-SAT instance"),
        Option("--ratio", float, 4.26, "clauses per variable of a random 3-SAT instance"),
        Option("--instance-seed", int, 0, "seed of the random instance"),
        Option("--instance", str, None, "a DIMACS .cnf or .wcnf file instead"),
        Option("--optimum", float, None, "the known optimal unsatisfied weight"),
    )

    def __init__(self, formula: Formula, *, optimum: float | None = None) -> None:
        self.formula, self.known_optimum = formula, optimum
        self.space = Bits(formula.n_vars)
        self._weights = np.array(formula.weights)
        self._hard = np.array(formula.hard, dtype=bool)
        width = max(len(c) for c in formula.clauses)
        padded = np.array([list(c) + [0] * (width - len(c)) for c in formula.clauses])
        self._vars, self._signs, self._real = np.abs(padded) - 1, padded > 0, padded != 0

    @classmethod
    def from_options(
        cls,
        vars: int = 20,
        ratio: float = 4.26,
        instance_seed: int = 0,
        instance: str | None = None,
        optimum: float | None = None,
    ) -> MaxSAT:
        """A random 3-SAT instance, or the file given with --instance."""
        formula = read_formula(instance) if instance else random_3sat(vars, ratio, instance_seed)
        problem = cls(formula, optimum=optimum)
        if problem._hard.any():
            problem._exact  # noqa: B018 -- hard clauses that cannot all hold are the file's fault: say so now
        return problem

    def config(self) -> dict[str, Any]:
        """What defines this instance."""
        return {
            "instance": self.formula.name,
            "vars": self.formula.n_vars,
            "clauses": len(self.formula.clauses),
            "hard": int(self._hard.sum()),
            "optimum": self.known_optimum,
        }

    def fingerprint(self) -> str:
        """The config plus the clauses themselves."""
        return super().fingerprint() + digest(repr((self.formula.clauses, self.formula.weights, self.formula.hard)))

    def describe(self) -> str:
        """The clauses, compactly, with weights and hard clauses marked when there are any."""
        weighted = self._weighted
        shown = " ".join(self.clause_text(i) for i in range(len(self.formula.clauses)))
        return (
            f"Help me choose true (1) or false (0) for the variables x1 to x{self.formula.n_vars}. A clause "
            "such as (1 -2 3) is satisfied when at least one of its literals is true; -2 means x2 is false. "
            + ("Each clause has a weight in brackets; hard clauses must all be satisfied. " if weighted else "")
            + f"The value is the {'total weight' if weighted else 'number'} of unsatisfied clauses; lower is "
            f"better. Clauses: {shown}"
        )

    @cached_property
    def _weighted(self) -> bool:
        return any(w != 1.0 for w in self.formula.weights) or bool(self._hard.any())

    def clause_text(self, index: int) -> str:
        """Clause `index` as the description writes it: (1 -2 3), after its weight or [hard] when weighted."""
        clause, weight, hard = (self.formula.clauses[index], self.formula.weights[index], self.formula.hard[index])
        mark = "[hard]" if hard else f"[{weight:g}]" if self._weighted else ""
        return mark + "(" + " ".join(map(str, clause)) + ")"

    def format_hint(self) -> str:
        """One bit per variable."""
        n = self.formula.n_vars
        return (
            f"Give a new assignment that differs from every assignment above and leaves fewer clauses "
            f"unsatisfied than all of them. Write {n} bits for x1 to x{n} in order (1 = true, 0 = false), "
            "one after the other, between <bits> and </bits>."
        )

    def unsatisfied(self, assignment: Bitvector) -> np.ndarray:
        """Which clauses the assignment leaves unsatisfied."""
        values = np.asarray(assignment, dtype=bool)
        return ~((values[self._vars] == self._signs) & self._real).any(axis=1)

    def decode(self, text: str) -> Bitvector:
        """A vector of one bit per variable that breaks no hard clause."""
        assignment = self.space.decode(text)
        if np.any(self.unsatisfied(assignment) & self._hard):
            raise InvalidSolution("breaks a hard clause")
        return assignment

    def unsatisfied_weight(self, assignment: Bitvector) -> float:
        """Total weight of the unsatisfied soft clauses; breaking a hard clause is infeasible."""
        broken = self.unsatisfied(assignment)
        if np.any(broken & self._hard):
            raise InvalidSolution("breaks a hard clause")
        return float(self._weights[broken & ~self._hard].sum())

    def evaluate(self, assignment: Bitvector) -> Evaluation:
        """The unsatisfied weight, and feedback that writes out the first unsatisfied clauses."""
        return Evaluation(self.unsatisfied_weight(assignment), feedback=self.feedback(assignment))

    def feedback(self, assignment: Bitvector) -> str:
        """How many clauses the assignment leaves unsatisfied, and the first `NAMED_CLAUSES` of them."""
        broken = np.flatnonzero(self.unsatisfied(assignment))
        if broken.size == 0:
            return "Every clause is satisfied."
        first = " ".join(self.clause_text(int(i)) for i in broken[:NAMED_CLAUSES])
        which = "they are" if broken.size <= NAMED_CLAUSES else f"the first {NAMED_CLAUSES}"
        return f"{broken.size} of {len(self.formula.clauses)} clauses unsatisfied; {which}: {first}"

    def initial(self, rng: np.random.Generator, k: int) -> list[Bitvector]:
        """k random assignments that break no hard clause (WalkSAT repairs the hard clauses of each)."""
        starts = []
        for _ in range(k):
            assignment = self.space.sample(rng, 1)[0]
            if self._hard.any():
                assignment = self._walksat(assignment, rng, hard_only=True)
                if np.any(self.unsatisfied(assignment) & self._hard):
                    raise ValueError(f"{self.formula.name}: no assignment keeping every hard clause was found")
            starts.append(assignment)
        return starts

    def references(self) -> dict[str, Callable[[], Bitvector]]:
        """RC2 (python-sat's exact MaxSAT solver) and a WalkSAT-style local search that reads the clauses."""
        return {
            "rc2": self.rc2,  # solved again, so its time is its own
            "walksat": lambda: self._walksat(
                self.space.sample(np.random.default_rng(0), 1)[0], np.random.default_rng(0)
            ),
        }

    @cached_property
    def _exact(self) -> Bitvector:
        return self.rc2()

    def rc2(self) -> Bitvector:
        """An optimal assignment from RC2, python-sat's exact MaxSAT solver."""
        from pysat.examples.rc2 import RC2
        from pysat.formula import WCNF

        wcnf = WCNF()
        for clause, weight, hard in zip(self.formula.clauses, self.formula.weights, self.formula.hard):
            wcnf.append(list(clause)) if hard else wcnf.append(list(clause), weight=weight)
        with RC2(wcnf) as solver:
            model = solver.compute()
        if model is None:
            raise ValueError(
                f"{self.formula.name}: the hard clauses cannot all be satisfied together; check the instance file"
            )
        truth = {abs(lit): lit > 0 for lit in model}
        return tuple(int(truth.get(v, False)) for v in range(1, self.formula.n_vars + 1))

    def _walksat(
        self, start: Bitvector, rng: np.random.Generator, hard_only: bool = False, noise: float = 0.5
    ) -> Bitvector:
        """A WalkSAT-style local search: pick an unsatisfied clause, flip one of its variables, at random
        with probability `noise`, else the one that leaves the lowest cost (hard clauses weigh most)."""
        current = list(start)
        best, best_value = tuple(current), self._cost(current, hard_only)
        for _ in range(WALKSAT_FLIPS):
            broken = np.flatnonzero(self.unsatisfied(tuple(current)) & (self._hard if hard_only else True))
            if broken.size == 0:
                return tuple(current)
            clause = int(rng.choice(broken))
            variables = [int(v) for v in self._vars[clause][self._real[clause]]]
            if rng.random() < noise:
                flip = int(rng.choice(variables))
            else:
                flip = min(
                    variables, key=lambda v: self._cost(current[:v] + [1 - current[v]] + current[v + 1 :], hard_only)
                )
            current[flip] = 1 - current[flip]
            value = self._cost(current, hard_only)
            if value < best_value:
                best, best_value = tuple(current), value
        return best

    def _cost(self, assignment: list[int], hard_only: bool) -> float:
        broken = self.unsatisfied(tuple(assignment))
        hard_weight = float(broken[self._hard].sum()) * (1.0 + float(self._weights.sum()))
        return hard_weight if hard_only else hard_weight + float(self._weights[broken & ~self._hard].sum())

    def optimum(self) -> float | None:
        """--optimum, or RC2's proven optimum."""
        return self.known_optimum if self.known_optimum is not None else self.unsatisfied_weight(self._exact)
