"""OPRO and LMX as Optuna samplers, checked for the behaviours Optuna's own sampler tests check: every
distribution kind, determinism, reseeding, enqueued trials, n_jobs, failed and pruned trials,
after_trial, pickling, and many processes on one storage."""

from __future__ import annotations

import datetime
import json
import pickle
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import optuna
import pytest
from optuna.trial import TrialState

from llmopt import ScriptedBackend
from llmopt.contract.problem import InvalidSolution
from llmopt.integrations.optuna import LMXSampler, OPROSampler, StudySpace

optuna.logging.set_verbosity(optuna.logging.WARNING)
ROOT = Path(__file__).resolve().parents[2]


def every_kind(trial: optuna.Trial) -> float:
    x = trial.suggest_float("x", -5, 5)
    lr = trial.suggest_float("lr", 1e-4, 1e-1, log=True)
    q = trial.suggest_float("q", 0, 1, step=0.25)
    layers = trial.suggest_int("layers", 1, 9, step=2)
    width = trial.suggest_int("width", 8, 512, log=True)
    opt = trial.suggest_categorical("opt", ["adam", "sgd", 3])
    return (x - 1) ** 2 + abs(lr - 0.01) + q + (layers - 3) ** 2 + width / 512 + (opt == "sgd")


GOOD = '{"layers": 3, "lr": 0.01, "opt": "adam", "q": 0.5, "width": 64, "x": 1.5}'
BAD = [
    '{"layers": 4, "lr": 0.01, "opt": "adam", "q": 0.5, "width": 64, "x": 1.5}',  # off its step
    '{"layers": 3, "lr": 0.5, "opt": "adam", "q": 0.5, "width": 64, "x": 1.5}',  # outside
    '{"layers": 3, "lr": 0.01, "opt": "adam", "q": 0.3, "width": 64, "x": 1.5}',  # off its float step
    '{"layers": 3, "lr": 0.01, "opt": "rmsprop", "q": 0.5, "width": 64, "x": 1.5}',  # no such choice
    '{"layers": 3, "lr": 0.01, "opt": "3", "q": 0.5, "width": 64, "x": 1.5}',  # "3" is not 3
    '{"layers": 2.5, "lr": 0.01, "opt": "adam", "q": 0.5, "width": 64, "x": 1.5}',  # not an integer
    '{"lr": 0.01, "opt": "adam", "q": 0.5, "width": 64, "x": 1.5}',
    "no object at all",
]


def answers(count: int = 400) -> list[str]:
    """Valid, distinct answers with the invalid ones in between."""
    out = []
    for i in range(count):
        out.append(
            BAD[i % len(BAD)]
            if i % 3 == 2
            else json.dumps(
                {
                    "layers": 1 + 2 * (i % 5),
                    "lr": 0.001 * (1 + i % 50),
                    "opt": ["adam", "sgd", 3][i % 3],
                    "q": 0.25 * (i % 5),
                    "width": 8 + i % 500,
                    "x": round(-5 + (i * 0.37) % 10, 3),
                }
            )
        )
    return out


def study_space(study: optuna.Study) -> StudySpace:
    """The sampler's view of the study's parameters (those of its first trial)."""
    names = tuple(sorted(study.trials[0].distributions))
    return StudySpace(names, tuple(study.trials[0].distributions[n] for n in names))


def run(sampler: optuna.samplers.BaseSampler, n_trials: int = 20, objective=every_kind, **kwargs) -> optuna.Study:
    study = optuna.create_study(sampler=sampler, **kwargs)
    study.optimize(objective, n_trials=n_trials)
    return study


def assert_within(study: optuna.Study) -> None:
    """Every value inside its distribution, and every model trial's values the ones its answer wrote (Optuna
    would quietly resample a relative value outside its distribution: that must never be needed)."""
    for trial in study.trials:
        for name, value in trial.params.items():
            dist = trial.distributions[name]
            assert dist._contains(dist.to_internal_repr(value)), (name, value)
            if isinstance(dist, optuna.distributions.IntDistribution):
                assert type(value) is int
        if "llmopt_answer" in trial.user_attrs:
            written = json.loads(trial.user_attrs["llmopt_answer"])
            assert {k: pytest.approx(v) for k, v in written.items()} == {k: trial.params[k] for k in written}


