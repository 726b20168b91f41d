"""ZDT1-3 and DTLZ2 against their known fronts and hand-computed hypervolumes."""

from __future__ import annotations

import math

import numpy as np
import pytest

from llmopt.contract import checks as contract
from llmopt.core.pareto import hypervolume
from llmopt.problems.multiobjective import Dtlz2, Zdt1, Zdt2, Zdt3, zdt3_front

# ZDT3's front as the literature gives it: five stretches of f1 (Deb, Multi-Objective Optimization Using
# Evolutionary Algorithms, and pymoo's ZDT3 front).
ZDT3_PIECES = [
    (0.0, 0.0830015349),
    (0.1822287280, 0.2577623634),
    (0.4093136748, 0.4538821041),
    (0.6183967944, 0.6525117038),
    (0.8233317983, 0.8518328654),
]


@pytest.mark.parametrize(
    "cls, front",
    [
        (Zdt1, lambda a: 1 - math.sqrt(a)),
        (Zdt2, lambda a: 1 - a * a),
        (Zdt3, lambda a: 1 - math.sqrt(a) - a * math.sin(10 * math.pi * a)),
    ],
)
@pytest.mark.parametrize("a", [0.0, 0.25, 0.7, 1.0])
def test_zdt_at_x_a_then_zeros_lies_on_its_curve(cls, front, a: float) -> None:
    values = cls(dim=5).evaluate([a, 0, 0, 0, 0])
    assert values == pytest.approx((a, front(a)))


def test_zdt_away_from_the_front_is_worse_in_f2() -> None:
    on, off = Zdt2(dim=3).evaluate([0.5, 0, 0]), Zdt2(dim=3).evaluate([0.5, 1, 1])
    assert on[0] == off[0] and off[1] == pytest.approx(10 * (1 - (0.5 / 10) ** 2)) and off[1] > on[1]


def test_zdt_optima_are_the_hand_computed_hypervolumes() -> None:
    assert Zdt1().optimum() == pytest.approx(11 * 10 + 10 + 2 / 3)  # 11 x 11 less the area under 1 - sqrt(f1)
    assert Zdt2().optimum() == pytest.approx(11 * 10 + 10 + 1 / 3)  # ... under 1 - f1^2
    for cls in (Zdt1, Zdt2, Zdt3):
        assert cls().reference_point() == (11.0, 11.0)


def test_zdt3_front_is_its_five_known_pieces_and_its_optimum_the_dense_fronts() -> None:
    front = Zdt3().true_front()
    inside = np.zeros(len(front), dtype=bool)
    for low, high in ZDT3_PIECES:
        inside |= (front[:, 0] >= low - 1e-5) & (front[:, 0] <= high + 1e-5)
    assert inside.all() and front[0, 0] == 0 and front[-1, 0] == pytest.approx(ZDT3_PIECES[-1][1], abs=1e-5)
    for low, high in ZDT3_PIECES:  # every piece is there
        assert ((front[:, 0] >= low - 1e-5) & (front[:, 0] <= high + 1e-5)).sum() > 10
    denser = hypervolume(zdt3_front(2_000_001), (11, 11), ("min", "min"))
    assert Zdt3().optimum() <= denser <= Zdt3().optimum() + 1e-5


@pytest.mark.parametrize("m", [2, 3, 5])
def test_dtlz2_with_its_distance_variables_at_one_half_lies_on_the_unit_sphere(m: int) -> None:
    problem = Dtlz2(objectives=m)
    rng = np.random.default_rng(m)
    for _ in range(5):
        x = np.concatenate([rng.random(m - 1), np.full(10, 0.5)])
        values = np.array(problem.evaluate(x))
        assert len(values) == m and (values >= 0).all() and np.linalg.norm(values) == pytest.approx(1.0)
    corner = np.array(problem.evaluate(np.zeros(m + 9)))  # g = 10 x 0.25: radius 3.5, all on f1
    assert corner == pytest.approx([3.5] + [0.0] * (m - 1))


def test_dtlz2_with_two_objectives_is_a_quarter_circle() -> None:
    values = Dtlz2(objectives=2, dim=3).evaluate([1 / 3, 0.5, 0.5])
    assert values == pytest.approx((math.cos(math.pi / 6), math.sin(math.pi / 6)))


def test_dtlz2_optimum_is_the_box_less_the_unit_balls_orthant() -> None:
    assert Dtlz2(objectives=2).optimum() == pytest.approx(2.5**2 - math.pi / 4)
    assert Dtlz2(objectives=3).optimum() == pytest.approx(2.5**3 - math.pi / 6)
    assert Dtlz2(objectives=3).reference_point() == (2.5, 2.5, 2.5)


def test_dtlz2_sizes_and_bad_options() -> None:
    assert Dtlz2().dim == 12 and Dtlz2(objectives=4).dim == 13 and Dtlz2(objectives=3, dim=3).dim == 3
    with pytest.raises(ValueError, match="--objectives must be 2 or more"):
        Dtlz2(objectives=1)
    with pytest.raises(ValueError, match=r"--dim must be at least --objectives \(3\)"):
        Dtlz2(objectives=3, dim=2)


def test_the_contract_catches_a_wrong_optimum_or_front() -> None:
    class WrongOptimum(Zdt2):
        def optimum(self) -> float:
            return 100.0  # below the true front's

    class DominatedFront(Zdt1):
        def true_front(self) -> np.ndarray:
            return np.array([[0.0, 1.0], [0.5, 1.0]])

    assert "check_several_objectives" in contract.check_problem(WrongOptimum(dim=3))[0]
    assert "dominated" in contract.check_problem(DominatedFront(dim=3))[0]
    assert contract.check_problem(Zdt3(dim=3)) == []


@pytest.mark.parametrize("cls", [Zdt1, Zdt2, Zdt3])
def test_a_shifted_zdt_has_its_pareto_set_at_the_moved_place_not_at_the_edge(cls) -> None:
    """With --shift, zeros in the distance variables (what a proposer writing round numbers gives) lie far from
    the front, and the moved place lies on it, with the same front and optimum."""
    problem = cls(dim=5, shift=3)
    places = problem.fun.places
    assert np.all((places >= 0.1) & (places <= 0.9))
    for f1 in (0.0, 0.3, 0.8):
        on = problem.evaluate((f1, *places))
        assert on == pytest.approx(cls(dim=5).evaluate((f1, 0.0, 0.0, 0.0, 0.0)))  # on the unmoved problem's front
        assert problem.evaluate((f1, 0.0, 0.0, 0.0, 0.0))[1] > on[1] + 1.0  # the edge is no longer the front
    assert problem.optimum() == cls(dim=5).optimum() and problem.config()["shift"] == 3


def test_a_shifted_dtlz2_has_its_pareto_set_at_the_moved_place() -> None:
    problem = Dtlz2(objectives=3, shift=4)
    x = np.concatenate([[0.2, 0.7], problem.fun.places])
    assert np.linalg.norm(problem.evaluate(x)) == pytest.approx(1.0)
    centre = np.concatenate([[0.2, 0.7], np.full(10, 0.5)])
    assert np.linalg.norm(problem.evaluate(centre)) > 1.05  # the unmoved set's place is off the front
