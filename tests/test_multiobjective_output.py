"""What a comparison with several objectives shows and records: the table's hypervolume against one stated
reference point, the `--json` output's directions, reference and fronts (docs/output.schema.json), the
`--plot` figure's fronts and hypervolume, and the HTML report's fronts and each trial's values."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import numpy as np
import pytest

from llmopt.cli import main
from llmopt.contract.problem import new_result
from llmopt.core.result import Trial
from llmopt.problems.multiobjective import Zdt1
from llmopt.report.tables import comparison_table
from llmopt.testing.stub_server import StubSettings, serve

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = json.loads((ROOT / "docs" / "output.schema.json").read_text())


@pytest.fixture(scope="module")
def stub() -> str:
    server, url = serve(StubSettings())
    yield url
    server.shutdown()


def by_hand() -> list:
    """Two results on ZDT1 with 3 variables, built by hand."""
    problem, results = Zdt1(dim=3), []
    for name, kind, points in (("opro", "model", [(0, 0, 0), (1, 0, 0)]), ("nsga2", "black-box", [(0.25, 0, 0)])):
        result = new_result(problem, name, kind)
        for x in points:
            result.add(Trial(step=1, status="ok", solution=list(x), values=problem.evaluate(list(x))))
        results.append(result)
    return results


def test_the_table_heads_its_value_hypervolume_and_states_the_reference_point_once() -> None:
    table = comparison_table(by_hand(), Zdt1(dim=3).optimum())
    lines = table.splitlines()
    assert lines[0] == "hypervolume against the reference point (11, 11), the same for every method"
    assert table.count("(11, 11)") == 1
    header = lines[1].split()
    assert header[:3] == ["method", "kind", "hypervolume"] and "front" in header and "evals" in header
    opro = next(line.split() for line in lines if line.startswith("opro"))
    # x = (0, 0, 0) scores (0, 1), x = (1, 0, 0) scores (1, 0): against (11, 11) they dominate two 11 x 10
    # rectangles that overlap in a 10 x 10 square, 110 + 110 - 100 = 120
    assert opro[2] == "120" and opro[header.index("front")] == "2"
    assert opro[3] == f"{Zdt1(dim=3).optimum() - 120:.6g}", "the gap is to the true front's hypervolume"


def test_the_table_refuses_results_measured_against_different_reference_points() -> None:
    one, other = by_hand()
    other.reference = (12.0, 11.0)  # as if derived from other points: its hypervolume does not compare
    with pytest.raises(ValueError, match=r"different reference points, \(11, 11\); \(12, 11\)"):
        comparison_table([one, other])


def test_run_shows_and_records_a_comparison_of_fronts(stub, tmp_path: Path, capsys) -> None:
    out, png = tmp_path / "run", tmp_path / "fronts.png"
    args = [
        "run",
        "zdt1",
        "--dim",
        "2",
        "--steps",
        "2",
        "--methods",
        "opro",
        "random-search",
        "--model",
        "stub",
        "--base-url",
        stub,
    ]
    assert main([*args, "--no-cache", "--out", str(out), "--json", "--plot", str(png), "--html"]) == 0
    payload = json.loads(capsys.readouterr().out)
    jsonschema.validate(payload, SCHEMA)
    assert payload["directions"] == ["min", "min"] and payload["reference"] == [11.0, 11.0]
    for row in payload["results"]:
        assert len(row["front"]) == row["front_size"] > 0 and all(len(point) == 2 for point in row["front"])
        assert row["front"] == sorted(row["front"]), "sorted along the first objective"
    config = json.loads((out / "config.json").read_text())
    assert config["directions"] == ["min", "min"] and config["reference"] == [11.0, 11.0]
    page = (out / "report.html").read_text()
    assert "hypervolume against the reference point (11, 11)" in page and "Pareto fronts" in page
    assert "hypervolume so far" in page and "<th>values</th>" in page
    assert png.stat().st_size > 0


def test_baselines_prints_the_hypervolume_table(capsys) -> None:
    args = ["baselines", "zdt1", "--dim", "3", "--methods", "random-search", "--max-evals", "20", "--no-cache"]
    assert main(args) == 0
    captured = capsys.readouterr()
    lines = captured.out.splitlines()
    assert lines[0].startswith("hypervolume against the reference point (11, 11)")
    assert lines[1].split()[:3] == ["method", "kind", "hypervolume"]
    assert "better than the optimum" not in captured.err, "a hypervolume is bettered upwards"


def test_the_plot_draws_each_front_with_the_true_one_beside_the_hypervolume(tmp_path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    from llmopt.report.plots import plot_front, plot_run

    results = by_hand()
    fig = results[0].plot(results[1:])
    front, curve = fig.axes[0], fig.axes[1]
    assert front.get_title() == "zdt1: each method's front" and curve.get_ylabel() == "hypervolume so far"
    drawn = {line.get_label(): line.get_xydata().tolist() for line in front.lines}
    assert drawn["opro (model): 2 on its front"] == [[0.0, 1.0], [1.0, 0.0]]
    assert list(curve.lines[0].get_ydata()) == [110.0, 120.0], "(0, 1) alone dominates 11 x 10, then 120"
    ax = Figure().subplots()
    three = [(0.0, 1.0, 2.0), (1.0, 0.0, 2.0)]
    plot_front(ax, results[:1], true_front=np.array(three), labels=("cost", "risk", "time"))
    assert ax.get_title() == "zdt1: each method's front (objectives 1 and 2 of 3)" and ax.get_xlabel() == "cost"
    assert "true front" in [line.get_label() for line in ax.lines]
    assert plot_run(Zdt1(dim=3), results, tmp_path / "fronts.png").stat().st_size > 0


def test_run_zdt1_compares_opro_with_nsga2_motpe_and_random_search_at_one_budget(stub, tmp_path: Path, capsys) -> None:
    """The issue's first check, on the stub server: `llmopt run zdt1` with no --methods."""
    args = ["run", "zdt1", "--dim", "2", "--steps", "2", "--proposals", "3", "--model", "stub", "--base-url", stub]
    assert main([*args, "--no-cache", "--out", str(tmp_path / "run")]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "hypervolume against the reference point (11, 11), the same for every method"
    header = lines[1].split()
    rows = {line.split()[0]: line.split() for line in lines[3:] if line.split() and line.split()[0][0].isalpha()}
    assert {"opro", "optuna-nsga2", "optuna-motpe", "random-search"} <= set(rows)
    budget = next(int(line.split()[1]) for line in lines if line.startswith("budget:"))
    assert budget == 5 + 2 * 3
    evals = header.index("evals")
    for name in ("optuna-nsga2", "optuna-motpe", "random-search"):
        assert int(rows[name][evals]) == budget, rows[name]
    assert int(rows["opro"][evals]) <= budget