@pytest.mark.parametrize("kind", [OPROSampler, LMXSampler])
def test_every_distribution_kind_stays_within_its_bounds_steps_and_choices(kind) -> None:
    sampler = kind(seed=1, backend=ScriptedBackend(answers()), proposals=6)
    study = run(sampler)
    assert_within(study)
    from_model = [t for t in study.trials if "llmopt_answer" in t.user_attrs]
    assert len(from_model) >= 10 and sampler.rejected >= 4, "the model gave most trials, its bad answers counted"
    assert all(json.loads(t.user_attrs["llmopt_answer"])["layers"] % 2 == 1 for t in from_model)


def test_the_same_seed_and_script_give_the_same_trials_and_reseeding_changes_them() -> None:
    backends = [ScriptedBackend(answers()) for _ in range(3)]
    first, second = (run(OPROSampler(seed=3, backend=backend)) for backend in backends[:2])
    assert [t.params for t in first.trials] == [t.params for t in second.trials]
    assert [r["seed"] for r in backends[0].requests] == [r["seed"] for r in backends[1].requests]
    reseeded = OPROSampler(seed=3, backend=backends[2])
    reseeded.reseed_rng()
    again = run(reseeded)
    assert [t.params for t in again.trials[:5]] != [t.params for t in first.trials[:5]], "the fallback's stream"
    assert backends[2].requests[0]["seed"] != backends[0].requests[0]["seed"], "and the model's request seeds"


def test_an_enqueued_trial_is_honoured_and_takes_no_proposal() -> None:
    sampler = OPROSampler(seed=0, backend=ScriptedBackend(answers()), n_startup_trials=0)
    study = optuna.create_study(sampler=sampler)
    fixed = {"x": 0.5, "lr": 0.02, "q": 0.75, "layers": 5, "width": 100, "opt": 3}
    study.enqueue_trial(fixed)
    study.optimize(every_kind, n_trials=3)
    assert study.trials[0].params == fixed and "llmopt_answer" not in study.trials[0].user_attrs


def test_n_jobs_two_gives_every_trial_a_valid_distinct_proposal_from_one_queue() -> None:
    backend = ScriptedBackend(answers())
    sampler = OPROSampler(seed=0, backend=backend, proposals=8)
    study = optuna.create_study(sampler=sampler)
    study.optimize(every_kind, n_trials=24, n_jobs=2)
    assert len(study.trials) == 24 and all(t.state == TrialState.COMPLETE for t in study.trials)
    assert_within(study)
    given = [json.dumps(t.params, sort_keys=True) for t in study.trials if "llmopt_answer" in t.user_attrs]
    assert len(given) == len(set(given)), "no proposal went to two trials"
    steps = [k for k in study.user_attrs if k.startswith("llmopt:")]
    assert len(steps) == len(backend.prompts) == sampler.counts.llm_calls, "one record per request, none overwritten"
    assert len(backend.prompts) * 3 <= len(given) + 3 * 2, "a request's answers serve several trials"


def test_failed_and_pruned_trials_are_left_out_of_the_history_the_model_sees() -> None:
    def objective(trial: optuna.Trial) -> float:
        x = trial.suggest_float("x", -5, 5)
        if trial.number % 4 == 1:
            raise ValueError("the simulation crashed")
        if trial.number % 4 == 2:
            raise optuna.TrialPruned()
        return x * x

    texts = [f'{{"x": {(-4.9 + 0.37 * i) % 9.8 - 4.9:.3f}}}' for i in range(300)]
    study = optuna.create_study(sampler=OPROSampler(seed=0, backend=ScriptedBackend(texts), proposals=4))
    study.optimize(objective, n_trials=20, catch=(ValueError,))
    steps = [v for k, v in study.user_attrs.items() if k.startswith("llmopt:")]
    done = {t.number for t in study.trials if t.state == TrialState.COMPLETE}
    assert steps and all(set(step["seen"]) <= done for step in steps), "only finished trials are shown"
    shown = steps[-1]["prompt"]
    finished = {t.params["x"] for t in study.trials if t.state == TrialState.COMPLETE}
    left_out = [t for t in study.trials if t.state != TrialState.COMPLETE and t.params["x"] not in finished]
    text = study_space(study).encode
    assert left_out and all(text((t.params["x"],)) not in shown for t in left_out)
    assert all(
        text((t.params["x"],)) in shown
        for t in study.trials
        if t.state == TrialState.COMPLETE and t.number in steps[-1]["seen"]
    ), "and every finished one is (20 fit in the meta-prompt)"


