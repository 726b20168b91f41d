"""Evaluations side by side through the CLI and on real workers: kill -9 and Ctrl-C in the middle of a
round, worker processes that die, Dask workers, the embedded model, and a 200-item knapsack that every
default method gets through."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from llmopt import OPROConfig, compare
from llmopt.problems.numeric import NumericProblem

ROOT = Path(__file__).resolve().parents[1]

# A bowl that logs each call; in step 1 (read from the run's pending journal) the first call to take the
# lock becomes the victim: it waits until another evaluation of that round is journaled, then `ACTION`.
OBJECTIVE = """
import json, os, signal, time
from pathlib import Path

HERE = Path(__file__).parent
RUN = Path(os.environ["RUN_DIR"])


def _in_step_one():
    try:
        return json.loads((RUN / "pending.jsonl").read_text().splitlines()[0])["step"] == 1
    except (OSError, IndexError, ValueError):
        return False


def bowl(x):
    with (HERE / "calls.log").open("a") as log:
        log.write(",".join(str(v) for v in x) + "\\n")
    if os.environ.get("ACTION") and _in_step_one():
        try:
            os.close(os.open(HERE / "victim", os.O_CREAT | os.O_EXCL))
        except FileExistsError:
            return float(sum((v - 3) ** 2 for v in x))
        for _ in range(2000):
            if len((RUN / "pending.jsonl").read_text().splitlines()) > 1:
                break
            time.sleep(0.01)
        (HERE / "victim").write_text(",".join(str(v) for v in x) + "|" + str(os.getpid()))
        if os.environ["ACTION"] == "kill":
            os.kill(os.getpid(), signal.SIGKILL)
        time.sleep(600)  # hung: Ctrl-C must end the run anyway
    return float(sum((v - 3) ** 2 for v in x))
