"""Where bench jobs run: server-bound jobs as threads under one request limit, the rest in worker processes
that share the cores; the same rows whichever way."""

from __future__ import annotations

import os

import pytest

from llmopt.bench import execute, make_jobs, worker_pool
from llmopt.cli import main
from llmopt.testing.stub_server import StubSettings, serve

OPRO_SETTINGS = {"steps": 2, "proposals": 3, "initial": 3, "temperature": 1.0}


@pytest.fixture
def stub():
    settings = StubSettings(latency=0.05)
    server, url = serve(settings)
    yield settings, url
    server.shutdown()


def jobs(url: str) -> list:
    model = {"model": "stub", "base_url": url, "check": False, "cache": None}
    return make_jobs("linear-regression", {}, ["opro", "opro-no-history", "random-search"], 2, OPRO_SETTINGS, model)


def comparable(rows: list[dict]) -> list[dict]:
    return [{k: v for k, v in row.items() if k != "seconds"} for row in rows]


def test_every_job_gives_the_same_row_whichever_way_it_runs(stub) -> None:
    _, url = stub
    in_turn = execute(jobs(url))
    threads = execute(jobs(url), None, server_threads=8)
    with worker_pool(2) as pool:
        processes = execute(jobs(url), pool)
        mixed = execute(jobs(url), pool, server_threads=8)
    assert comparable(in_turn) == comparable(threads) == comparable(processes) == comparable(mixed)
    assert [row["method"] for row in in_turn] == ["opro", "opro-no-history", "random-search"] * 2
    assert all(row["counts"]["requests"] == 2 for row in in_turn if row["kind"] != "black-box")


def test_server_bound_jobs_are_threads_of_this_process_and_the_rest_go_to_the_pool(stub) -> None:
    _, url = stub
    seen: dict[str, list[int]] = {}

    class Recording:
        def submit(self, fn, job):
            seen.setdefault(job.method, []).append(os.getpid())
            from concurrent.futures import Future

            future: Future = Future()
            future.set_result(fn(job))
            return future

    rows = execute(jobs(url), Recording(), server_threads=8)
    assert set(seen) == {"random-search"}, "only the job that needs no server went to the executor"
    assert len(rows) == 6


def test_each_worker_process_gets_its_share_of_the_cores(monkeypatch) -> None:
    from llmopt.backends.local import THREADS_ENV, thread_share

    monkeypatch.delenv(THREADS_ENV, raising=False)
    monkeypatch.setattr(os, "getloadavg", lambda: (0.0, 0.0, 0.0))  # a quiet machine
    cores = os.cpu_count() or 1
    with worker_pool(2) as pool:
        assert pool.submit(thread_share).result() == max(1, cores // 2)
    with worker_pool(1) as pool:
        assert pool.submit(thread_share).result() == cores


def test_a_busy_machine_gives_the_model_the_cores_its_load_leaves_free(monkeypatch) -> None:
    from llmopt.backends import local
    from llmopt.backends.local import THREADS_ENV, thread_share

    cores = os.cpu_count() or 1
    monkeypatch.delenv(THREADS_ENV, raising=False)
    monkeypatch.setattr(os, "getloadavg", lambda: (cores + 3.0, 1.0, 1.0))  # others keep every core busy
    local._free_cores_at_start.cache_clear()
    assert thread_share() == 1
    with worker_pool(1) as pool:
        assert pool.submit(thread_share).result() == 1, "a bench's model process spins on no busy core"
    monkeypatch.setattr(os, "getloadavg", lambda: (0.6, 1.0, 1.0))  # less than one core's worth of work
    assert thread_share() == 1, "read once per process: every backend shares one copy of the model"
    local._free_cores_at_start.cache_clear()
    assert thread_share() == cores
    monkeypatch.setenv(THREADS_ENV, "2")
    local._free_cores_at_start.cache_clear()  # the next test's process reads its own
    assert thread_share() == 2, "the user's count stands whatever the load"


def test_the_local_model_takes_the_processs_share(monkeypatch) -> None:
    from llmopt.backends.local import THREADS_ENV, LocalBackend

    monkeypatch.setenv(THREADS_ENV, "1")
    assert LocalBackend().n_threads == 1  # constructing loads nothing
    monkeypatch.setenv(THREADS_ENV, "6")
    assert LocalBackend(instances=2).n_threads == 3


def test_32_jobs_are_in_flight_against_a_server_that_takes_32(capsys) -> None:
    settings = StubSettings(latency=0.2, capacity=32, gather=32)
    settings.keep_bodies = False
    server, url = serve(settings)
    try:
        code = main(
            [
                "bench",
                "linear-regression",
                "--seeds",
                "16",
                "--steps",
                "2",
                "--proposals",
                "2",
                "--methods",
                "opro",
                "opro-no-history",
                "--model",
                "stub",
                "--base-url",
                url,
                "--no-cache",
                "--target",
                "-1",
            ]
        )
    finally:
        server.shutdown()
    assert code == 0
    assert settings.max_in_flight == 32 and settings.requests == 32 * 2
    err = capsys.readouterr().err
    assert "in_flight=" in err and "calls=" in err and "job" in err, "one bar over the jobs"


def test_json_output_stays_clean_of_the_bar(stub, capsys) -> None:
    import json

    _, url = stub
    assert (
        main(
            [
                "bench",
                "linear-regression",
                "--seeds",
                "1",
                "--steps",
                "1",
                "--methods",
                "opro",
                "--model",
                "stub",
                "--base-url",
                url,
                "--no-cache",
                "--json",
            ]
        )
        == 0
    )
    captured = capsys.readouterr()
    json.loads(captured.out)
    assert "in_flight=" not in captured.err


def test_jobs_of_the_embedded_model_run_first_in_their_own_process_then_the_rest() -> None:
    from concurrent.futures import Future

    order: list[tuple[str, str]] = []

    class Recording:
        def __init__(self, name: str) -> None:
            self.name = name

        def submit(self, fn, job):
            order.append((self.name, job.method))
            future: Future = Future()
            future.set_result(
                {"method": job.method, "counts": {"llm_calls": 0, "prompt_tokens": 0, "completion_tokens": 0}}
            )
            return future

    found = make_jobs("linear-regression", {}, ["opro", "random-search", "opro-no-history"], 1, OPRO_SETTINGS, {})
    rows = execute(found, Recording("cpu"), server_threads=8, local_model=Recording("model"))
    assert order == [("model", "opro"), ("model", "opro-no-history"), ("cpu", "random-search")]
    assert [row["method"] for row in rows] == ["opro", "random-search", "opro-no-history"], "rows in job order"
