"""Every teaching notebook runs top to bottom on the embedded model (small budgets) and draws a figure."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("notebooks_execute", ROOT / "notebooks" / "execute.py")
EXECUTE = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(EXECUTE)  # the script that runs the notebooks and stamps them
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
SMALL = {"STEPS": 1, "PROPOSALS": 2, "TRAIN": 3, "TEST": 2, "CITIES": 6, "SEEDS": 2, "TRIALS": 8, "DIM": 3}
# 05 runs every ablation and a baseline trial on two problems: one seed keeps it within the suite's 30 s
SMALLER = {
    "03_prompt_search": {"TRAIN": 2},
    "05_ablations": {"SEEDS": 1},
    "07_use_it_from_optuna": {"SEEDS": 1},
    "08_telling_the_model_why": {"SEEDS": 1},
    "09_two_objectives_at_once": {"SEEDS": 1},
}


def shrink(book: nbformat.NotebookNode, name: str = "") -> None:
    """Lower the parameters cell's budgets, as papermill would; a parameter with no small value is an error,
    so that no notebook runs at its full size in the suite without a word."""
    book_name = name
    cells = [cell for cell in book.cells if "parameters" in cell.get("metadata", {}).get("tags", [])]
    assert len(cells) == 1, "one cell tagged `parameters`"
    lines = []
    for line in cells[0].source.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            lines.append(line)
            continue
        name = line.split("=")[0].strip()
        assert name in SMALL, f"parameter {name} has no small value in tests/test_notebooks.py"
        lines.append(f"{name} = {(SMALL | SMALLER.get(book_name, {}))[name]}")
    cells[0].source = "\n".join(lines)


def test_there_are_nine_notebooks() -> None:
    assert [p.name[:2] for p in NOTEBOOKS] == ["01", "02", "03", "04", "05", "06", "07", "08", "09"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_shipped_with_the_outputs_of_a_real_run_of_their_current_code(path: Path) -> None:
    book = nbformat.read(path, as_version=4)
    stamp = book.metadata.get(EXECUTE.STAMP, {})
    assert stamp.get("code_sha256") == EXECUTE.code_hash(book), (
        f"{path.name} was changed after its outputs were made: "
        f"run .venv/bin/python notebooks/execute.py {path.name[:2]}"
    )
    code = [cell for cell in book.cells if cell.cell_type == "code"]
    assert all(cell.execution_count is not None for cell in code), f"{path.name}: a cell never ran"
    assert images_of(book), f"{path.name} ships no figure"
    assert not warnings_of(book), f"{path.name} shows: {warnings_of(book)[:1]}"


def images_of(book: nbformat.NotebookNode) -> list:
    """The PNG outputs of a notebook's cells."""
    return [o for c in book.cells if c.cell_type == "code" for o in c.outputs if "image/png" in o.get("data", {})]


def warnings_of(book: nbformat.NotebookNode) -> list[str]:
    """What a reader would take for a fault: error outputs, and warnings written to stderr."""
    found = []
    for cell in (c for c in book.cells if c.cell_type == "code"):
        for output in cell.outputs:
            if output.output_type == "error":
                found.append(f"{output.ename}: {output.evalue}")
            elif output.get("name") == "stderr" and "Warning" in output.get("text", ""):
                found.append(output.text.strip().splitlines()[0])
    return found


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
@pytest.mark.slow
def test_notebook_runs_and_draws(path: Path, tmp_path: Path) -> None:
    book = nbformat.read(path, as_version=4)
    shrink(book, path.stem)
    NotebookClient(book, timeout=900, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    assert images_of(book), f"{path.name} drew no figure"
    assert not warnings_of(book), f"{path.name} shows: {warnings_of(book)[:1]}"


@pytest.mark.slow
def test_the_model_switch_at_the_top_drives_every_later_cell(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from llmopt.testing.stub_server import StubSettings, serve

    settings = StubSettings()
    server, url = serve(settings)
    monkeypatch.setenv("LLMOPT_MODEL", "stub")
    monkeypatch.setenv("LLMOPT_BASE_URL", url)
    book = nbformat.read(ROOT / "notebooks" / "01_linear_regression.ipynb", as_version=4)
    shrink(book)
    try:
        NotebookClient(
            book, timeout=900, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
        ).execute()
    finally:
        server.shutdown()
    assert settings.requests == SMALL["STEPS"]  # every OPRO step (the first one asked by hand) went to the stub


def test_shrink_refuses_a_parameter_it_does_not_know() -> None:
    book = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_code_cell("STEPS = 9\nWIDTH = 3", metadata={"tags": ["parameters"]})]
    )
    with pytest.raises(AssertionError, match="parameter WIDTH has no small value"):
        shrink(book)
