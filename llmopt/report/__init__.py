"""Self-contained HTML reports: one per run (a transcript of every step), an index of runs, a bench page."""

from __future__ import annotations

from llmopt.report.index import write_bench_report, write_index
from llmopt.report.run import read_run, render_run, write_run_report

__all__ = ["read_run", "render_run", "write_bench_report", "write_index", "write_run_report"]
