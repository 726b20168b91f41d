"""Optuna's own test suites for third-party samplers (`optuna.testing.pytest_samplers`, optuna >= 4.8), run on
OPROSampler and LMXSampler: in full on a stub OpenAI-compatible server, and a representative part on the embedded
model. Both take multi-objective studies, so `MultiObjectiveSamplerTestCase` runs in place of
`SingleOnlySamplerTestCase`; it calls `sample_independent` alone (the fallback's), so a multi-objective study on the
stub whose answers are parameter sets checks the model's part too."""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Iterator
from typing import Any

import optuna
import pytest
from optuna.distributions import FloatDistribution, IntDistribution
from optuna.testing.pytest_samplers import BasicSamplerTestCase, MultiObjectiveSamplerTestCase, RelativeSamplerTestCase
from optuna.trial import TrialState

from llmopt import OPROConfig
from llmopt.integrations.optuna import LMXSampler, ModelSampler, OPROSampler
from llmopt.testing.stub_server import StubSettings, serve

optuna.logging.set_verbosity(optuna.logging.WARNING)
KINDS = [OPROSampler, LMXSampler]
SAMPLES = 11  # the sample_relative calls of one relative suite test
# One finished trial is all the relative tests make before they sample: with the default 5 start trials they would
# only ever see the fallback, so the model is asked from the second trial on.
SETTINGS = {"seed": 0, "n_startup_trials": 1, "proposals": 4}


@pytest.fixture(scope="module")
def stub_url() -> Iterator[str]:
    """A stub server; its `[w, b]` answers are no parameter sets, so every one is rejected and the fallback fills."""
    server, url = serve(StubSettings())
    yield url
    server.shutdown()


def maker(kind: type[ModelSampler], made: list[ModelSampler], **settings: Any) -> Callable[[], ModelSampler]:
    """What the suites call for a fresh sampler; each one made is kept in `made`."""

    def make() -> ModelSampler:
        made.append(kind(**SETTINGS | settings))
        return made[-1]

    return make


class TestOptunaSuitesOnAStubServer(BasicSamplerTestCase, RelativeSamplerTestCase, MultiObjectiveSamplerTestCase):
    """Every test of the three suites, for both samplers, on the stub."""

    @pytest.fixture(params=KINDS, ids=["opro", "lmx"])
    def sampler(self, request: pytest.FixtureRequest, stub_url: str) -> Callable[[], ModelSampler]:
        """A fresh sampler against the stub."""
        return maker(request.param, [], model="stub", base_url=stub_url)


@pytest.mark.parametrize("kind", KINDS, ids=["opro", "lmx"])
def test_the_relative_suite_asks_the_model_and_the_fallback_fills_what_it_did_not_give(kind, stub_url: str) -> None:
    made: list[ModelSampler] = []
    RelativeSamplerTestCase().test_sample_relative_mixed(
        maker(kind, made, model="stub", base_url=stub_url), FloatDistribution(-1.0, 1.0)
    )
    (sampler,) = made
    assert sampler.counts.llm_calls >= 1 and sampler.rejected >= 1, "the suite's samples went through the model"
    assert sampler.fallbacks == SAMPLES, "and every one of them was filled by the fallback"


def parameter_sets(prompt: str, rng: random.Random) -> str:
    """A stub's answer: a parameter set of the suite-like study below, drawn from the request's seeded generator."""
    return json.dumps({"x": round(rng.uniform(-1, 1), 3), "n": rng.randrange(0, 11, 2)})


@pytest.mark.parametrize("kind", KINDS, ids=["opro", "lmx"])
def test_a_multi_objective_study_on_the_stub_takes_the_models_answers_and_its_front_is_best_trials(kind) -> None:
    server, url = serve(StubSettings(answer=parameter_sets))
    try:
        sampler = kind(**SETTINGS | {"model": "stub", "base_url": url})
        study = optuna.create_study(directions=["minimize", "maximize"], sampler=sampler)
        study.optimize(
            lambda t: (t.suggest_float("x", -1, 1) ** 2, t.suggest_int("n", 0, 10, step=2) - t.params["x"]), 12
        )
    finally:
        server.shutdown()
    assert sampler.counts.llm_calls >= 1 and sum("llmopt_answer" in t.user_attrs for t in study.trials) >= 6
    sampler._sync(study, sampler._state)  # the trials finished since the last request
    front = sampler._state.driver.result.front()
    assert len(study.get_trials(states=(TrialState.COMPLETE,))) == 12
    assert sorted(t.params["x"] for t in study.best_trials) == sorted(t.solution[1] for t in front)


@pytest.mark.parametrize("kind", KINDS, ids=["opro", "lmx"])
def test_the_relative_suite_passes_on_the_embedded_models_own_answers(kind, local_backend) -> None:
    made: list[ModelSampler] = []
    # One request of two answers: the embedded model takes seconds an answer on two cores.
    make = maker(kind, made, backend=local_backend, proposals=2, config=OPROConfig(max_llm_calls=2))
    with pytest.warns(UserWarning, match="max_llm_calls reached"):
        RelativeSamplerTestCase().test_sample_relative_mixed(make, IntDistribution(1, 100, log=True))
    (sampler,) = made
    assert sampler.counts.llm_calls == 2 and sampler.fallbacks < SAMPLES, (
        "some values the suite checked are the model's"
    )


@pytest.mark.parametrize("kind", KINDS, ids=["opro", "lmx"])
def test_the_multi_objective_suites_independent_case_runs_with_the_embedded_model_behind_the_sampler(
    kind, local_backend
) -> None:
    # The suite samples each value independently (the fallback's: no request), so it is run once here as the issue
    # asks; test_optuna_multiobjective.py runs a bi-objective study on the embedded model's own answers.
    made: list[ModelSampler] = []
    MultiObjectiveSamplerTestCase().test_multi_objective_sample_independent(
        maker(kind, made, backend=local_backend), IntDistribution(-10, 10, step=2)
    )
    (sampler,) = made
    assert sampler.counts is None, "no request: the suite's values are the fallback's"
