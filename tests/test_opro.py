"""OPRO control flow with a scripted backend: ask/tell, duplicates, rejections, stop rules."""

from __future__ import annotations

import json

import numpy as np
import pytest

from llmopt.backends.scripted import ScriptedBackend
from llmopt.engine.records import RunRecorder, read_steps
from llmopt.opro import OPRO, OPROConfig
from llmopt.problems.linear_regression import LinearRegression


def make(texts: list[str], **config) -> tuple[OPRO, ScriptedBackend]:
    backend = ScriptedBackend(texts)
    return OPRO(LinearRegression(), backend, OPROConfig(**config)), backend


def test_initial_points_are_step_zero() -> None:
    opro, _ = make([], initial=5)
    opro.start()
    assert [t.step for t in opro.result.trials] == [0] * 5
    assert opro.result.counts.evals == 5
    assert all(10 <= v <= 20 for t in opro.result.trials for v in t.solution)


def test_one_request_per_step_with_all_proposals() -> None:
    opro, backend = make(["[1, 1]"] * 40, steps=3, proposals=4, temperature=0.7)
    opro.run()
    assert [r["n"] for r in backend.requests] == [4, 4, 4]
    assert all(r["temperature"] == 0.7 for r in backend.requests)
    assert len({r["seed"] for r in backend.requests}) == 3
    assert opro.result.counts.llm_calls == 3


def test_duplicates_and_invalid_are_counted_not_evaluated() -> None:
    opro, _ = make(["[15, 14]", "[15, 14]", "nonsense", "[1.5, 2]"], steps=1, proposals=4, initial=1)
    result = opro.run()
    counts = result.counts
    assert counts.evals == 2 and counts.duplicates == 1 and counts.proposals == 4
    assert counts.invalid == {"no [w, b] found": 1, "not an integer": 1}
    assert [t.status for t in result.trials] == ["initial", "ok", "duplicate", "invalid", "invalid"]
    assert result.best_solution == (15, 14)


def test_history_duplicate_is_not_reevaluated() -> None:
    opro, _ = make(["[3, 3]", "[3, 3]"], steps=2, proposals=1, initial=1)
    opro.run()
    assert opro.result.counts.duplicates == 1
    assert opro.result.counts.evals == 2


def test_best_comes_last_in_the_prompt() -> None:
    opro, backend = make(["[15, 14]", "[0, 0]"], steps=2, proposals=1, initial=3)
    opro.run()
    last_pair = backend.prompts[1].split("(w, b) pair: ")[-1].splitlines()[0]
    assert last_pair == "[15, 14]"


def test_stop_on_target() -> None:
    opro, _ = make(["[15, 14]"] + ["[1, 1]"] * 20, steps=10, proposals=1, target=50.0)
    result = opro.run()
    assert result.stop_reason == "target" and opro.step == 1


def test_stop_on_max_evals_never_overshoots() -> None:
    opro, _ = make([f"[{i}, {i}]" for i in range(40)], steps=10, proposals=4, initial=5, max_evals=11)
    result = opro.run()
    assert result.stop_reason == "max_evals"
    assert result.counts.evals == 11
    assert sum(t.status == "skipped" for t in result.trials) == 2


def test_stop_on_patience() -> None:
    opro, _ = make(
        ["[15, 14]"] + ["[90, 90]"] * 10 + [f"[{i}, 0]" for i in range(50, 60)], steps=20, proposals=1, patience=3
    )
    result = opro.run()
    assert result.stop_reason == "patience" and opro.step == 4


def test_max_steps() -> None:
    opro, _ = make([f"[{i}, 1]" for i in range(30)], steps=3, proposals=2)
    assert opro.run().stop_reason == "max_steps"


def test_tell_records_and_never_evaluates(tmp_path) -> None:
    from llmopt.engine.records import RunRecorder, read_pending

    recorder = RunRecorder(tmp_path, {})
    opro = OPRO(LinearRegression(), ScriptedBackend(["[1, 2]", "[3, 4]"]), OPROConfig(proposals=2, initial=1), recorder)
    ask = opro.ask()
    evaluations = opro.result.counts.evals
    with pytest.raises(ValueError, match="has no value"):
        opro.tell(ask)
    assert opro.result.counts.evals == evaluations and opro.ask() is ask, "the step is still pending, untouched"
    values = opro.evaluate(ask)
    assert read_pending(tmp_path)["evals"] == list(enumerate(values)), "each evaluation journaled as it ends"
    assert [t.value for t in opro.tell(ask)] == values


