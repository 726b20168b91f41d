"""The table of bad inputs a new user tried: each is one line, exit status 2, no traceback, nothing lost.

A new case is one line in BAD_INPUT: the arguments (with {tmp} for a scratch folder) and a fragment
of the message that names the fix.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from llmopt.cli import main
from llmopt.testing.stub_server import StubSettings, serve

ROOT = Path(__file__).resolve().parents[1]

BAD_INPUT = [
    (["run", "linear-regression", "--seed", "-1"], "--seed: must be a whole number from 0 to 4294967295, got -1"),
    (["run", "linear-regression", "--seed", "99999999999999999999999"], "--seed: must be a whole number"),
    (["run", "linear-regression", "--timeout", "-1"], "--timeout: must be a finite number above 0"),
    (["run", "linear-regression", "--timeout", "0"], "--timeout: must be a finite number above 0"),
    (["run", "linear-regression", "--target", "nan"], "--target: must be a finite number, got nan"),
    (["run", "linear-regression", "--max-evals", "abc"], "--max-evals: must be a positive integer, got 'abc'"),
    (["run", "linear-regression", "--w-true", "inf"], "--w-true must be a finite number"),
    (["run", "sphere", "--dim", "-1"], "--dim must be 1 or more, got -1"),
    (["run", "prompt-search", "--exemplars", "-1"], "--exemplars must be 0 or more, got -1"),
    (
        ["run", "prompt-search", "--dataset", "{tmp}/data.jsonl", "--task", "word_sorting"],
        "--dataset and --task name two sources",
    ),
    (
        ["run", "prompt-search", "--scorer-base-url", "http://127.0.0.1:9/v1"],
        "--scorer-base-url needs --scorer-model NAME",
    ),
    # a bad setting of the scorer model names the scorer's flag; of the optimizer model, the plain one
    (
        ["run", "prompt-search", "--scorer-model-path", "{tmp}/missing.gguf"],
        "set --scorer-model-path to an existing .gguf file",
    ),
    (["run", "linear-regression", "--model-path", "{tmp}/missing.gguf"], "set --model-path to an existing .gguf file"),
    (
        ["run", "function", "--function", "math:fsum", "--space", "bits:4", "--bounds=0:1", "--integer"],
        "--bounds and --integer describe a box",
    ),
    (
        ["run", "function", "--function", "math:fsum", "--bounds", "-5:5,0:10"],
        "a value that starts with '-' goes after '=', e.g. --bounds=-5:5,0:10",
    ),
    (["run", "function", "--function", "broken_syntax_module:f"], "importing 'broken_syntax_module' failed (line 1)"),
    (["run", "function", "--function", "raising_module:f"], "importing 'raising_module' failed: RuntimeError"),
    (["run", "linear-regression", "--no-such-flag"], "see `llmopt run linear-regression --help`"),
    (["run", "maxsat", "--instance", "{tmp}/unsat.wcnf"], "the hard clauses cannot all be satisfied together"),
    (["run", "linear-regression", "--plot", "{tmp}/x.txt"], "write a figure as .png"),
    (["run", "linear-regression", "--plot", "{tmp}/missing/x.png"], "does not exist; create it first"),
    (["bench", "linear-regression", "--plot", "{tmp}/x.txt"], "write a figure as .png"),
    (["bench", "linear-regression", "--html", "{tmp}/nodir/x.html"], "does not exist; create it first"),
    (["report", "{tmp}", "--out", "{tmp}/nodir/x.png"], "does not exist; create it first"),
    (["run", "linear-regression", "--out", "/proc/llmopt-run"], "cannot write there"),
    (["run", "linear-regression", "--out", "{tmp}/old-run"], "already holds a run; name a new folder"),
    (["bench", "linear-regression", "--models", ""], "--models takes a comma-separated list"),
    (["bench", "linear-regression", "--models", "a@"], "give the server's URL after '@'"),
    (["run", "linear-regression", "--max-cost", "1"], "--max-cost needs --price IN,OUT"),
    (["run", "linear-regression", "--price", "1"], "write the price as IN,OUT"),
    (["run", "function", "--function", "math:fsum", "--space", "bits:0"], "bits:N needs a whole number N >= 2"),
    (["run", "function", "--function", "math:fsum", "--space", "perm:5"], "(did you mean permutation:5?)"),
    (["run", "function", "--function", "math:fsum", "--space", "bitz:8"], "(did you mean bits?)"),
    (["run", "function", "--function", "math:fsum", "--directions", "min"], "min or max for each of two or more"),
    (["run", "function", "--function", "math:fsum", "--directions", "min", "low"], "got 'min low'"),
    (
        ["run", "function", "--function", "math:fsum", "--directions", "min", "min", "--reference", "1"],
        "--reference needs 2 finite numbers, one per objective, got 1",
    ),
    (["run", "function", "--function", "math:fsum", "--reference", "1", "1"], "give --directions too"),
    (["run", "function", "--function", "math:fsum", "--directions", "max", "max", "--maximize"], "write max for each"),
    (["run", "tsp2", "--instances", "{tmp}/a.tsp"], "--instances needs two TSPLIB files"),
    (["run", "dtlz2", "--objectives", "3", "--dim", "2"], "--dim must be at least --objectives (3)"),
]


@pytest.fixture
def scratch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder with the files the table names, as the current folder (sys.path restored after)."""
    (tmp_path / "data.jsonl").write_text('{"question": "1+1?", "answer": "#### 2"}\n' * 4)
    (tmp_path / "unsat.wcnf").write_text("p wcnf 2 2 10\n10 1 0\n10 -1 0\n")
    (tmp_path / "old-run").mkdir()
    (tmp_path / "old-run" / "config.json").write_text("{}")
    (tmp_path / "broken_syntax_module.py").write_text("def f(x) return 1\n")
    (tmp_path / "raising_module.py").write_text("raise RuntimeError('not today')\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", list(sys.path))
    return tmp_path


