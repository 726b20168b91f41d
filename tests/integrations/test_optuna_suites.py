"""Optuna's own test suites for third-party samplers (`optuna.testing.pytest_samplers`, optuna >= 4.8), run on
OPROSampler and LMXSampler: in full on a stub OpenAI-compatible server, and a representative part on the embedded
model. The samplers take one objective, so `SingleOnlySamplerTestCase` stands for the multi-objective suite."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import optuna
import pytest
from optuna.distributions import FloatDistribution, IntDistribution
from optuna.testing.pytest_samplers import BasicSamplerTestCase, RelativeSamplerTestCase, SingleOnlySamplerTestCase

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


class TestOptunaSuitesOnAStubServer(BasicSamplerTestCase, RelativeSamplerTestCase, SingleOnlySamplerTestCase):
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
