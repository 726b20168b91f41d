"""The shared meta-prompt renderer: ordering, top-k, rounding, and golden files."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from llmopt.engine.config import MetaPromptConfig
from llmopt.engine.proposer import Seen
from llmopt.methods.model.metaprompt import format_score, render, select_history
from llmopt.problems.linear_regression import LinearRegression

GOLDEN = Path(__file__).parent / "golden"

HISTORY = [("[10, 10]", 1129129.285), ("[15, 14]", 42.34), ("[19, 17]", 714565.36), ("[15, 12]", 268.139)]
FEEDBACK = [
    Seen("[10, 10]", 1129129.285, "both w and b are far too low"),
    Seen("[15, 14]", 42.34, {"w": "about right", "b": "a little high", "residual at x=5": 3.14159, "points": 50}),
    Seen("[19, 17]", 714565.36),
    Seen("[15, 12]", 268.139, "b is low;\nthe line lies below the data at small x"),
]
# Deb's rules: the best value breaks a constraint, so it ranks below both feasible pairs
CONSTRAINED = [
    Seen("[10, 10]", 1129.285, None, (0.0, -1.0, -2.0)),
    Seen("[15, 14]", 42.34, None, (0.25, -1.0, -0.5)),
    Seen("[19, 17]", 714.36, "w + b is 6 over the limit", (3.0, 3.0, -1.0)),
    Seen("[15, 12]", 268.139, None, (-0.1, -0.2, 0.0)),
]
LONG = [Seen("[10, 10]", 1129.285), Seen("[15, 14]", 42.34, "w is close, b is a little high. " * 40)]


def test_best_comes_last_by_default() -> None:
    shown = select_history(HISTORY, "min", MetaPromptConfig())
    assert [text for text, _ in shown] == ["[10, 10]", "[19, 17]", "[15, 12]", "[15, 14]"]


def test_descending_order_and_top_k() -> None:
    shown = select_history(HISTORY, "min", MetaPromptConfig(top_k=2, order="descending"))
    assert shown == [("[15, 14]", 42.34), ("[15, 12]", 268.139)]


def test_maximisation_keeps_the_highest() -> None:
    shown = select_history([("a", 1.0), ("b", 3.0), ("c", 2.0)], "max", MetaPromptConfig(top_k=2))
    assert shown == [("c", 2.0), ("b", 3.0)]


@pytest.mark.parametrize(
    "value, decimals, text",
    [(42.345, 2, "42.34"), (42.0, 2, "42"), (3.0, None, "3"), (0.125, None, "0.125"), (7.5, 0, "8")],
)
def test_format_score(value: float, decimals: int | None, text: str) -> None:
    assert format_score(value, decimals) == text


def test_render_is_pure() -> None:
    problem = LinearRegression()
    assert render(problem, HISTORY) == render(problem, list(HISTORY))


def test_exemplars_can_be_switched_off() -> None:
    problem = LinearRegression()
    assert "EXAMPLE" in render(problem, HISTORY, exemplars="EXAMPLE")
    assert "EXAMPLE" not in render(problem, HISTORY, MetaPromptConfig(show_exemplars=False), "EXAMPLE")


@pytest.mark.parametrize(
    "name, config, problem_kwargs",
    [
        ("linear_regression_default", MetaPromptConfig(), {}),
        ("linear_regression_top2_descending", MetaPromptConfig(top_k=2, order="descending", decimals=0), {}),
        ("linear_regression_real_empty", MetaPromptConfig(), {"real_valued": True}),
        ("linear_regression_cache_layout", MetaPromptConfig(layout="cache"), {}),
        ("linear_regression_feedback", MetaPromptConfig(), {}),
        ("linear_regression_constraints", MetaPromptConfig(), {}),
        ("linear_regression_long_feedback", MetaPromptConfig(), {}),
    ],
)
def test_golden(name: str, config: MetaPromptConfig, problem_kwargs: dict) -> None:
    histories = {"feedback": FEEDBACK, "constraints": CONSTRAINED, "long_feedback": LONG, "real_empty": []}
    history = histories.get(name.removeprefix("linear_regression_"), HISTORY)
    text = render(LinearRegression(**problem_kwargs), history, config)
    path = GOLDEN / f"{name}.txt"
    if os.environ.get("LLMOPT_UPDATE_GOLDEN"):
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8"), f"rendered text changed; see {path}"


def test_ablation_variants_hide_shuffle_or_bucket_the_scores() -> None:
    import numpy as np

    problem = LinearRegression()
    history = [(f"[{i}, 1]", float(v)) for i, v in enumerate([900.0, 120.0, 55.5, 300.0, 42.3])]
    hidden = render(problem, history, MetaPromptConfig(scores="hidden", order="random"), rng=np.random.default_rng(0))
    assert "loss:" not in hidden and all(text in hidden for text, _ in history)
    shuffled = render(problem, history, MetaPromptConfig(scores="shuffled"), rng=np.random.default_rng(1))
    shown = [line for line in shuffled.splitlines() if line.startswith("loss:")]
    plain = [line for line in render(problem, history).splitlines() if line.startswith("loss:")]
    assert sorted(shown) == sorted(plain) and shown != plain  # the same scores, on other solutions
    bucketed = render(problem, history, MetaPromptConfig(scores="bucketed", buckets=3))
    assert {line for line in bucketed.splitlines() if line.startswith("loss:")} == {
        "loss: 42.30",
        "loss: 471.15",
        "loss: 900",
    }


def test_random_variants_need_an_rng_and_are_pure_given_one() -> None:
    import numpy as np

    problem, config = LinearRegression(), MetaPromptConfig(order="random")
    with pytest.raises(ValueError, match="rng"):
        render(problem, HISTORY, config)
    assert render(problem, HISTORY, config, rng=np.random.default_rng(5)) == render(
        problem, HISTORY, config, rng=np.random.default_rng(5)
    )


def test_the_cache_layout_shares_every_fixed_part_and_ends_with_the_history() -> None:
    from llmopt.methods.model.metaprompt import ANSWER_NOW

    problem = LinearRegression()
    config = MetaPromptConfig(layout="cache")
    before, after = render(problem, HISTORY[:2], config), render(problem, HISTORY, config)
    fixed = f"{problem.describe().strip()}\n\n{problem.format_hint().strip()}\n\n"
    assert before.startswith(fixed) and after.startswith(fixed)
    assert after.endswith(ANSWER_NOW + "\n") and "[15, 14]" in after.split(fixed)[1]
    paper = render(problem, HISTORY, MetaPromptConfig())
    assert sorted(paper.split("\n")) == sorted(after.replace("\n\n" + ANSWER_NOW + "\n", "\n").split("\n")), (
        "the same lines, in another order"
    )


def test_the_found_order_keeps_the_best_in_the_order_they_came() -> None:
    shown = select_history(HISTORY, "min", MetaPromptConfig(top_k=3, order="found"))
    assert shown == [("[15, 14]", 42.34), ("[19, 17]", 714565.36), ("[15, 12]", 268.139)]
    grown = select_history([*HISTORY, ("[15, 13]", 50.0)], "min", MetaPromptConfig(top_k=3, order="found"))
    assert grown == [("[15, 14]", 42.34), ("[15, 12]", 268.139), ("[15, 13]", 50.0)], "the newcomer joins the end"
    text = render(LinearRegression(), HISTORY, MetaPromptConfig(order="found", layout="cache"))
    assert "listed in the order they were found" in text


def test_a_history_without_feedback_or_constraints_renders_as_plain_pairs_do() -> None:
    problem = LinearRegression()
    for config in (MetaPromptConfig(), MetaPromptConfig(layout="cache", order="found")):
        assert render(problem, [Seen(text, value) for text, value in HISTORY], config) == render(
            problem, HISTORY, config
        )


def test_the_history_is_ranked_by_debs_rules_and_the_sentence_says_so() -> None:
    shown = select_history(CONSTRAINED, "min", MetaPromptConfig())
    assert [seen.text for seen in shown] == ["[19, 17]", "[15, 14]", "[10, 10]", "[15, 12]"], "best last"
    top = select_history(CONSTRAINED, "min", MetaPromptConfig(top_k=2, order="found"))
    assert [seen.text for seen in top] == ["[10, 10]", "[15, 12]"], "the two feasible, in the order found"
    text = render(LinearRegression(), CONSTRAINED)
    assert "keeps every constraint is better than any" in text
    assert "violation: 0.25 (1 of 3 constraints broken)" in text and "violation: 6 (2 of 3 constraints broken)" in text
    assert text.count("violation: 0 (feasible)") == 2
    assert "constraint" not in render(LinearRegression(), HISTORY)


def test_feedback_is_cut_to_its_budget_with_a_visible_mark() -> None:
    text = render(LinearRegression(), LONG, MetaPromptConfig(feedback_chars=80))
    (line,) = [line for line in text.splitlines() if line.startswith("feedback: ")]
    assert len(line.removeprefix("feedback: ")) == 80 and line.endswith("… (cut at 80 characters)")
    assert line.startswith("feedback: w is close, b is a little high.")


def test_hidden_feedback_keeps_the_order_and_the_rule_and_shows_no_feedback_or_violation() -> None:
    problem, hidden = LinearRegression(), MetaPromptConfig(show_feedback=False)
    for history in (FEEDBACK, CONSTRAINED):
        text, shown = render(problem, history, hidden), render(problem, history)
        assert "feedback:" not in text and "violation:" not in text and "too low" not in text
        assert [line for line in shown.splitlines() if not line.startswith(("feedback:", "violation:", "  "))] == (
            text.splitlines()
        ), "the same solutions, in the same order, under the same sentence"
    assert "keeps every constraint is better" in render(problem, CONSTRAINED, hidden)


# Several objectives: ZDT1 (both minimised) on three variables, and a problem of three objectives, one maximised.
def _zdt1_history() -> list[Seen]:
    from llmopt.problems.multiobjective import Zdt1

    problem = Zdt1(3)
    points = [(0.5, 0.5, 0.5), (0.0, 0.0, 0.0), (1.0, 0.0, 0.0), (0.2, 0.1, 0.0), (0.3, 0.9, 0.9), (0.25, 0.0, 0.0)]
    told = {3: "x2 above 0 costs f2: set it to 0"}
    return [
        Seen(problem.encode(x), float("nan"), told.get(i), values=problem.evaluate(np.array(x)))
        for i, x in enumerate(points)
    ]


def _three_objectives():
    from llmopt.problems.numeric import NumericProblem

    problem = NumericProblem(
        lambda x: (x[0], x[0] + x[1], x[1]), [(0, 1), (0, 1)], directions=("min", "max", "min"), reference=(2, -1, 2)
    )
    problem.objective_labels = ("cost", "accuracy", "latency")
    return problem


THREE = [  # (cost, accuracy, latency), accuracy maximised; the last one breaks its constraint
    Seen("[0.9, 0.1]", float("nan"), values=(0.9, 1.0, 0.1)),
    Seen("[0.1, 0.9]", float("nan"), values=(0.1, 1.0, 0.9)),
    Seen("[0.5, 0.5]", float("nan"), values=(0.5, 1.0, 0.5)),
    Seen("[0.6, 0.6]", float("nan"), values=(0.6, 1.2, 0.6)),
    Seen("[0.7, 0.7]", float("nan"), values=(0.7, 1.0, 0.7)),
    Seen("[0.0, 0.0]", float("nan"), None, (1.5,), values=(0.0, 2.0, 0.0)),
]


@pytest.mark.parametrize("name", ["zdt1_two_objectives", "three_objectives"])
def test_golden_several_objectives(name: str) -> None:
    from llmopt.problems.multiobjective import Zdt1

    problem, history = (Zdt1(3), _zdt1_history()) if name.startswith("zdt1") else (_three_objectives(), THREE)
    text = render(problem, history, MetaPromptConfig())
    path = GOLDEN / f"{name}.txt"
    if os.environ.get("LLMOPT_UPDATE_GOLDEN"):
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8"), f"rendered text changed; see {path}"


def test_two_objectives_list_exactly_the_front_sorted_by_f1_and_name_the_widest_gap() -> None:
    from llmopt.problems.multiobjective import Zdt1

    text = render(Zdt1(3), _zdt1_history())
    dominated, front = text.split("The current Pareto front")
    listed = [line.removeprefix("point: ") for line in front.splitlines() if line.startswith("point: ")]
    assert listed == ["[0.0, 0.0, 0.0]", "[0.2, 0.1, 0.0]", "[0.25, 0.0, 0.0]", "[1.0, 0.0, 0.0]"], "the front, by f1"
    others = [line.removeprefix("point: ") for line in dominated.splitlines() if line.startswith("point: ")]
    assert others == ["[0.3, 0.9, 0.9]", "[0.5, 0.5, 0.5]"], "the dominated ones apart, by f1 too"
    assert [line for line in front.splitlines() if line.startswith("f1: ")] == [
        "f1: 0",
        "f1: 0.20",
        "f1: 0.25",
        "f1: 1",
    ]
    assert "widest gap in the front lies between (f1 = 0.25, f2 = 0.50) and (f1 = 1, f2 = 0)" in text
    assert "feedback: x2 above 0 costs f2" in front, "the notes as for one objective"


def test_the_widest_gap_is_the_farthest_pair_of_neighbours_each_objective_scaled() -> None:
    from llmopt.methods.model.fronts import widest_gap

    assert widest_gap([(0.0, 1.0), (0.2, 0.55), (0.6, 0.23), (1.0, 0.0)]) == (1, 2)
    # f2 spans 100 times what f1 does: scaled, the first pair is the farthest apart, not the last
    assert widest_gap([(0.0, 100.0), (0.1, 10.0), (1.0, 0.0)]) == (0, 1)
    assert widest_gap([(0.0, 1.0), (0.5, 0.5), (1.0, 0.0)]) == (0, 1), "of equal gaps, the first"
    assert widest_gap([(0.3, 0.3)]) is None and widest_gap([]) is None


def test_the_front_is_cut_to_top_k_by_crowding_distance_and_dominated_ones_fill_what_is_left() -> None:
    from llmopt.methods.model.metaprompt import DOMINATED_SHOWN, select_front

    front = [Seen(f"[{x}]", float("nan"), values=(x, 1 - x)) for x in (0.0, 0.1, 0.2, 0.5, 1.0)]
    dominated = [Seen(f"[d{i}]", float("nan"), values=(2.0 + i, 2.0 + i)) for i in range(5)]
    shown, others = select_front([*front, *dominated], ("min", "min"), MetaPromptConfig(top_k=4))
    assert [s.text for s in shown] == ["[0.0]", "[0.2]", "[0.5]", "[1.0]"], "the ends and the most isolated"
    assert others == []
    shown, others = select_front([*front, *dominated], ("min", "min"), MetaPromptConfig(top_k=20))
    assert len(shown) == 5 and len(others) == DOMINATED_SHOWN
    assert [s.text for s in others] == ["[d0]", "[d1]", "[d2]"], "least dominated first, sorted by f1"
    bare = render(_three_objectives(), THREE, MetaPromptConfig(top_k=0))
    assert "point: " not in bare and "Pareto" not in bare, "no history at all"
