"""Methods and backends are plugins as problems are: a package installed from tests/plugin_package adds a
black-box method, a model-driven method with a setting of its own and a backend, one entry-point line each."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent / "plugin_package"


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo package, pip-installed into a folder of its own."""
    target = tmp_path_factory.mktemp("plugin_site")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "--target",
            str(target),
            str(PACKAGE),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    return target


def llmopt(installed: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(installed)}
    return subprocess.run(
        [sys.executable, "-m", "llmopt.cli", *args], capture_output=True, text=True, env=env, timeout=300
    )


def test_a_plugin_methods_setting_is_a_flag_of_llmopt_run(installed: Path) -> None:
    shown = llmopt(installed, "run", "sphere", "--help").stdout
    assert "--best-k BEST_K" in shown and "solutions best-of-k shows the model (default: 3)" in shown
    assert "--best-k" not in llmopt(installed.parent, "run", "sphere", "--help").stdout  # not installed: no flag


def test_llmopt_run_finds_a_plugins_methods_and_backend(installed: Path, tmp_path: Path) -> None:
    done = llmopt(
        installed,
        "run",
        "sphere",
        "--methods",
        "best-of-k",
        "grid-search",
        "powell",
        "--model",
        "echo",
        "--steps",
        "2",
        "--proposals",
        "3",
        "--best-k",
        "1",
        "--json",
        "--no-cache",
        "--out",
        str(tmp_path / "run"),
    )
    assert done.returncode == 0, done.stderr
    rows = {row["method"]: row for row in json.loads(done.stdout)["results"]}
    assert (rows["best-of-k"]["kind"], rows["grid-search"]["kind"]) == ("model", "black-box")
    assert rows["best-of-k"]["n_llm_calls"] == 6 and rows["grid-search"]["n_evals"] == 11  # the budget: 5 + 2 x 3
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["journaled"] == "best-of-k" and config["backend"] == {"backend": "echo"}
    assert config["opro"]["best_k"] == 1  # the plugin's setting is recorded with the run's own
    steps = [json.loads(line) for line in (tmp_path / "run" / "steps.jsonl").read_text().splitlines()]
    shown = steps[1]["meta_prompt"].splitlines()
    assert shown[0] == "Good solutions so far:" and len(shown) == 3  # --best-k 1: one solution shown
    swept = llmopt(
        installed,
        "bench",
        "sphere",
        "--methods",
        "best-of-k",
        "--models",
        "echo",
        "--seeds",
        "1",
        "--steps",
        "1",
        "--vary",
        "best-k=1,2",
        "--json",
        "--workers",
        "1",
    )
    assert swept.returncode == 0, swept.stderr
    assert {r["method"] for r in json.loads(swept.stdout)["summary"]} == {
        "best-of-k[best-k=1, model=echo]",
        "best-of-k[best-k=2, model=echo]",
    }


def test_compare_finds_them_and_the_contract_holds(installed: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import llmopt
    from llmopt.contract.registry import build_problem
    from llmopt.methods import methods_for, setup_for
    from llmopt.methods.checks import check_method

    monkeypatch.syspath_prepend(str(installed))
    problem = build_problem("sphere", {})
    config = llmopt.OPROConfig(steps=2, proposals=3)
    backend = llmopt.make_backend("echo")
    assert type(backend).__name__ == "Echo"
    results = llmopt.compare(problem, config, ["best-of-k", "grid-search"], backend)
    assert [r.method for r in results] == ["best-of-k", "grid-search"] and all(r.counts.evals for r in results)
    with pytest.warns(UserWarning, match="skipping method 'powell' of plugin 'demo-methods': its name is taken"):
        methods = methods_for(problem)
    searches = [c.cell_contents for c in methods["powell"].run.__closure__ if callable(c.cell_contents)]
    assert list(methods)[0] == "opro" and [s.__module__ for s in searches] == ["llmopt.methods.classical.box"]
    assert not methods["grid-search"].default and not methods["best-of-k"].default, "a plugin's runs by name only"
    for name in ("best-of-k", "grid-search"):
        assert check_method(methods[name], problem, setup_for(problem, config, backend)) == []
    sys.modules.pop("llmopt_plugin_demo", None)


def test_a_backend_plugin_is_picked_by_its_name_alone_never_for_a_web_address(
    installed: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from llmopt.backends import make_backend
    from llmopt.core.errors import UsageError

    monkeypatch.syspath_prepend(str(installed))
    assert type(make_backend("echo")).__name__ == "Echo"
    with pytest.raises(UsageError, match="cannot reach"):  # a model called echo on a server: the openai client's
        make_backend("echo", base_url="http://127.0.0.1:9/v1", max_retries=0)
    sys.modules.pop("llmopt_plugin_demo", None)
