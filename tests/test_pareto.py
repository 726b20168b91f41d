"""Several objectives in the core: dominance, the front, crowding distance, the hypervolume (moocore) checked
against hand-computed cases and moocore's own tests, the derived reference point, and a Result's front."""

from __future__ import annotations

import math

import moocore
import numpy as np
import pytest

from llmopt.contract.evaluation import Evaluation, read_returned
from llmopt.core.pareto import crowding_distance, derived_reference, dominates, hypervolume, nondominated
from llmopt.core.result import Result, Trial


def test_dominance_follows_each_objectives_direction() -> None:
    assert dominates((1, 2), (2, 2), ("min", "min"))
    assert not dominates((1, 2), (1, 2), ("min", "min"))
    assert not dominates((1, 3), (2, 2), ("min", "min"))
    assert dominates((1, 3), (2, 2), ("min", "max"))


def test_the_front_keeps_the_first_of_equal_points_and_drops_the_dominated() -> None:
    points = [(1, 5), (2, 2), (1, 5), (3, 3), (5, 1)]
    assert nondominated(points, ("min", "min")).tolist() == [True, True, False, False, True]
    assert nondominated(points, ("max", "max")).tolist() == [True, False, False, True, True]


def test_hypervolume_of_a_hand_computed_two_dimensional_front() -> None:
    # minimise both against (4, 4): the staircase of (1, 3), (2, 2), (3, 1) covers 3 + 2 + 1 = 6 unit squares
    assert hypervolume([(1, 3), (2, 2), (3, 1)], (4, 4), ("min", "min")) == pytest.approx(6.0)
    # a dominated point and one beyond the reference add nothing
    assert hypervolume([(1, 3), (2, 2), (3, 1), (3, 3), (5, 0)], (4, 4), ("min", "min")) == pytest.approx(6.0)
    # maximising profits against the empty knapsack (0, 0): two rectangles 3x1 and 1x3 overlapping in 1x1
    assert hypervolume([(3, 1), (1, 3)], (0, 0), ("max", "max")) == pytest.approx(5.0)
    assert hypervolume([], (4, 4), ("min", "min")) == 0.0


def test_hypervolume_of_three_objectives_as_moocores_own_tests_give_it() -> None:
    # moocore's test_moocore.py::TestHypervolume: ref (2, 2, 2), points (1, 0, 1) and (0, 1, 0) -> 5
    assert hypervolume([(1, 0, 1), (0, 1, 0)], (2, 2, 2), ("min",) * 3) == pytest.approx(5.0)
    # the same case with the second objective maximised
    assert hypervolume([(1, 0, 1), (0, -1, 0)], (2, -2, 2), ("min", "max", "min")) == pytest.approx(5.0)
    # and moocore's shipped input1.dat, its first set against (10, 10)
    data = moocore.get_dataset("input1.dat")
    first = data[data[:, 2] == 1, :2]
    assert hypervolume(first, (10, 10), ("min", "min")) == pytest.approx(90.46272765)


def test_crowding_distance_is_infinite_at_the_ends_and_the_neighbours_gap_inside() -> None:
    distance = crowding_distance([(0, 4), (1, 2), (3, 1), (4, 0)])
    assert math.isinf(distance[0]) and math.isinf(distance[3])
    # (1, 2): neighbours (0, 4) and (3, 1): 3/4 + 3/4
    assert distance[1] == pytest.approx(1.5)
    assert distance[2] == pytest.approx((4 - 1) / 4 + (2 - 0) / 4)


def test_the_derived_reference_is_the_worst_plus_a_tenth_of_the_range() -> None:
    assert derived_reference([(0, 10), (2, 4)], ("min", "min")) == pytest.approx((2.2, 10.6))
    assert derived_reference([(0, 10), (2, 4)], ("max", "max")) == pytest.approx((-0.2, 3.4))
    assert derived_reference([(5, 5)], ("min", "min")) == pytest.approx((5.5, 5.5))


def test_several_values_are_read_strictly() -> None:
    assert read_returned((1, 2.5), 2).values == (1.0, 2.5)
    assert read_returned(np.array([1.0, 2.0]), 2).values == (1.0, 2.0)
    assert read_returned(Evaluation(values=[1, 2], feedback="ok"), 2).feedback == "ok"
    cases = [
        ((1.0,), "has 1 values; this run has 2 objectives"),
        (1.0, "is a float; this run has 2 objectives"),
        ((1.0, math.nan), "objective 2"),
        (Evaluation(1.0), "gives one value"),
        ("1 2", "is a str"),
        (np.array(1.0), "shape ()"),  # a 0-d array has no length: malformed, not a crash
        (np.ones((2, 1)), "shape (2, 1)"),
    ]
    for returned, reason in cases:
        scored = read_returned(returned, 2)
        assert scored.status == "failed" and reason in str(scored.reason), (returned, scored.reason)
    assert read_returned(Evaluation(values=(1, 2)), 1).status == "failed"


