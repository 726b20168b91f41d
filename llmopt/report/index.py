"""An index of every run in a folder (each with its own report), and the page of a multi-seed bench."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from llmopt.report.page import counted, esc, figure, page, wide
from llmopt.report.run import RunRecord, read_run, write_run_report
from llmopt.report.tables import format_value, gap_to


def _row(record: RunRecord, report: Path, root: Path) -> str:
    results = record.results or {}
    rows = results.get("results") or [{}]
    opro = next((row for row in rows if row.get("method") == record.journaled), rows[0])
    best = opro.get("best_value", record.journaled_result.best_value)
    model = record.config.get("backend") or {}
    stamp = time.strftime("%Y-%m-%d %H:%M", time.localtime((record.directory / "config.json").stat().st_mtime))
    stop = opro.get("stop_reason") if record.finished else "unfinished"
    cells = [
        stamp,
        record.config.get("problem"),
        model.get("model") or model.get("path") or model.get("backend"),
        format_value(best),
        format_value(gap_to(best, results.get("optimum"))),
        record.last_step,
        stop,
    ]
    link = f"<a href='{esc(report.relative_to(root).as_posix())}'>{esc(record.directory.name)}</a>"
    return "<tr>" + f"<td class=l>{link}</td>" + "".join(f"<td class=l>{esc(c)}</td>" for c in cells) + "</tr>"


def write_index(root: str | Path, problem_for: Any = None) -> Path:
    """Write a report for every run directory below `root` and `root/index.html` linking them."""
    root = Path(root)
    rows, broken = [], []
    for config in sorted(root.glob("*/config.json")):
        try:
            record = read_run(config.parent)
            report = write_run_report(config.parent, problem_for(record) if problem_for else None)
        except (ValueError, KeyError, TypeError, OSError) as error:  # one broken run must not hide the others
            broken.append(f"<li>{esc(config.parent.name)}: {esc(error)}</li>")
            continue
        rows.append(_row(record, report, root))
    if not rows and not broken:
        raise ValueError(f"{root} holds no run directory (no */config.json)")
    header = "".join(
        f"<th class=l>{h}</th>"
        for h in ("run", "date", "problem", "model", "best value", "gap", "steps", "stop reason")
    )
    body = [
        f"<h1>llmopt runs in {esc(root)}</h1>",
        f"<p>{counted(len(rows), 'run')}; click a column to sort.</p>",
        wide(f"<table class='sortable'><thead><tr>{header}</tr></thead><tbody>{''.join(rows)}</tbody></table>"),
    ]
    if broken:
        body.append(f"<h2>Run directories that could not be read</h2><ul>{''.join(broken)}</ul>")
    path = root / "index.html"
    path.write_text(page(f"llmopt runs in {root}", body, sortable=True), encoding="utf-8", errors="xmlcharrefreplace")
    return path


def write_bench_report(
    path: str | Path, problem: str, table_text: str, rows: list[dict[str, Any]], optimum: float | None
) -> Path:
    """The page of a multi-seed experiment: its statistics table and the best-so-far bands per method."""
    from matplotlib.figure import Figure

    from llmopt.report.plots import bench_curves, plot_bands

    fig = Figure(figsize=(9, 4.5), layout="constrained")
    plot_bands(fig.subplots(), bench_curves(rows), optimum)
    body = [
        f"<h1>llmopt bench: {esc(problem)}</h1>",
        f"<pre>{esc(table_text)}</pre>",
        figure(fig, "median and interquartile band of the best value so far, per method"),
        f"<details><summary>raw rows (JSON)</summary><pre>{esc(json.dumps(rows, indent=1))}</pre></details>",
    ]
    path = Path(path)
    path.write_text(page(f"llmopt bench: {problem}", body), encoding="utf-8")
    return path
