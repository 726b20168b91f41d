"""Every `--json` output is strict JSON that docs/output.schema.json describes."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from llmopt.cli import main
from llmopt.core.stops import StopStatus, status_of
from llmopt.testing.stub_server import StubSettings, serve

SCHEMA = json.loads((Path(__file__).resolve().parents[1] / "docs" / "output.schema.json").read_text())


def strict(text: str) -> dict:
    """Parse as a strict JSON reader does: no NaN or Infinity."""

    def refuse(name: str) -> None:
        raise ValueError(f"{name} is not JSON")

    return json.loads(text, parse_constant=refuse)


@pytest.fixture(scope="module")
def stub() -> str:
    server, url = serve(StubSettings())
    yield url
    server.shutdown()


@pytest.mark.parametrize(
    "args",
    [
        ["run", "linear-regression", "--steps", "2", "--methods", "opro", "opro-no-history", "powell", "least-squares"],
        ["run", "tsp", "--cities", "8", "--steps", "1", "--methods", "opro", "local-search", "held-karp"],
        ["baselines", "knapsack", "--items", "12", "--steps", "2"],
        [
            "bench",
            "sphere",
            "--seeds",
            "2",
            "--steps",
            "2",
            "--proposals",
            "2",
            "--workers",
            "1",
            "--methods",
            "opro",
            "powell",
            "random-search",
        ],
        [
            "bench",
            "tsp",
            "--paper-grid",
            "--seeds",
            "1",
            "--steps",
            "1",
            "--proposals",
            "2",
            "--workers",
            "1",
            "--methods",
            "opro",
            "nearest-neighbour",
        ],
    ],
    ids=["run", "run-tsp", "baselines", "bench", "bench-grid"],
)
def test_every_json_output_is_strict_and_follows_the_schema(args, stub, tmp_path, capsys) -> None:
    model = ["--model", "stub", "--base-url", stub]
    out = ["--out", str(tmp_path / "run")] if args[0] == "run" else []
    assert main([*args, *model, *out, "--json", "--no-cache"]) == 0
    payload = strict(capsys.readouterr().out)
    jsonschema.validate(payload, SCHEMA)
    rows = payload["results"] if "results" in payload else payload["runs"]
    assert all(row["status"] == status_of(row["stop_reason"]) for row in rows)


def test_the_schema_refuses_what_it_does_not_document() -> None:
    row = {key: None for key in SCHEMA["$defs"]["row"]["required"]} | {
        "method": "m",
        "kind": "black-box",
        "failed_evals": 0,
        "seconds": 0.0,
        "stop_reason": "max_evals",
        "status": 0,
    }
    good = {"problem": "p", "optimum": None, "budget": 3, "results": [row]}
    jsonschema.validate(good, SCHEMA)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**good, "results": [{**row, "status": 7}]}, SCHEMA)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**good, "undocumented": 1}, SCHEMA)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**good, "results": [{**row, "kind": "baseline"}]}, SCHEMA)


def test_the_schema_names_every_status_code_a_stopped_method_has() -> None:
    assert sorted(SCHEMA["$defs"]["status"]["enum"]) == sorted(set(StopStatus) - {StopStatus.RUNNING})


def test_infinities_are_written_as_strings_and_nan_as_null() -> None:
    from llmopt.report.tables import strict_json

    assert strict(strict_json({"ert": float("inf"), "p": float("nan"), "low": [-float("inf")]})) == {
        "ert": "inf",
        "p": None,
        "low": ["-inf"],
    }


def test_a_constrained_runs_json_counts_its_feasible_solutions(stub, tmp_path, capsys) -> None:
    args = ["run", "simionescu", "--steps", "1", "--methods", "opro", "random-search", "--model", "stub"]
    assert main([*args, "--base-url", stub, "--out", str(tmp_path / "run"), "--json", "--no-cache"]) == 0
    payload = strict(capsys.readouterr().out)
    jsonschema.validate(payload, SCHEMA)
    rows = [row for row in payload["results"] if row["n_evals"]]
    assert rows and all(isinstance(row["feasible"], int) and row["feasible"] <= row["n_evals"] for row in rows)
    assert all((row["best_value"] is None) == (row["feasible"] == 0) for row in rows)
