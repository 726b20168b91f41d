"""The HTML report of a run: every step and answer with its status and value, escaped model text,
unfinished and resumed runs, an index of runs, and a real headless browser rendering it."""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest

from llmopt.backends.scripted import ScriptedBackend
from llmopt.cli import main
from llmopt.engine.records import RunRecorder, read_steps
from llmopt.opro import OPRO, OPROConfig
from llmopt.report import write_index, write_run_report
from llmopt.report.tables import format_value

ROOT = Path(__file__).resolve().parents[2]
HOSTILE = ["<script>alert(1)</script>[3, 4]", "<img src=x onerror=alert(2)> [5, 5]"]


class Page(HTMLParser):
    """The parts of a page the tests read: summaries, tables (rows of cell texts), tags seen."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.summaries: list[str] = []
        self.tables: list[list[list[str]]] = []
        self.tags: list[str] = []
        self.sources: list[str] = []
        self._cell: list[str] | None = None
        self._summary: list[str] | None = None
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list) -> None:
        self.tags.append(tag)
        if tag == "img":
            self.sources.append(dict(attrs).get("src", ""))
        if tag == "table":
            self.tables.append([])
        elif tag == "tr":
            self.tables[-1].append([])
        elif tag in ("td", "th"):
            self._cell = []
        elif tag == "summary":
            self._summary = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None:
            self.tables[-1][-1].append("".join(self._cell))
            self._cell = None
        elif tag == "summary" and self._summary is not None:
            self.summaries.append("".join(self._summary))
            self._summary = None

    def handle_data(self, data: str) -> None:
        for part in (self._cell, self._summary):
            if part is not None:
                part.append(data)


def scripted_run(directory: Path, steps: int = 3) -> None:
    """A real OPRO run on the stub-free scripted backend, written by the CLI's own recorder."""
    from llmopt.problems.linear_regression import LinearRegression

    texts = [*HOSTILE, "[15, 14]", "[15, 14]", "no pair", "[16, 12]"] * steps
    config = OPROConfig(steps=steps, proposals=6, initial=2, seed=3)
    recorder = RunRecorder(
        directory,
        {
            "problem": "linear-regression",
            "direction": "min",
            "opro": config.to_dict(),
            "problem_config": {},
            "backend": {"backend": "scripted"},
        },
    )
    OPRO(LinearRegression(), ScriptedBackend(texts), config, recorder).run()


def test_every_step_and_answer_is_shown_with_its_status_and_value(tmp_path: Path) -> None:
    scripted_run(tmp_path / "run")
    page = Page(write_run_report(tmp_path / "run").read_text())
    steps = read_steps(tmp_path / "run")
    step_summaries = [s for s in page.summaries if s.startswith(("initial points", "step "))]
    assert len(step_summaries) == len(steps) == 4
    answer_tables = [t for t in page.tables if t and t[0][:2] == ["#", "status"]]
    assert len(answer_tables) == len(steps)
    for table, step in zip(answer_tables, steps):
        rows = table[1:]
        assert len(rows) == len(step["trials"])
        for row, trial in zip(rows, step["trials"]):
            status = "valid" if trial["status"] in ("ok", "initial") else trial["status"]
            assert row[1] == status and row[2] == format_value(trial["value"])
            assert row[4] == (trial["reason"] or "")
    statuses = {row[1] for table in answer_tables for row in table[1:]}
    assert {"valid", "duplicate", "invalid"} <= statuses
    assert any("new best" in s for s in step_summaries)


def test_model_text_is_shown_as_text_never_as_markup(tmp_path: Path) -> None:
    scripted_run(tmp_path / "run", steps=1)
    text = write_run_report(tmp_path / "run").read_text()
    page = Page(text)
    assert page.tags.count("script") == 1  # the page's own sorting script, and no other
    assert all(src.startswith("data:image/png;base64,") for src in page.sources)  # only our inline figures
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text and "&lt;img src=x onerror=alert(2)&gt;" in text
    assert "<script>alert" not in text and "<img src=x" not in text


