"""The README's two set-up commands are exactly what CI runs."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def bash_blocks() -> list[str]:
    return re.findall(r"```bash\n(.*?)\n```", (ROOT / "README.md").read_text(), flags=re.S)


def test_readme_opens_with_install_and_test_commands() -> None:
    install, test = bash_blocks()[:2]
    assert "pip install" in install and "llmopt run" in install
    assert "pytest" in test


def test_ci_runs_the_readme_commands_verbatim() -> None:
    ci_lines = (ROOT / ".ci" / "run").read_text().splitlines()
    for command in bash_blocks()[:2]:
        assert command in ci_lines


def test_every_file_the_readme_and_docs_name_under_examples_is_shipped() -> None:
    text = "".join(path.read_text() for path in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))])
    named = set(re.findall(r"examples/[\w.-]+", text))
    assert named, "the README's examples name their files"
    for path in named:
        assert (ROOT / path).is_file(), path
    assert (ROOT / "examples" / "mymodule.py").is_file()  # `cd examples` then --function mymodule:...


def test_the_readme_example_files_load_as_their_problems() -> None:
    from llmopt.contract.registry import build_problem

    examples = ROOT / "examples"
    assert build_problem("tsp", {"instance": str(examples / "cities12.tsp")}).optimum() == 2992
    assert build_problem("knapsack", {"instance": str(examples / "knapsack-12.txt")}).optimum() == 301
    assert build_problem("maxsat", {"instance": str(examples / "random3sat-20.cnf")}).formula.n_vars == 20
    from llmopt.problems.prompt_search.datasets import load_dataset

    found, kind = load_dataset(str(examples / "apples.jsonl"))
    assert len(found) == 40 and found[0].target.isdigit()


def test_the_version_is_the_changelogs_newest() -> None:
    version = re.search(r'^version = "([^"]+)"', (ROOT / "pyproject.toml").read_text(), flags=re.M).group(1)
    newest = re.search(r"^## (\S+)", (ROOT / "CHANGELOG.md").read_text(), flags=re.M).group(1)
    assert version == newest


def test_the_readme_is_an_on_ramp() -> None:
    lines = (ROOT / "README.md").read_text().splitlines()
    assert len(lines) < 250
    assert next(i for i, line in enumerate(lines) if line.startswith("```python")) < 80