class Spy(optuna.samplers.RandomSampler):
    """A fallback that counts the trials it is told of."""

    def __init__(self, seed: int) -> None:
        super().__init__(seed=seed)
        self.told = 0

    def after_trial(self, study, trial, state, values):
        self.told += 1
        super().after_trial(study, trial, state, values)


def test_after_trial_reaches_the_fallback_and_the_sampler_pickles() -> None:
    sampler = OPROSampler(seed=0, backend=ScriptedBackend(answers()), fallback=Spy(seed=0))
    run(sampler, 8)
    assert sampler._fallback.told == 8
    given = pickle.loads(pickle.dumps(sampler))
    with pytest.raises(Exception, match="does not travel"):
        run(given, 7)


def test_a_pickled_sampler_makes_its_own_model_in_the_other_process() -> None:
    from llmopt.testing.stub_server import StubSettings, serve

    settings = StubSettings()
    server, url = serve(settings)
    try:
        copy = pickle.loads(pickle.dumps(OPROSampler(seed=0, model="stub", base_url=url, proposals=2)))
        study = run(copy, 7)
    finally:
        server.shutdown()
    assert settings.requests >= 1 and copy.counts.llm_calls >= 1, "the copy built its backend from the settings"
    assert_within(study)  # the stub's [w, b] answers are no parameter sets: rejected, and the fallback samples
    assert copy.rejected >= 1 and copy.fallbacks >= 1


def test_a_conditional_parameter_comes_from_the_fallback_and_a_space_change_keeps_the_counts() -> None:
    def objective(trial: optuna.Trial) -> float:
        x = trial.suggest_float("x", -5, 5)
        if trial.number >= 10:  # a parameter every trial has from here on: the relative space grows
            return x * x + trial.suggest_int("n", 1, 4)
        return x * x + (trial.suggest_float("y", 0, 1) if x > 0 else 0.0)

    texts = [f'{{"x": {(-4.9 + 0.37 * i) % 9.8 - 4.9:.3f}}}' for i in range(300)]
    backend = ScriptedBackend(texts)
    sampler = OPROSampler(seed=0, backend=backend, proposals=3, config=__import__("llmopt").OPROConfig(max_llm_calls=4))
    with pytest.warns(UserWarning, match="max_llm_calls"):
        study = run(sampler, 24, objective=objective)
    assert_within(study)
    assert sampler.counts.llm_calls == 4 == len(backend.prompts), "the limit counts every request, across spaces"
    assert len([k for k in study.user_attrs if k.startswith("llmopt:")]) == 4


def test_a_sampler_reused_on_a_second_study_shows_the_model_that_study_alone() -> None:
    sampler = OPROSampler(seed=0, backend=ScriptedBackend(answers()), proposals=4)
    first = run(sampler, 10)
    second = run(sampler, 10)
    steps = [v for k, v in second.user_attrs.items() if k.startswith("llmopt:")]
    assert steps and all(max(step["seen"]) < len(second.trials) for step in steps)
    shown = steps[0]["prompt"]
    text = study_space(second).encode
    written = [text(tuple(t.params[n] for n in study_space(second).names)) for t in first.trials]
    assert not any(line in shown for line in written)
    assert any(
        text(tuple(t.params[n] for n in study_space(second).names)) in shown
        for t in second.trials
        if t.number in steps[0]["seen"]
    )


def test_a_maximised_study_asks_for_the_highest_value() -> None:
    study = run(OPROSampler(seed=0, backend=ScriptedBackend(answers()), proposals=4), 8, direction="maximize")
    prompt = next(v["prompt"] for k, v in study.user_attrs.items() if k.startswith("llmopt:"))
    assert "the highest objective value" in prompt


def test_narrow_ranges_and_fine_steps_are_written_exactly_enough_to_tell_their_values_apart() -> None:
    from optuna.distributions import FloatDistribution

    space = StudySpace(("t", "s"), (FloatDistribution(273.15, 273.16), FloatDistribution(0, 20000, step=0.25)))
    values = space.sample(np.random.default_rng(0), 200)
    assert len({space.key(v) for v in values}) == 200
    assert space.decode(space.encode((273.155, 10000.25))) == (273.155, 10000.25)