def test_a_run_killed_mid_step_is_reported_with_its_step_in_progress(tmp_path: Path) -> None:
    from llmopt.problems.linear_regression import LinearRegression

    class Killed(LinearRegression):
        def evaluate(self, solution):
            if solution == (16, 12):
                raise KeyboardInterrupt  # the process dies while scoring step 1
            return super().evaluate(solution)

    config = OPROConfig(steps=3, proposals=3, initial=2, seed=3)
    recorder = RunRecorder(tmp_path / "run", {"problem": "linear-regression", "opro": config.to_dict()})
    with pytest.raises(KeyboardInterrupt):
        OPRO(Killed(), ScriptedBackend(["[15, 14]", "[16, 12]", "[1, 1]"]), config, recorder).run()
    RunRecorder(tmp_path / "run", {}, resume=True)  # a resume that was itself cut short
    text = write_run_report(tmp_path / "run").read_text()
    page = Page(text)
    assert "This run is unfinished" in text and "--resume" in text and "resumed 1 time" in text
    assert "step 1: in progress when the run stopped" in page.summaries
    assert "[16, 12]" in text  # the proposals of the step in progress are shown


def test_the_index_links_every_run_and_sorts(tmp_path: Path) -> None:
    for name in ("a", "b"):
        scripted_run(tmp_path / name, steps=1)
    index = write_index(tmp_path)
    page = Page(index.read_text())
    (table,) = page.tables
    assert [row[0] for row in table[1:]] == ["a", "b"] and table[0][0] == "run"
    assert (tmp_path / "a" / "report.html").is_file() and "class='sortable'" in index.read_text()


def test_report_command_reports_a_folder_and_refuses_nonsense(tmp_path: Path, capsys) -> None:
    scripted_run(tmp_path / "runs" / "one", steps=1)
    assert main(["report", str(tmp_path / "runs"), "--html"]) == 0
    assert (tmp_path / "runs" / "index.html").is_file()
    assert main(["report", str(tmp_path / "empty"), "--html"]) == 2


def test_a_large_run_stays_small(tmp_path: Path) -> None:
    from llmopt.problems.linear_regression import LinearRegression

    config = OPROConfig(steps=200, proposals=8, initial=5, seed=1)
    texts = [f"[{i % 40 - 20}, {i % 37 - 18}]" for i in range(200 * 8)]
    recorder = RunRecorder(tmp_path / "big", {"problem": "linear-regression", "opro": config.to_dict()})
    OPRO(LinearRegression(), ScriptedBackend(texts), config, recorder).run()
    size = write_run_report(tmp_path / "big").stat().st_size
    assert size < 3_000_000, f"{size} bytes for 200 steps"


@pytest.mark.slow
def test_a_real_run_report_renders_in_headless_chromium(tmp_path: Path) -> None:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if not browser:  # CI sets LLMOPT_REQUIRE_BROWSER=1 (and installs chromium), so there it is never skipped
        assert not os.environ.get("LLMOPT_REQUIRE_BROWSER"), "chromium is missing: .ci/run installs it with apt-get"
        pytest.skip(
            "no chromium on PATH: the report is checked in a real browser where one is installed "
            "(apt-get install chromium)"
        )
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "llmopt.cli",
            "run",
            "tsp",
            "--cities",
            "10",
            "--steps",
            "3",
            "--html",
            "--json",
            "--out",
            str(tmp_path / "run"),
            "--methods",
            "opro",
            "nearest-neighbour",
            "local-search",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=900,
    )
    assert done.returncode == 0, done.stderr
    report = tmp_path / "run" / "report.html"
    page = Page(report.read_text())
    assert len([t for t in page.tables if t and t[0][:2] == ["#", "status"]]) == 4
    assert page.tags.count("img") >= 2  # the convergence figure and at least one drawn tour
    shot = tmp_path / "shot.png"
    headless(browser, tmp_path, "--window-size=1200,900", f"--screenshot={shot}", report.as_uri())
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert (width, height) == (1200, 900) and len(data) > 20_000  # a page of the size asked, not a blank one
    # In a window narrower than the figure and the comparison, every step opened, the page never scrolls
    # sideways: figures shrink to the page, wide tables scroll in their own box.
    probe = tmp_path / "run" / "probe.html"
    probe.write_text(report.read_text().replace("</body>", f"{WIDTH_PROBE}</body>"))
    dom = headless(
        browser, tmp_path, "--window-size=700,900", "--virtual-time-budget=5000", "--dump-dom", probe.as_uri()
    )
    scroll, client = map(int, re.search(r'data-fit="(\d+) (\d+)"', dom).groups())
    assert 0 < client < 700 and scroll <= client, f"the page is {scroll} px wide in a {client} px window"