def test_tell_accepts_external_values() -> None:
    opro, _ = make(["[1, 2]", "[3, 4]"], proposals=2, initial=1)
    ask = opro.ask()
    trials = opro.tell(ask, [-5.0, -7.0])
    assert [t.value for t in trials] == [-5.0, -7.0]
    assert opro.result.best_solution == (3, 4)
    with pytest.raises(ValueError):
        opro.tell(ask, [1.0])


def test_run_records_every_step(tmp_path) -> None:
    recorder = RunRecorder(tmp_path / "run", {"problem": "linear-regression"})
    backend = ScriptedBackend(["[1, 1]", "junk", "[2, 2]", "[3, 3]"])
    OPRO(LinearRegression(), backend, OPROConfig(steps=2, proposals=2), recorder).run()
    steps = read_steps(tmp_path / "run")
    assert [s["step"] for s in steps] == [0, 1, 2]
    assert [t["status"] for t in steps[0]["trials"]] == ["initial"] * 5
    assert steps[1]["meta_prompt"] == backend.prompts[0]
    assert steps[1]["trials"][1]["reason"] == "no [w, b] found"
    assert json.loads((tmp_path / "run" / "config.json").read_text())["problem"] == "linear-regression"


def test_torn_last_line_is_ignored(tmp_path) -> None:
    recorder = RunRecorder(tmp_path, {})
    recorder.write_step({"step": 1})
    with recorder.steps_path.open("a") as handle:
        handle.write('{"step": 2, "tri')
    assert read_steps(tmp_path) == [{"step": 1}]


def test_same_seed_same_run_and_another_seed_another() -> None:
    """On a server whose answers follow the request's seed (the stub), the run follows the run's seed."""
    from llmopt.backends.openai_compat import OpenAIBackend
    from llmopt.testing.stub_server import StubSettings, serve

    server, url = serve(StubSettings())
    try:

        def run(seed: int) -> list:
            backend = OpenAIBackend("stub", base_url=url, max_retries=0)
            return [
                t.solution
                for t in OPRO(LinearRegression(), backend, OPROConfig(steps=3, proposals=3, seed=seed)).run().trials
            ]

        one, again, other = run(9), run(9), run(10)
    finally:
        server.shutdown()
    assert one == again
    assert one != other and one[5:] != other[5:], "another seed: other start points and other proposals"


class FlakyBackend(ScriptedBackend):
    """Fails the calls whose (1-based) number is listed."""

    def __init__(self, texts: list[str], fail_on: set[int]) -> None:
        super().__init__(texts)
        self.fail_on, self.calls = fail_on, 0

    def generate(self, prompt: str, **kwargs):
        from llmopt.backends.base import BackendError

        self.calls += 1
        if self.calls in self.fail_on:
            raise BackendError("injected")
        return super().generate(prompt, **kwargs)


def test_a_failed_request_is_recorded_and_the_run_goes_on(tmp_path) -> None:
    recorder = RunRecorder(tmp_path, {})
    backend = FlakyBackend([f"[{i}, 1]" for i in range(10)], fail_on={2})
    result = OPRO(LinearRegression(), backend, OPROConfig(steps=3, proposals=2), recorder).run()
    assert result.stop_reason == "max_steps" and result.counts.failed_requests == 1
    assert result.counts.proposals == 4
    assert read_steps(tmp_path)[2]["error"] == "injected"


@pytest.mark.parametrize(
    "rule, value, reason", [("max_llm_calls", 2, "max_llm_calls"), ("max_total_tokens", 1, "max_total_tokens")]
)
def test_budgets_stop_within_one_step(rule: str, value, reason: str) -> None:
    opro, _ = make([f"[{i}, 2]" for i in range(80)], steps=20, proposals=1, **{rule: value})
    result = opro.run()
    assert result.stop_reason == reason
    if rule == "max_llm_calls":
        assert result.counts.llm_calls == 2


class TickingClock:
    """A stand-in for the `time` module whose clock moves one second each time it is read."""

    def __init__(self) -> None:
        self.now = 0.0

    def perf_counter(self) -> float:
        self.now += 1.0
        return self.now