"""


@pytest.fixture
def stub_url():
    from llmopt.testing.stub_server import StubSettings, serve

    server, url = serve(StubSettings())  # answers by the request's seed alone: every run gets the same answers
    yield url
    server.shutdown()


def cli(tmp_path: Path, url: str, run_dir: Path, *extra: str, action: str = "", wait: bool = True):
    command = [
        sys.executable,
        "-m",
        "llmopt.cli",
        "run",
        "function",
        "--function",
        "objective:bowl",
        "--bounds=0:30,0:30",
        "--integer",
        "--steps",
        "3",
        "--proposals",
        "4",
        "--model",
        "stub",
        "--base-url",
        url,
        "--no-cache",
        "--eval-workers",
        "4",
        "--json",
        "--out",
        str(run_dir),
        *extra,
    ]
    env = {**os.environ, "RUN_DIR": str(run_dir), "ACTION": action, "PYTHONPATH": str(tmp_path)}
    if wait:
        return subprocess.run(command, capture_output=True, text=True, cwd=tmp_path, env=env, timeout=120)
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path, env=env)


def trials(run_dir: Path) -> list[tuple]:
    rows = json.loads((run_dir / "results.json").read_text())["full_results"][0]["trials"]
    return [(t["step"], t["status"], t["text"], t["value"]) for t in rows]


def journaled_before(run_dir: Path) -> list[str]:
    """The texts of the evaluations of the pending step that were journaled when the run died."""
    lines = [json.loads(line) for line in (run_dir / "pending.jsonl").read_text().splitlines()]
    raws = [p["raw"] for p in lines[0]["proposals"]]
    return [raws[line["index"]] for line in lines[1:]]


def test_kill_9_in_the_middle_of_a_round_loses_and_repeats_nothing(tmp_path: Path, stub_url: str) -> None:
    (tmp_path / "objective.py").write_text(OBJECTIVE)
    run_dir, full = tmp_path / "run", tmp_path / "full"
    killed = cli(tmp_path, stub_url, run_dir, action="kill")
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    victim = (tmp_path / "victim").read_text().split("|")[0]
    kept = journaled_before(run_dir)
    assert kept, "the round was in its middle: another evaluation of it had been journaled"
    before = (tmp_path / "calls.log").read_text().splitlines()
    done = cli(tmp_path, stub_url, run_dir, "--resume", str(run_dir))
    assert done.returncode == 0, done.stderr
    after = (tmp_path / "calls.log").read_text().splitlines()[len(before) :]
    assert victim in after, "the evaluation that was cut off is scored again"
    as_calls = {raw.strip("[] ").replace(" ", "") for raw in kept}
    assert not as_calls & set(after), "an evaluation journaled before the kill was repeated"
    reference = cli(tmp_path, stub_url, full)
    assert reference.returncode == 0 and trials(run_dir) == trials(full), "the resumed run is the uninterrupted one"
    rounds = {
        run: {
            t["raw"]: t["round"]
            for t in json.loads((run / "results.json").read_text())["full_results"][0]["trials"]
            if t["raw"]
        }
        for run in (run_dir, full)
    }
    assert all(rounds[run_dir][raw] == rounds[full][raw] for raw in kept), "a journaled value keeps its round"


def test_ctrl_c_in_the_middle_of_a_round_stops_the_run_resumable_and_starts_no_other_method(
    tmp_path: Path, stub_url: str
) -> None:
    (tmp_path / "objective.py").write_text(OBJECTIVE)
    run_dir = tmp_path / "run"
    process = cli(
        tmp_path,
        stub_url,
        run_dir,
        "--methods",
        "opro",
        "random-search",
        "--eval-in",
        "processes",
        action="hang",
        wait=False,
    )
    for _ in range(1000):
        if (tmp_path / "victim").exists() and (tmp_path / "victim").read_text():
            break
        time.sleep(0.05)
    else:
        process.kill()
        pytest.fail("no evaluation ever hung")
    victim_pid = int((tmp_path / "victim").read_text().split("|")[1])
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    assert out == "" and f"interrupted; continue with --resume {run_dir}" in err, "nothing reads like a comparison"
    with pytest.raises(ProcessLookupError):  # the hung evaluation's worker process was killed, not left behind
        os.kill(victim_pid, 0)
    assert not (run_dir / "results.json").exists()
    calls = (tmp_path / "calls.log").read_text().splitlines()
    assert len(calls) <= 5 + 4, "random search never started"
    done = cli(tmp_path, stub_url, run_dir, "--methods", "opro", "random-search", "--resume", str(run_dir))
    assert done.returncode == 0, done.stderr
    rows = json.loads(done.stdout)["results"]
    assert [r["method"] for r in rows] == ["opro", "random-search"] and rows[0]["stop_reason"] == "max_steps"


def test_the_cli_runs_evaluations_in_processes_and_reports_rounds(tmp_path: Path, stub_url: str) -> None:
    (tmp_path / "objective.py").write_text(
        OBJECTIVE.replace("def bowl(x):", "def bowl(x):\n    x = list(x) + [os.getpid()]")
    )
    done = cli(
        tmp_path,
        stub_url,
        tmp_path / "run",
        "--eval-in",
        "processes",
        "--methods",
        "opro",
        "cma-es",
        "--plot",
        str(tmp_path / "run.png"),
        "--html",
    )
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "run.png").is_file()
    assert "best so far against rounds" in (tmp_path / "run" / "report.html").read_text()
    pids = {int(line.split(",")[-1]) for line in (tmp_path / "calls.log").read_text().splitlines()}
    assert pids and not pids & {os.getpid()}, "evaluated in worker processes"
    opro, cma = json.loads(done.stdout)["results"]
    assert opro["rounds"] == 2 + 3 < opro["n_evals"], "two rounds of start points, one per step"
    assert cma["rounds"] < cma["n_evals"], "CMA-ES's generations are rounds"


# Random search on an objective whose every evaluation ends its worker process (os._exit(1)), two workers at a
# time, 41 deaths. A thread keeps the GIL in 20 ms stretches, as a busy parent does: the pool's own threads
# then see a death before they read the worker's last message, the moment a shared task queue mishandles.
DEATHS = """
import ctypes, json, threading, time
from llmopt import OPROConfig, compare
from llmopt.problems.numeric import NumericProblem
from llmopt.testing import objectives

def stall():
    usleep = ctypes.PyDLL(None).usleep  # a PyDLL call holds the GIL while it sleeps
    while True:
        usleep(20000)
        time.sleep(0.002)