def _two(values: tuple[float, float], constraints: tuple[float, ...] | None = None) -> Trial:
    return Trial(1, "ok", text=str(values), solution=values, values=values, constraints=constraints)


def test_a_results_front_and_hypervolume_follow_its_feasible_evaluations() -> None:
    result = Result("m", "p", "min", directions=("min", "min"), reference=(4, 4))
    assert result.direction == "max"
    for values in [(3, 3), (1, 3), (2, 2), (3, 1), (2, 2)]:
        result.add(_two(values))
    result.add(_two((0, 0), constraints=(1.0,)))  # infeasible: never on the front
    assert [t.values for t in result.front()] == [(1, 3), (2, 2), (3, 1)]
    assert result.best_value == pytest.approx(6.0)
    assert result.best_solution == [(1, 3), (2, 2), (3, 1)]
    assert result.best_so_far().tolist() == pytest.approx([1, 3, 5, 6, 6, 6])
    first = result.first_reaching(5.0)
    assert first is not None and first.eval_index == 3
    assert result.summary()["front_size"] == 3
    back = Result.from_json(result.to_json())
    assert back.directions == ("min", "min") and back.reference == (4.0, 4.0)
    assert back.best_so_far().tolist() == pytest.approx([1, 3, 5, 6, 6, 6])


def test_a_result_with_several_objectives_states_its_reference() -> None:
    with pytest.raises(ValueError, match="reference point"):
        Result("m", "p", "min", directions=("min", "min"))


def test_a_problem_without_a_reference_derives_one_from_seeded_random_points_and_keeps_its_config() -> None:
    from llmopt.contract.problem import REFERENCE_SAMPLES, REFERENCE_SEED
    from llmopt.problems.numeric import NumericProblem

    problem = NumericProblem(lambda x: (x[0], 1 - x[0] + x[1]), [(0, 1), (0, 1)], directions=["min", "min"])
    before = problem.fingerprint()
    points = problem.initial(np.random.default_rng(REFERENCE_SEED), REFERENCE_SAMPLES)
    expected = derived_reference([(x[0], 1 - x[0] + x[1]) for x in points], ("min", "min"))
    assert problem.reference_point() == pytest.approx(expected)
    assert problem.reference_point() == problem.reference_point()
    assert problem.fingerprint() == before  # a replayed result's key does not change once the point is derived
    given = NumericProblem(lambda x: (x[0], x[1]), [(0, 1), (0, 1)], directions=["min", "max"], reference=(2, -1))
    assert given.reference_point() == (2.0, -1.0)


def test_every_method_of_a_comparison_is_measured_against_the_same_reference_point() -> None:
    from llmopt.methods import Setup, run_methods
    from llmopt.problems.numeric import NumericProblem

    problem = NumericProblem(lambda x: (x[0], 1 - x[0] ** 0.5 + x[1]), [(0, 1), (0, 1)], directions=["min", "min"])
    results = run_methods(problem, Setup(max_evals=12, seed=3), ["random-search", "optuna-nsga2", "optuna-motpe"])
    assert {r.reference for r in results} == {problem.reference_point()}


def test_the_front_kept_while_adding_is_the_front_computed_in_full() -> None:
    """Result.add keeps the front from one evaluation to the next; it is the one `front()` computes from scratch."""
    rng = np.random.default_rng(5)
    result = Result("m", "p", "min", directions=("min", "max", "min"), reference=(2, -1, 2))
    for index, values in enumerate(np.round(rng.uniform(size=(300, 3)), 1)):  # rounded: many ties and repeats
        constraints = (1.0,) if index % 7 == 0 else None
        result.add(Trial(1, "ok", text=str(index), solution=index, values=tuple(values), constraints=constraints))
        if index % 50 == 1 or index == 299:
            full = result.front()
            assert result.best_solution == [t.solution for t in full]
            assert result.best_value == pytest.approx(result.hypervolume_of(full))


def test_deriving_the_reference_point_costs_no_method_any_of_its_budget() -> None:
    """The 16 random solutions the point is derived from are evaluated once, apart from every method's budget."""
    from llmopt.contract.problem import REFERENCE_SAMPLES
    from llmopt.methods import Setup, run_methods
    from llmopt.problems.numeric import NumericProblem

    calls = []

    def two(x: np.ndarray) -> tuple[float, float]:
        calls.append(1)
        return float(x[0]), float(1 - x[0] + x[1])

    problem = NumericProblem(two, [(0, 1), (0, 1)], directions=["min", "min"])
    first, second = run_methods(problem, Setup(max_evals=10, seed=1), ["random-search", "optuna-nsga2"])
    assert first.counts.evals == second.counts.evals == 10
    assert len(calls) == REFERENCE_SAMPLES + 20  # the derivation once, then each method's own 10
