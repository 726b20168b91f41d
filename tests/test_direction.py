"""The one translation between Optuna's directions ("minimize", "maximize", `StudyDirection`) and llmopt's
("min", "max"), which the black-box Optuna methods, the samplers and the study report share."""

from __future__ import annotations

import pytest
from optuna.study import StudyDirection

from llmopt.core.direction import from_optuna, to_optuna


@pytest.mark.parametrize("mine, theirs", [("min", StudyDirection.MINIMIZE), ("max", StudyDirection.MAXIMIZE)])
def test_optunas_directions_and_llmopts_translate_both_ways(mine, theirs) -> None:
    assert from_optuna(theirs) == mine and from_optuna(theirs.name.lower()) == mine
    assert to_optuna(mine) == theirs.name.lower() and from_optuna(to_optuna(mine)) == mine


@pytest.mark.parametrize("given", [StudyDirection.NOT_SET, "min", "up"])
def test_an_unknown_optuna_direction_is_a_clear_error(given) -> None:
    with pytest.raises(ValueError, match="'minimize' or 'maximize'"):
        from_optuna(given)


def test_an_unknown_direction_is_refused_before_optuna_sees_it() -> None:
    with pytest.raises(ValueError, match="'min' or 'max'"):
        to_optuna("minimize")
