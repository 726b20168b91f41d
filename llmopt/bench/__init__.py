"""Multi-seed experiments: OPRO and every compared method over K seeds at the same evaluation budget; the jobs
(`llmopt.bench.jobs`) and their statistics (`llmopt.bench.statistics`)."""

from __future__ import annotations

from llmopt.bench.jobs import (
    Job,
    ablation_study,
    best_by_round,
    execute,
    make_jobs,
    run_job,
    run_job_in_worker,
    worker_pool,
    worker_setup,
)
from llmopt.bench.statistics import best_by_median, model_notes, paper_table, summarize, summary_table

__all__ = [
    "Job",
    "ablation_study",
    "best_by_median",
    "best_by_round",
    "execute",
    "make_jobs",
    "model_notes",
    "paper_table",
    "run_job",
    "run_job_in_worker",
    "summarize",
    "summary_table",
    "worker_pool",
    "worker_setup",
]
