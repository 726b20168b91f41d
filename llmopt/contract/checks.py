"""The plugin contract as checks anyone can run on a problem or a method (the test suite runs them on every
registered one, a plugin's too)."""

from __future__ import annotations

import numpy as np

from llmopt.contract.grammar import to_regex
from llmopt.contract.problem import InvalidSolution, Problem, evaluate_safely
from llmopt.core.feasibility import feasible
from llmopt.core.pareto import hypervolume, losses, nondominated

GARBAGE = ["", "I am not sure.", "]]][[[", "\x00\x01", "[" * 1000, "NaN", "the answer is 42", "🙂" * 50]


def check_round_trip(problem: Problem, k: int = 10) -> None:
    """decode(encode(s)) == s for k initial solutions."""
    for solution in problem.initial(np.random.default_rng(1), k):
        decoded = problem.decode(problem.encode(solution))
        assert decoded == solution, f"decode(encode({solution!r})) gave {decoded!r}"


def check_garbage_is_rejected(problem: Problem) -> None:
    """Garbage decodes to InvalidSolution with a reason, never another exception."""
    for text in GARBAGE:
        try:
            problem.decode(text)
        except InvalidSolution as error:
            assert error.reason, f"empty reason for {text!r}"
        else:
            raise AssertionError(f"{text[:40]!r} was accepted")


def check_evaluate_is_deterministic(problem: Problem, k: int = 5) -> None:
    """The same solution gets the same well-formed evaluation twice (a finite value, readable feedback and
    constraint values), or is refused as infeasible both times."""
    for solution in problem.initial(np.random.default_rng(2), k):
        first = evaluate_safely(problem.evaluate, solution, problem.objectives)
        assert first.status != "failed", f"{solution!r} could not be evaluated: {first.reason}"
        assert evaluate_safely(problem.evaluate, solution, problem.objectives) == first, (
            f"{solution!r} evaluated to two outcomes"
        )


def check_initial_is_seeded(problem: Problem) -> None:
    """initial() gives the same points for the same seed, and other points (or another order) for another."""

    def points(seed: int) -> list[str]:
        return [problem.encode(s) for s in problem.initial(np.random.default_rng(seed), 5)]

    assert points(3) == points(3), "initial() draws from something other than its rng"
    assert points(3) != points(4), "initial() ignores its rng: two seeds gave the same points"


def check_grammar_admits_every_encoding(problem: Problem, k: int = 30) -> None:
    """The problem's grammar admits what `encode` writes for its start points and random solutions."""
    grammar = problem.grammar()
    if grammar is None:
        return
    pattern = to_regex(grammar)
    rng = np.random.default_rng(5)
    solutions = problem.initial(rng, k) + (problem.space.sample(rng, k) if problem.space is not None else [])
    for solution in solutions:
        text = problem.encode(solution)
        assert pattern.fullmatch(text), f"the grammar rejects {text!r}, which encode() writes"


def check_labels(problem: Problem) -> None:
    """Name, direction, labels and meta-prompt parts are all there."""
    assert problem.direction in ("min", "max"), f"direction {problem.direction!r}"
    for attribute in ("name", "summary", "solution_label", "value_label"):
        assert getattr(problem, attribute, ""), f"{attribute} is empty"
    assert problem.describe().strip() and problem.format_hint().strip(), "empty meta-prompt part"
    assert len(problem.labels()) == problem.objectives, (
        f"{len(problem.labels())} labels, {problem.objectives} objectives"
    )


# How far the hypervolume of a problem's true_front() (a sample of the front) may fall below its optimum()
# (the front's own): the 1 % within which a method is said to have reached the true front.
FRONT_SAMPLE_SHORTFALL = 0.01


def check_several_objectives(problem: Problem, k: int = 20) -> None:
    """With several objectives: a reference point of one number per objective; a true front (where known) of
    non-dominated points whose hypervolume is the optimum within 1 %; and no random solution that beats it."""
    if problem.directions is None:
        return
    directions, reference = problem.directions, problem.reference_point()
    assert reference is not None and len(reference) == problem.objectives, f"reference point {reference!r}"
    front = problem.true_front()
    if front is not None:
        assert front.ndim == 2 and front.shape[1] == problem.objectives, f"true front of shape {front.shape}"
        assert np.isfinite(front).all() and nondominated(front, directions).all(), "the true front is dominated"
    optimum, found = problem.optimum(), _random_front(problem, k)
    if optimum is not None and front is not None:
        sampled = hypervolume(front, reference, directions)
        assert (1 - FRONT_SAMPLE_SHORTFALL) * optimum <= sampled <= optimum * (1 + 1e-9), (
            f"the true front's hypervolume {sampled} is not the optimum {optimum}"
        )
    if optimum is not None:
        assert hypervolume(found, reference, directions) <= optimum, "random solutions beat the optimum"
    if front is not None and len(found):  # beyond rounding (a tour summed in another order), none dominates
        mine, best = losses(found, directions)[:, None, :], losses(front, directions)[None, :, :]
        slack = 1e-9 * (1 + np.abs(best))
        beaten = (mine <= best + slack).all(axis=2) & (mine < best - slack).any(axis=2)
        assert not beaten.any(), "a random solution dominates a point of the true front"


def _random_front(problem: Problem, k: int) -> np.ndarray:
    """The values of the feasible ones of k start solutions."""
    scored = [
        evaluate_safely(problem.evaluate, s, problem.objectives) for s in problem.initial(np.random.default_rng(6), k)
    ]
    points = [o.values for o in scored if o.values is not None and feasible(o.constraints)]
    return np.array(points, dtype=float).reshape(-1, problem.objectives)


CHECKS = (
    check_round_trip,
    check_garbage_is_rejected,
    check_evaluate_is_deterministic,
    check_initial_is_seeded,
    check_grammar_admits_every_encoding,
    check_labels,
    check_several_objectives,
)


def check_problem(problem: Problem) -> list[str]:
    """Run every contract check; returns the failures (an empty list means the plugin passes)."""
    failures = []
    for check in CHECKS:
        try:
            check(problem)
        except Exception as error:  # report every broken rule, not only the first
            failures.append(f"{check.__name__}: {type(error).__name__}: {error}")
    return failures