@pytest.mark.parametrize("args, fragment", BAD_INPUT, ids=[" ".join(a)[:60] for a, _ in BAD_INPUT])
def test_bad_input_is_one_line_naming_the_fix(args: list[str], fragment: str, scratch: Path, capsys) -> None:
    assert main([a.replace("{tmp}", str(scratch)) for a in args]) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("llmopt: error: ") and "Traceback" not in captured.err
    assert fragment in lines[0], lines[0]
    assert captured.out == ""


def test_a_function_in_the_current_folder_is_found(scratch: Path, capsys) -> None:
    (scratch / "my_objective.py").write_text("def pick(x):\n    return float(sum(v * v for v in x))\n")
    assert (
        main(
            [
                "baselines",
                "function",
                "--function",
                "my_objective:pick",
                "--methods",
                "random-search",
                "--json",
                "--no-cache",
            ]
        )
        == 0
    )
    row = json.loads(capsys.readouterr().out)["results"][0]
    assert row["best_value"] == pytest.approx(sum(v * v for v in row["best_solution"]))  # the folder's f scored it


@pytest.fixture
def optimizer():
    server, url = serve(StubSettings())
    yield url
    server.shutdown()


def test_a_method_that_crashes_on_failures_is_recorded_and_the_others_go_on(
    scratch: Path, optimizer: str, capsys
) -> None:
    (scratch / "always_fails.py").write_text("def f(x):\n    raise RuntimeError(f'no value at {x[0]}')\n")
    code = main(
        [
            "run",
            "function",
            "--function",
            "always_fails:f",
            "--model",
            "stub",
            "--base-url",
            optimizer,
            "--methods",
            "opro",
            "powell",
            "nelder-mead",
            "random-search",
            "--json",
            "--no-cache",
            "--out",
            str(scratch / "run"),
        ]
    )
    captured = capsys.readouterr()
    assert code == 3 and "Traceback" not in captured.err, "every evaluation failed: no comparison"
    payload = json.loads(captured.out)
    assert payload["evaluations_failed"].startswith(
        "no method has a result: each crashed or every evaluation it made failed (the first: RuntimeError"
    )
    rows = {row["method"]: row for row in payload["results"]}
    assert set(rows) == {"opro", "powell", "nelder-mead", "random-search"}
    assert all(row["best_value"] is None for row in rows.values())
    crashed = [m for m, row in rows.items() if row["stop_reason"].startswith("crashed: ")]
    assert crashed == ["powell"], "scipy's Powell cannot cope with nothing but failures"
    assert "warning: powell crashed: ValueError: zero-size array" in captured.err
    assert (scratch / "run" / "results.json").is_file()


def test_a_figure_that_fails_is_a_warning_and_the_results_are_kept(
    scratch: Path, optimizer: str, capsys, monkeypatch
) -> None:
    import llmopt.report.plots

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(llmopt.report.plots, "plot_run", broken)
    code = main(
        [
            "run",
            "linear-regression",
            "--steps",
            "1",
            "--model",
            "stub",
            "--base-url",
            optimizer,
            "--methods",
            "opro",
            "random-search",
            "--no-cache",
            "--out",
            str(scratch / "run"),
            "--plot",
            str(scratch / "f.png"),
        ]
    )
    assert code == 0
    assert "warning: the plot was not written (OSError: disk full); the results are saved" in capsys.readouterr().err
    assert json.loads((scratch / "run" / "results.json").read_text())["results"]


def test_a_given_optimum_that_a_method_beats_is_called_out(scratch: Path, capsys) -> None:
    assert (
        main(
            ["baselines", "tsp", "--cities", "8", "--optimum", "1000", "--methods", "held-karp", "--no-cache", "--json"]
        )
        == 0
    )
    assert (
        "better than the optimum 1000; the gaps are measured against a wrong value: check --optimum"
        in capsys.readouterr().err
    )