def test_the_study_space_is_a_space_whose_longest_is_the_longest_written_sample() -> None:
    from optuna.distributions import CategoricalDistribution, IntDistribution

    from llmopt.contract.spaces import Space

    space = StudySpace(("n", "opt"), (IntDistribution(1, 99999), CategoricalDistribution(["a", "bbbbbb"])))
    assert isinstance(space, Space)
    samples = space.sample(np.random.default_rng(0), 16)
    assert len(space.encode(space.longest())) == max(len(space.encode(s)) for s in samples)


def test_the_space_writes_and_reads_every_kind_and_its_grammar_parses() -> None:
    from llama_cpp import LlamaGrammar

    space = study_space(run(optuna.samplers.RandomSampler(seed=0), 1))
    for solution in space.sample(np.random.default_rng(0), 20):
        assert space.decode(space.encode(solution)) == solution
    for bad in BAD:
        with pytest.raises(InvalidSolution):
            space.decode(bad)
    LlamaGrammar.from_string(space.grammar(), verbose=False)


WORKER = """
import json, sys, time
import optuna
from llmopt import ScriptedBackend
from llmopt.integrations.optuna import OPROSampler

optuna.logging.set_verbosity(optuna.logging.WARNING)
storage, worker = sys.argv[1], int(sys.argv[2])
if storage.endswith(".log"):
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend
    storage = JournalStorage(JournalFileBackend(storage))
texts = [json.dumps({"x": round(-5 + ((worker * 977 + i * 37) % 1000) / 100, 2)}) for i in range(500)]
study = optuna.load_study(study_name="shared", storage=storage,
                          sampler=OPROSampler(seed=worker, backend=ScriptedBackend(texts), proposals=3))
study.optimize(lambda t: time.sleep(0.2) or (t.suggest_float("x", -5, 5) - 1) ** 2, n_trials=8)
"""


@pytest.mark.parametrize("kind", ["sqlite", "journal"])
def test_three_processes_share_one_study_and_each_request_reads_the_others_trials(tmp_path: Path, kind: str) -> None:
    if kind == "sqlite":
        url = f"sqlite:///{tmp_path / 'study.db'}"
        storage = url
    else:
        from optuna.storages import JournalStorage
        from optuna.storages.journal import JournalFileBackend

        url = str(tmp_path / "study.log")
        storage = JournalStorage(JournalFileBackend(url))
    optuna.create_study(study_name="shared", storage=storage)
    (tmp_path / "worker.py").write_text(WORKER)
    workers = [
        subprocess.Popen([sys.executable, str(tmp_path / "worker.py"), url, str(i)], cwd=tmp_path) for i in range(3)
    ]
    assert [w.wait(timeout=120) for w in workers] == [0, 0, 0]
    study = optuna.load_study(study_name="shared", storage=storage)
    assert len(study.trials) == 24 and all(t.state == TrialState.COMPLETE for t in study.trials), "none lost"
    by_number = {t.number: t.user_attrs.get("llmopt_sampler") for t in study.trials}
    steps = {key: value for key, value in study.user_attrs.items() if key.startswith("llmopt:")}
    samplers = {t.user_attrs["llmopt_sampler"] for t in study.trials if "llmopt_sampler" in t.user_attrs}
    assert len(samplers) == 3, "every worker's model gave trials"
    crossed = [
        key for key, step in steps.items() if any(by_number[n] not in (None, key.split(":")[1]) for n in step["seen"])
    ]
    assert crossed, "a model request read trials that another worker had finished"
    finished = {t.number: t.datetime_complete for t in study.trials}
    checked = 0
    for key, step in steps.items():  # every request read every trial that had finished (committed) before it
        read_at = datetime.datetime.fromisoformat(step["read_at"]) - datetime.timedelta(seconds=0.5)
        before = {n for n, at in finished.items() if at < read_at}
        assert before <= set(step["seen"]), key
        checked += any(by_number[n] != key.split(":")[1] for n in before)
    assert checked, "some request came after another worker's trials had finished"