# Measured once the page and its images have loaded, every folded step opened.
WIDTH_PROBE = (
    "<script>window.addEventListener('load',function(){"
    "document.querySelectorAll('details').forEach(function(d){d.open=true;});"
    "var page=document.documentElement;"
    "document.body.setAttribute('data-fit',page.scrollWidth+' '+page.clientWidth);});</script>"
)


def headless(browser: str, tmp_path: Path, *arguments: str) -> str:
    """Run headless Chromium offline with a scratch profile; returns what it printed."""
    done = subprocess.run(
        [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={tmp_path / 'profile'}",
            *arguments,
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    return done.stdout


def test_bench_writes_its_table_and_bands_as_one_page(tmp_path: Path) -> None:
    out = tmp_path / "bench.html"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "llmopt.cli",
            "bench",
            "sphere",
            "--seeds",
            "3",
            "--steps",
            "2",
            "--methods",
            "random-search",
            "powell",
            "--workers",
            "1",
            "--html",
            str(out),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    text = out.read_text()
    page = Page(text)
    assert done.stdout.strip().splitlines()[0] in text  # the same table as printed
    assert len(page.sources) == 1 and page.sources[0].startswith("data:image/png;base64,")
    rows = json.loads(html.unescape(text.split("<pre>")[-1].split("</pre>")[0]))
    assert len(rows) == 6 and all(len(r["best_so_far"]) == r["n_evals"] for r in rows)


def test_reasoning_is_shown_folded_apart_from_the_answer_and_escaped(tmp_path: Path) -> None:
    from llmopt.problems.linear_regression import LinearRegression

    texts = ["<think>maybe <b>[9, 9]</b>?</think>[3, 4]", "[5, 6]"]
    config = OPROConfig(steps=1, proposals=2, initial=1, seed=3)
    recorder = RunRecorder(
        tmp_path / "run",
        {
            "problem": "linear-regression",
            "direction": "min",
            "opro": config.to_dict(),
            "problem_config": {},
            "backend": {"backend": "scripted"},
        },
    )
    OPRO(LinearRegression(), ScriptedBackend(texts), config, recorder).run()
    text = write_run_report(tmp_path / "run").read_text()
    assert "<details class='reasoning'><summary>reasoning</summary><pre>maybe &lt;b&gt;[9, 9]&lt;/b&gt;?</pre>" in text
    assert text.count("class='reasoning'") == 1, "only the answer that came with reasoning has it"
    assert "&lt;think&gt;" not in text and "<b>[9, 9]" not in text


def test_without_a_browser_the_browser_test_skips_with_its_reason_unless_ci_requires_one(tmp_path: Path) -> None:
    node = f"{Path(__file__)}::test_a_real_run_report_renders_in_headless_chromium"
    env = {k: v for k, v in os.environ.items() if k != "LLMOPT_REQUIRE_BROWSER"}
    env["PATH"] = str(Path(sys.executable).parent)  # a machine with no browser installed
    command = [sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", node]
    fresh = subprocess.run(command, capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120)
    assert fresh.returncode == 0 and "1 skipped" in fresh.stdout and "no chromium on PATH" in fresh.stdout
    required = subprocess.run(
        command, capture_output=True, text=True, env={**env, "LLMOPT_REQUIRE_BROWSER": "1"}, cwd=tmp_path, timeout=120
    )
    assert required.returncode == 1 and "chromium is missing" in required.stdout