def test_a_closed_pipe_ends_quietly() -> None:
    done = subprocess.run(
        f"{sys.executable} -m llmopt.cli baselines linear-regression --methods random-search "
        "--json --no-cache | head -c 20",
        shell=True,
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert "Traceback" not in done.stderr and "BrokenPipe" not in done.stderr
    assert len(done.stdout) == 20


@pytest.mark.parametrize(
    "args, hint",
    [
        (["run", "tps"], "(did you mean tsp?)"),
        (["run", "sphere", "--methods", "powel"], "(did you mean powell?)"),
        (["run", "sphere", "--stesp", "3"], "unrecognized arguments: --stesp 3 (did you mean --steps?)"),
        (["bench", "sphere", "--sedes=3"], "(did you mean --seeds?)"),
        (["run", "function", "--function", "m:f", "--space", "bitz:8"], "(did you mean bits?)"),
        (
            ["run", "sphere", "--model", "m", "--base-url", "127.0.0.1:8765/v1"],
            "names no scheme; write http://127.0.0.1:8765/v1",
        ),
    ],
)
def test_a_mistyped_name_or_a_url_without_scheme_gets_the_fix_in_one_line(args, hint, capsys) -> None:
    from llmopt.cli import main

    assert main(args) == 2
    err = capsys.readouterr().err
    assert hint in err and err.count("\n") == 1


def test_an_unknown_problem_from_python_is_suggested_too() -> None:
    from llmopt.contract.registry import get_problem
    from llmopt.core.errors import UsageError

    with pytest.raises(UsageError, match=r"unknown problem 'rosenbrok' \(did you mean rosenbrock\?\)"):
        get_problem("rosenbrok")


@pytest.mark.parametrize(
    "args, flags",
    [
        (["prompt-search", "--train-size", "2", "--methods", "no-instruction", "--scorer-model", "m"], "--scorer-"),
        (["sphere", "--steps", "1", "--methods", "opro", "--model", "m"], "--"),
    ],
)
def test_a_model_that_is_refused_names_the_flags_of_its_settings(
    args: list[str], flags: str, scratch: Path, capsys
) -> None:
    """The scorer's server refuses its model: the fix names `--scorer-model` and `--scorer-base-url`, never the
    optimizer model's flags; the optimizer's refused, the plain ones."""
    server, url = serve(StubSettings(family="refuse-404"))
    base_url = "--scorer-base-url" if flags == "--scorer-" else "--base-url"
    try:
        code = main(["run", *args, base_url, url, "--no-cache", "--out", str(scratch / "run")])
    finally:
        server.shutdown()
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert code == 2 and f"check {flags}model (the name the server serves) and {flags}base-url" in err, err


@pytest.mark.parametrize("key, value", [("steps", 0), ("proposals", 0), ("initial", 0), ("max_evals", 0)])
def test_python_refuses_what_the_cli_refuses(key: str, value: int) -> None:
    import llmopt

    assert main(["run", "linear-regression", "--" + key.replace("_", "-"), str(value)]) == 2
    with pytest.raises(llmopt.UsageError, match=f"^{key}: must be a positive integer, got {value}$"):
        llmopt.minimize(lambda x: 0.0, [(0, 1)], model=llmopt.ScriptedBackend([]), **{key: value})
    with pytest.raises(llmopt.UsageError, match="temperature: must be a finite number of at least 0"):
        llmopt.OPROConfig(temperature=-1)
    with pytest.raises(llmopt.UsageError, match="price: write the price as IN,OUT or IN,CACHED,OUT"):
        llmopt.OPROConfig(price=(1.0,))
    assert llmopt.OPROConfig(price=[0.15, 0.6]).price == (0.15, 0.6), "a list, as Python users write it"


def test_every_problem_option_states_one_default_at_most() -> None:
    import argparse

    from llmopt.contract.registry import registry

    for cls in registry().values():
        parser = argparse.ArgumentParser()
        for option in cls.options:
            option.add_to(parser)
        for action in parser._actions:
            assert (action.help or "").count("default") <= 1, action.help
            assert "(default: None)" not in (action.help or ""), action.help


def test_a_box_of_twenty_variables_runs(scratch: Path, capsys) -> None:
    (scratch / "wide.py").write_text("def f(x):\n    return float(sum(v * v for v in x))\n")
    bounds = ",".join(["-1:1"] * 20)
    assert (
        main(
            [
                "baselines",
                "function",
                "--function",
                "wide:f",
                f"--bounds={bounds}",
                "--methods",
                "random-search",
                "--json",
                "--no-cache",
            ]
        )
        == 0
    )
    assert len(json.loads(capsys.readouterr().out)["results"][0]["best_solution"]) == 20
    assert main(["baselines", "rosenbrock", "--dim", "20", "--methods", "random-search", "--json", "--no-cache"]) == 0