def test_the_models_limits_end_its_part_and_the_fallback_samples_the_rest() -> None:
    from llmopt import OPROConfig

    sampler = OPROSampler(seed=0, backend=ScriptedBackend(answers()), config=OPROConfig(max_llm_calls=2), proposals=3)
    with pytest.warns(UserWarning, match="max_llm_calls reached"):
        study = run(sampler, 20)
    assert sampler.counts.llm_calls == 2 and len(study.trials) == 20
    assert len([t for t in study.trials if "llmopt_answer" in t.user_attrs]) <= 2 * 3


def test_a_server_that_cannot_be_reached_stops_the_study_loudly() -> None:
    from llmopt.core.errors import UsageError

    sampler = OPROSampler(seed=0, model="stub", base_url="http://127.0.0.1:9/v1", n_startup_trials=1)
    with pytest.raises(UsageError, match="cannot reach http://127.0.0.1:9/v1"):
        run(sampler, 3)


@pytest.mark.slow  # runs the embedded model
def test_an_optuna_study_runs_offline_on_the_embedded_model() -> None:
    sampler = OPROSampler(seed=0, proposals=4)
    study = run(sampler, 10)
    assert_within(study)
    assert sampler.counts.llm_calls >= 1 and any("llmopt_answer" in t.user_attrs for t in study.trials)


@pytest.mark.slow  # runs the embedded model
def test_the_readme_optuna_example_runs() -> None:
    readme = (ROOT / "README.md").read_text()
    (example,) = [block for block in re.findall(r"```python\n(.*?)```", readme, flags=re.S) if "OPROSampler" in block]
    example = example.replace("n_trials=30", "n_trials=8") + "\nprint(len(study.trials), study.best_value)\n"
    done = subprocess.run([sys.executable, "-c", example], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split()[0] == "8"


def test_llmopt_report_writes_a_studys_transcript_from_its_storage(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'study.db'}"
    study = optuna.create_study(
        study_name="tune", storage=url, sampler=OPROSampler(seed=0, backend=ScriptedBackend(answers()), proposals=4)
    )
    study.optimize(every_kind, n_trials=12)
    done = subprocess.run(
        [sys.executable, "-m", "llmopt.cli", "report", "--optuna-storage", url, "--study", "tune"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    html = (tmp_path / "tune.html").read_text()
    step = next(k for k in study.user_attrs if k.startswith("llmopt:"))
    assert "model step 1" in html and "trials from the fallback sampler" in html
    assert "Find the parameter set with the lowest objective value" in html, "the step's prompt"
    assert "{&quot;layers&quot;: " in html, "each model answer, escaped"
    missing = subprocess.run(
        [sys.executable, "-m", "llmopt.cli", "report", "--optuna-storage", url, "--study", "nope"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
    )
    assert missing.returncode == 2 and "no study 'nope'" in missing.stderr and step


def test_the_report_of_a_one_trial_study_counts_in_the_singular(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'study.db'}"
    study = optuna.create_study(study_name="once", storage=url)
    study.optimize(lambda trial: trial.suggest_float("x", 0, 1), n_trials=1)
    done = subprocess.run(
        [sys.executable, "-m", "llmopt.cli", "report", "--optuna-storage", url, "--study", "once"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    html = (tmp_path / "once.html").read_text()
    assert "(start-up, enqueued, or no usable answer): 1 trial</summary>" in html and "1 trials" not in html


def test_a_server_that_refuses_stops_the_study_loudly() -> None:
    from llmopt.core.errors import ModelRefused
    from llmopt.testing.stub_server import StubSettings, serve

    server, url = serve(StubSettings(family="refuse-401"))
    try:
        with pytest.raises(ModelRefused):
            run(OPROSampler(seed=0, model="stub", base_url=url, n_startup_trials=1), 3)
    finally:
        server.shutdown()


def test_llmopt_report_reads_a_journal_file_too(tmp_path: Path) -> None:
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    path = tmp_path / "study.log"
    study = optuna.create_study(
        study_name="tune",
        storage=JournalStorage(JournalFileBackend(str(path))),
        sampler=OPROSampler(seed=0, backend=ScriptedBackend(answers()), proposals=4),
    )
    study.optimize(every_kind, n_trials=8)
    done = subprocess.run(
        [sys.executable, "-m", "llmopt.cli", "report", "--optuna-storage", str(path), "--study", "tune"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "model step 1" in (tmp_path / "tune.html").read_text()
