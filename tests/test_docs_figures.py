"""The documentation's figures were made by the code that draws them now (docs/figures.py stamps them)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("docs_figures", ROOT / "docs" / "figures.py")
FIGURES = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(FIGURES)  # the script that makes the figures and stamps them


@pytest.mark.parametrize("name", FIGURES.FIGURES)
def test_each_docs_figure_was_made_by_the_current_drawing_code(name: str) -> None:
    assert FIGURES.stamp_of(ROOT / "docs" / name) == FIGURES.code_hash(), (
        f"docs/{name} is older than the code that draws it: run .venv/bin/python docs/figures.py"
    )


def test_the_stamp_covers_the_figure_the_report_and_the_script() -> None:
    covered = {path.relative_to(ROOT).as_posix() for path in FIGURES.sources()}
    assert {
        "llmopt/report/plots.py",
        "llmopt/report/run.py",
        "llmopt/report/page.py",
        "llmopt/report/tables.py",
        "docs/figures.py",
    } <= covered


def test_the_stamp_changes_with_the_code_and_survives_in_the_png(tmp_path: Path, monkeypatch) -> None:
    from PIL import Image

    png = tmp_path / "f.png"
    Image.new("RGB", (4, 4)).save(png)
    FIGURES.stamp(png, FIGURES.code_hash())
    assert FIGURES.stamp_of(png) == FIGURES.code_hash()
    (tmp_path / "llmopt").mkdir()
    (tmp_path / "llmopt" / "plots.py").write_text("# drawn differently\n")
    monkeypatch.setattr(FIGURES, "ROOT", tmp_path)
    assert FIGURES.stamp_of(png) != FIGURES.code_hash()
