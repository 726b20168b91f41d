"""The registry: built-ins, third-party plugins through the entry-point group, clear errors."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest

from llmopt.contract.problem import UsageError
from llmopt.contract.registry import ENTRY_POINT_GROUP, get_problem, registry

PLUGIN = '''
from llmopt.contract.problem import InvalidSolution, Problem

class Parity(Problem):
    """Maximise x mod 7 over integers 0..99."""
    name = "parity-demo"
    summary = "toy plugin"
    direction = "max"

    def describe(self): return "Find x in 0..99 with the largest x mod 7."
    def format_hint(self): return "Answer as <x>N</x>."
    def encode(self, s): return f"<x>{s}</x>"
    def decode(self, text):
        if not (text.startswith("<x>") and text.endswith("</x>") and text[3:-4].isdigit()):
            raise InvalidSolution("no <x>N</x>")
        return int(text[3:-4])
    def evaluate(self, s): return float(s % 7)
    def initial(self, rng, k): return [int(v) for v in rng.integers(0, 100, k)]


class FakeTSP(Parity):
    name = "tsp"
'''


@pytest.fixture
def plugin_on_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "parity_plugin.py").write_text(PLUGIN)
    info = tmp_path / "parity_plugin-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: parity-plugin\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(
        textwrap.dedent(f"""\
        [{ENTRY_POINT_GROUP}]
        parity-demo = parity_plugin:Parity
        broken = parity_plugin:DoesNotExist
        tsp = parity_plugin:FakeTSP
        """)
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    yield tmp_path
    sys.modules.pop("parity_plugin", None)


def test_builtins_are_registered() -> None:
    assert "linear-regression" in registry()


def test_entry_point_plugin_is_found_and_broken_ones_skipped(plugin_on_path: Path) -> None:
    with pytest.warns(UserWarning) as caught:
        problems = registry()
    assert problems["parity-demo"].summary == "toy plugin"
    messages = [str(w.message) for w in caught]
    assert any("'broken'" in m for m in messages) and any("'tsp'" in m and "taken" in m for m in messages)
    assert problems["tsp"].__module__ == "llmopt.problems.tsp.problem"  # a plugin cannot shadow a built-in


def test_plugin_passes_the_contract(plugin_on_path: Path) -> None:
    import numpy as np

    from llmopt.contract.problem import InvalidSolution

    with pytest.warns(UserWarning):
        problem = get_problem("parity-demo")()
    for s in problem.initial(np.random.default_rng(0), 5):
        assert problem.decode(problem.encode(s)) == s
    with pytest.raises(InvalidSolution):
        problem.decode("seven")


def test_unknown_problem_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="llmopt problems"):
        get_problem("no-such-problem")