@pytest.mark.parametrize("timeout, steps", [(2.5, 1), (5.5, 2), (8.5, 3)])
def test_timeout_counts_the_run_and_stops_within_one_step(
    timeout: float, steps: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    import llmopt.engine.ledger

    monkeypatch.setattr(llmopt.engine.ledger, "time", TickingClock())  # start, each ask, evaluate and tell take 1 s
    opro, _ = make([f"[{i}, 2]" for i in range(80)], steps=20, proposals=1, timeout=timeout)
    result = opro.run()
    assert result.stop_reason == "timeout" and opro.step == steps and result.seconds == 1.0 + 3 * steps


def test_repair_sends_the_reason_back_once() -> None:
    backend = ScriptedBackend(["[1, 2]", "oops", "[7, 7]"])
    opro = OPRO(LinearRegression(), backend, OPROConfig(steps=1, proposals=2, initial=1, repair=True))
    result = opro.run()
    assert "It was rejected: no [w, b] found" in backend.prompts[1]
    assert result.counts.repairs == 1 and result.counts.repairs_valid == 1
    assert result.counts.proposals == 2 and result.counts.invalid == {"no [w, b] found": 1}
    assert [t.solution for t in result.trials if t.status == "ok"] == [(1, 2), (7, 7)]


class Boom(BaseException):
    """The process dying mid-evaluation (an ordinary exception would be recorded as a failed evaluation)."""


def test_resume_after_a_crash_mid_step_repeats_nothing(tmp_path) -> None:
    texts = [f"[{i % 9}, {i % 4}]" for i in range(60)]
    config = OPROConfig(steps=4, proposals=3, seed=5)
    full = OPRO(LinearRegression(), ScriptedBackend(texts), config).run()

    problem = LinearRegression()
    backend = ScriptedBackend(texts)
    crashing = OPRO(problem, backend, config, RunRecorder(tmp_path, {}))
    evaluations, original = [], problem.evaluate

    def dying(solution):
        if len(evaluations) == 11:
            raise Boom
        evaluations.append(solution)
        return original(solution)

    problem.evaluate = dying  # patched after OPRO computed the optimum
    with pytest.raises(Boom):
        crashing.run()
    used = len(backend.prompts)

    from llmopt.engine.records import read_pending

    fresh, again = LinearRegression(), []
    backend2 = ScriptedBackend(texts[used * 3 :])
    resumed = OPRO(fresh, backend2, config, RunRecorder(tmp_path, {}, resume=True))
    fresh_eval = fresh.evaluate
    fresh.evaluate = lambda s: again.append(s) or fresh_eval(s)
    resumed.restore(read_steps(tmp_path), read_pending(tmp_path))
    result = resumed.run()
    assert not set(again) & set(evaluations), "an evaluation was repeated"
    assert len(evaluations) + len(again) == full.counts.evals
    assert [(t.step, t.status, t.solution, t.value) for t in result.trials] == [
        (t.step, t.status, t.solution, t.value) for t in full.trials
    ]
    assert result.counts == full.counts and result.best_value == full.best_value


def test_seconds_and_timeout_count_across_a_resume(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    import dataclasses

    import llmopt.engine.ledger
    from llmopt.engine.records import read_pending

    monkeypatch.setattr(llmopt.engine.ledger, "time", TickingClock())  # start, each ask, evaluate and tell take 1 s
    texts = [f"[{i}, 3]" for i in range(40)]
    config = OPROConfig(steps=2, proposals=1, initial=1)
    first = OPRO(LinearRegression(), ScriptedBackend(texts), config, RunRecorder(tmp_path, {})).run()
    assert first.seconds == 1 + 3 * 2
    longer = dataclasses.replace(config, steps=5, timeout=11.5)
    resumed = OPRO(LinearRegression(), ScriptedBackend(texts[2:]), longer, RunRecorder(tmp_path, {}, resume=True))
    resumed.restore(read_steps(tmp_path), read_pending(tmp_path))
    result = resumed.run()
    assert result.stop_reason == "timeout" and resumed.step == 4 and result.seconds == 1 + 3 * 4


def test_a_users_stop_rule_stops_the_run_with_its_reason_in_opro_and_in_compare() -> None:
    from llmopt import StopRule, compare

    texts = [f"[{i % 30}, {i % 29}]" for i in range(200)]
    enough = StopRule("enough", lambda driver: driver.step >= 2)
    result = OPRO(LinearRegression(), ScriptedBackend(texts), OPROConfig(steps=6, proposals=2), stop=[enough]).run()
    assert result.stop_reason == "enough" and max(t.step for t in result.trials) == 2
    lead, other = compare(
        LinearRegression(),
        OPROConfig(steps=6, proposals=2),
        ["opro", "random-search"],
        ScriptedBackend(texts),
        stop=[enough],
    )
    assert lead.stop_reason == "enough", "the caller's rule watches the lead method, with no recorder too"
    assert other.stop_reason == "enough" and other.counts.evals == 2, "and every other method: its step is its round"


class Recording:
    """A proposer that proposes [step, step] and remembers what it was handed and shown."""

    stop_rules: list = []

    def __init__(self) -> None:
        self.studies: list = []
        self.shown: list[list] = []

    def initial(self, rng) -> list:
        return [(10, 10)]

    def propose(self, study):
        from llmopt.core.result import Spent
        from llmopt.engine.proposer import Ask, Proposal

        self.studies.append((study, study.step, study.answers_left))
        return Ask(
            study.step,
            None,
            [Proposal(f"[{study.step}, {study.step}]", solution=(study.step, study.step))],
            spent=Spent(llm_calls=1, asked=1),
        )

    def observe(self, trials: list) -> None:
        self.shown.append(trials)

    def reread(self, item: dict):
        raise NotImplementedError


def test_propose_step_asks_for_that_step_and_counts_its_cost_but_holds_nothing() -> None:
    from llmopt.engine.driver import Driver

    proposer = Recording()
    driver = Driver(LinearRegression(), proposer, OPROConfig(steps=10, proposals=2, max_llm_calls=4), name="rec")
    driver.start()
    ask = driver.propose_step(7)
    assert ask.step == driver.step == 7 and ask.proposals[0].solution == (7, 7)
    assert proposer.studies == [(driver.ledger, 7, 4)], "the proposer reads the ledger, the run's study"
    assert driver.result.counts.llm_calls == 1 and driver.result.counts.evals == 1, "counted, not scored"
    assert driver.stop_reason() is None and driver.ask().step == 8, "nothing held: ask() makes the next request"
    assert proposer.studies[-1][2] == 3, "answers left: max_llm_calls less the calls spent"


def test_observe_records_trials_scored_elsewhere_counts_their_cost_and_shows_them_to_the_proposer() -> None:
    from llmopt.core.result import Spent, Trial
    from llmopt.engine.driver import Driver

    proposer = Recording()
    driver = Driver(LinearRegression(), proposer, OPROConfig(steps=5, proposals=2), name="rec")
    driver.observe([], Spent(llm_calls=2))
    assert proposer.shown == [] and driver.result.counts.llm_calls == 2
    told = Trial(0, "ok", text="[5, 5]", solution=(5, 5), value=3.0)
    driver.observe([told])
    assert proposer.shown == [[told]] and driver.ledger.history() == [("[5, 5]", 3.0)]
    assert driver.result.counts.starts == 1 and driver.result.best_solution == (5, 5)


def test_the_names_the_driver_forwarded_to_its_ledger_before_0_6_are_gone() -> None:
    opro, _ = make(["[1, 1]"] * 4, steps=1, proposals=2, initial=2)
    opro.run()
    for name in ("best_step", "clock", "stop_rules", "history", "evals_left", "answers_left", "record", "rng"):
        assert not hasattr(opro, name), name  # read driver.ledger's


class Sized(ScriptedBackend):
    """A scripted backend that knows a context window, as the embedded model does: it keeps each prompt it
    was asked to size."""

    def __init__(self) -> None:
        super().__init__([])
        self.sized: list[str] = []

    def check_fits(self, prompt: str, max_tokens: int) -> None:
        self.sized.append(prompt)


def test_the_context_check_sizes_the_fullest_prompt_with_the_feedback_a_problem_declares() -> None:
    from llmopt.opro import OPROProposer
    from llmopt.problems.numeric import NumericProblem

    config = OPROConfig(steps=3, proposals=2, initial=2)
    told, silent = Sized(), Sized()
    OPROProposer(LinearRegression(), told, config).preflight(LinearRegression().initial(np.random.default_rng(0), 2))
    plain = NumericProblem(lambda x: 0.0, [(0, 1)])
    OPROProposer(plain, silent, config).preflight([(0.5,), (0.25,)])
    budget = config.metaprompt.feedback_chars
    assert told.sized[0].count("feedback: ") == 6 and "x" * (budget - 40) in told.sized[0]
    assert "feedback" not in silent.sized[0]