threading.Thread(target=stall, daemon=True).start()
result, = compare(NumericProblem(objectives.die, [(-5, 5), (-5, 5)]),
                  OPROConfig(steps=9, proposals=4, eval_workers=2, eval_in="processes"), ["random-search"])
print(json.dumps({"stop": result.stop_reason, "failed": result.counts.failed_evals,
                  "reasons": sorted({t.reason for t in result.trials if t.status == "failed"})}))
"""


def test_forty_worker_deaths_each_fail_their_evaluation_and_the_run_never_hangs() -> None:
    try:  # a lost evaluation would make the run wait forever: the time limit turns that into a failure
        done = subprocess.run([sys.executable, "-c", DEATHS], capture_output=True, text=True, timeout=25)
    except subprocess.TimeoutExpired:
        pytest.fail("the run hung after a worker process died")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {
        "stop": "max_failures (the default: the budget, 41)",
        "failed": 41,
        "reasons": ["the evaluation's worker died (exit code 1)"],
    }


def test_worker_processes_import_the_objective_from_the_current_folder(tmp_path: Path) -> None:
    (tmp_path / "mymodule.py").write_text("def square(x):\n    return float(x[0] ** 2 + x[1] ** 2)\n")
    # -P leaves the current folder off the path, as the installed `llmopt` command does
    done = subprocess.run(
        [
            sys.executable,
            "-P",
            "-m",
            "llmopt.cli",
            "run",
            "function",
            "--function",
            "mymodule:square",
            "--bounds=-5:5,-5:5",
            "--steps",
            "2",
            "--methods",
            "random-search",
            "--eval-in",
            "processes",
            "--eval-workers",
            "2",
            "--no-cache",
            "--json",
            "--out",
            str(tmp_path / "run"),
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    (row,) = json.loads(done.stdout)["results"]
    assert row["n_evals"] > 0 and row["failed_evals"] == 0, "every evaluation imported mymodule in its worker"


def test_an_unreachable_dask_scheduler_is_one_line_and_exit_2(tmp_path: Path) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "llmopt.cli",
            "baselines",
            "sphere",
            "--dask",
            "tcp://127.0.0.1:9",
            "--methods",
            "random-search",
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
    )
    assert done.returncode == 2 and done.stderr.count("\n") == 1 and "Dask scheduler" in done.stderr


@pytest.mark.slow  # starts a real Dask scheduler and two worker processes
def test_evaluations_run_on_real_dask_workers() -> None:
    from distributed import Client, LocalCluster

    with (
        LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster,
        Client(cluster) as client,
    ):
        workers = set(client.run(os.getpid).values())
        problem = NumericProblem(lambda x: float(os.getpid()) + 0 * x[0], [(-5, 5)])
        (result,) = compare(
            problem, OPROConfig(steps=2, proposals=4, eval_workers=2, dask=cluster.scheduler_address), ["random-search"]
        )
    values = {t.value for t in result.evaluated()}
    assert result.counts.evals == 13 and values <= {float(pid) for pid in workers} and os.getpid() not in values


@pytest.mark.slow  # runs the embedded model
def test_opro_on_the_embedded_model_evaluates_a_step_in_processes() -> None:
    from llmopt.testing import objectives

    problem = NumericProblem(objectives.pid, [(-5, 5), (-5, 5)], integer=True)  # the value: who evaluated
    (result,) = compare(problem, OPROConfig(steps=1, proposals=4, eval_workers=4, eval_in="processes"), ["opro"])
    assert all(t.value != os.getpid() for t in result.evaluated()), "every value came from a worker process"
    scored = len([t for t in result.evaluated() if t.step == 1])
    assert result.counts.rounds == 2 + (scored > 0), "five start points in two rounds of four, the step in one"


def test_a_200_item_knapsack_gets_through_every_default_black_box_method(tmp_path: Path) -> None:
    """The held-out case: random bit vectors are all over capacity. Each is scored with its excess weight as
    a constraint (no longer an invalid answer), so a method that proposes only those spends its budget and
    says it found no feasible solution; a best value, where there is one, is feasible."""
    from llmopt.methods import compared_methods
    from llmopt.problems.knapsack import Knapsack

    rng = np.random.default_rng(7)
    items = rng.integers(10, 100, size=(200, 2))
    path = tmp_path / "k200.txt"
    path.write_text(f"200 {items[:, 1].sum() // 10}\n" + "".join(f"{v} {w}\n" for v, w in items))
    problem = Knapsack.from_options(instance=str(path))
    names = [n for n in compared_methods(problem) if n not in problem.references()]
    results = compare(problem, OPROConfig(), names)
    reasons = {r.method: r.stop_reason for r in results}
    assert set(reasons) == set(names) and all(reasons.values()), reasons
    search = next(r for r in results if r.method == "random-search")
    assert search.stop_reason == "max_evals" and search.counts.n_invalid == 0
    assert search.no_feasible and search.best_value is None
    for result in results:
        assert result.best_value is None or result.best_trial().feasible, result.method


def test_the_rounds_figure_draws_each_method_against_its_rounds_and_labels_references() -> None:
    from matplotlib.figure import Figure

    from llmopt import setup_for
    from llmopt.core.result import side_by_side
    from llmopt.methods import reference
    from llmopt.report.plots import plot_rounds

    problem = NumericProblem(lambda x: float(x[0] ** 2), [(-5, 5)])
    config = OPROConfig(steps=3, proposals=4, eval_workers=4)
    results = compare(problem, config, ["random-search"])
    results.append(reference("exact", lambda: (0.0,)).run(problem, setup_for(problem, config)))
    assert side_by_side(results)
    ax = Figure().subplots()
    plot_rounds(ax, results)
    line, exact = ax.get_lines()
    assert list(line.get_xdata()) == [t.round for t in results[0].evaluated()] and max(line.get_xdata()) == 5
    assert exact.get_label() == "exact (reference)" and list(exact.get_ydata()) == [0.0, 0.0]


def test_the_bench_ranks_at_equal_rounds_when_evaluations_ran_side_by_side() -> None:
    from llmopt.bench import execute, make_jobs, summarize, summary_table

    settings = {"steps": 3, "proposals": 4, "eval_workers": 4}
    rows = execute(make_jobs("sphere", {}, ["random-search", "powell"], 2, settings, {"model": "local"}))
    search, powell = summarize(rows)
    assert search["at_rounds"] == powell["at_rounds"] == min(r["rounds"] for r in rows) < 17
    at = search["at_rounds"]
    low, high = sorted(r["best_by_round"][at - 1] for r in rows if r["method"] == "random-search")
    assert search["median_at_rounds"] == pytest.approx((low + high) / 2), "the midpoint of two, as the table's median"
    assert f"median @ {at} rounds" in summary_table(rows)
    sequential = execute(make_jobs("sphere", {}, ["powell"], 1, {**settings, "eval_workers": 1}, {"model": "local"}))
    assert "rounds" not in summary_table(sequential), "one worker: rounds are evaluations, no second ranking"


def test_a_hung_evaluation_in_a_thread_is_cut_and_the_run_finishes_and_exits(tmp_path: Path, stub_url: str) -> None:
    (tmp_path / "objective.py").write_text(  # the first evaluation to take the mark never ends
        "import os, time\nfrom pathlib import Path\n\nMARK = Path(__file__).with_name('hung')\n\n"
        "def bowl(x):\n    try:\n        os.close(os.open(MARK, os.O_CREAT | os.O_EXCL))\n"
        "    except FileExistsError:\n        return float((x[0] - 3) ** 2 + (x[1] - 7) ** 2)\n"
        "    time.sleep(600)\n"
    )
    done = cli(tmp_path, stub_url, tmp_path / "run", "--eval-timeout", "1", "--methods", "opro", "random-search")
    assert done.returncode == 0, done.stderr  # and the process exited, its hung thread abandoned
    rows = json.loads(done.stdout)["results"]
    assert [r["stop_reason"] for r in rows] == ["max_steps", "max_evals"] and rows[0]["failed_evals"] == 1
    trials = json.loads((tmp_path / "run" / "results.json").read_text())["full_results"][0]["trials"]
    assert [t["reason"] for t in trials if t["status"] == "failed"] == ["timed out after 1 s"]
