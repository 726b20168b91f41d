"""The embedded model's n answers decoded together: one batch over a prompt evaluated once, grammars,
seeds, stop strings and cut-off answers."""

from __future__ import annotations

import hashlib
import re
from dataclasses import replace

import llama_cpp
import numpy as np
import pytest

from llmopt.backends import batch
from llmopt.backends.batch import BatchDecoder, chat_request
from llmopt.backends.local import LocalBackend, _grammar
from llmopt.methods.model.metaprompt import render
from llmopt.problems.linear_regression import LinearRegression
from llmopt.problems.tsp import TSP

PROBLEM = LinearRegression()
PROMPT = render(PROBLEM, [("[12, 19]", 20000.0), ("[16, 11]", 3000.0)])
PAIR = re.compile(r"\[-?\d{1,3}, -?\d{1,3}\]")
TOUR = TSP()  # 10 cities
TRACE = re.compile(r"<trace>0(,[1-9]){9}</trace>")


def on_the_model(backend, work):
    """`work(llama, decoder)` on the thread of the backend's loaded copy, the only one that may call it."""
    with backend._copy() as copy:
        return copy.run(lambda llama: work(llama, copy.decoder()))


def test_n_answers_decode_as_one_batch_over_a_prompt_evaluated_once(local_backend, monkeypatch) -> None:
    batches: list[tuple[bool, list[tuple[int, int, int]]]] = []
    decode = BatchDecoder._decode

    def spy(self, items, logits):
        batches.append((logits, list(items)))
        return decode(self, items, logits)

    monkeypatch.setattr(BatchDecoder, "_decode", spy)
    generation = local_backend.generate(PROMPT, n=6, temperature=1.0, max_tokens=24, seed=3, grammar=PROBLEM.grammar())
    assert len(generation.completions) == 6 and generation.calls == 6
    prompt = [item for logits, items in batches if not logits for item in items]
    steps = [items for logits, items in batches if logits]
    # the prompt but its last token, once, as sequence 0; each answer decodes that last token itself
    assert len(prompt) == generation.prompt_tokens - 1 and {seq for _, _, seq in prompt} == {0}
    assert len({seq for _, _, seq in steps[0]}) == 6 and len({pos for _, pos, _ in steps[0]}) == 1
    # one step per token of the longest answer (and its end), not one per token of every answer
    assert len(steps) <= max(c.completion_tokens for c in generation.completions) + 1
    assert generation.completion_tokens > len(steps)


def test_every_answer_of_the_batch_keeps_to_the_grammar(local_backend) -> None:
    for grammar, pattern in ((PROBLEM.grammar(), PAIR), (TOUR.grammar(), TRACE)):
        generation = local_backend.generate(
            TOUR.describe() if pattern is TRACE else PROMPT,
            n=8,
            temperature=1.0,
            max_tokens=48,
            seed=7,
            grammar=grammar,
        )
        for completion in generation.completions:
            assert pattern.fullmatch(completion.text), completion.text
            assert completion.finish_reason == "stop"


def test_windowed_grammar_sampling_draws_what_the_full_chain_draws(local_backend, monkeypatch) -> None:
    def answers() -> list[str]:
        return [
            c.text
            for grammar, prompt in ((PROBLEM.grammar(), PROMPT), (TOUR.grammar(), TOUR.describe()))
            for c in local_backend.generate(
                prompt, n=8, temperature=1.0, max_tokens=48, seed=21, grammar=grammar
            ).completions
        ]

    windowed = answers()
    monkeypatch.setattr(batch, "WINDOWED", False)  # llama.cpp's chain asks the grammar about every token
    assert answers() == windowed


def test_answers_beyond_the_room_in_the_cache_start_as_others_end(model_path, monkeypatch) -> None:
    widths: list[int] = []
    decode = BatchDecoder._decode

    def spy(self, items, logits):
        widths.append(len(items) if logits else 0)
        return decode(self, items, logits)

    monkeypatch.setattr(BatchDecoder, "_decode", spy)
    small = LocalBackend(model_path, n_ctx=256)  # room for the prompt and 5 answers of 8 tokens at a time
    generation = small.generate(PROMPT, n=12, temperature=1.0, max_tokens=8, seed=3, grammar=PROBLEM.grammar())
    assert len(generation.completions) == 12
    assert all(c.cut_off or PAIR.fullmatch(c.text) for c in generation.completions)
    assert max(widths) == (256 - generation.prompt_tokens + 1) // 8 == 5


def test_same_seed_same_answers_whatever_ran_before(local_backend) -> None:
    def asked() -> list[str]:
        return [
            c.text
            for c in local_backend.generate(
                PROMPT, n=4, temperature=1.0, max_tokens=24, seed=5, grammar=PROBLEM.grammar()
            ).completions
        ]

    first = asked()
    local_backend.generate("Name three colours.", n=3, temperature=1.0, max_tokens=12, seed=9)
    local_backend.complete("The sky is", n=2, temperature=1.0, max_tokens=6, seed=1)
    assert asked() == first
    assert asked() == first


def test_a_prompt_kept_from_the_last_request_computes_what_a_fresh_one_computes(local_backend, monkeypatch) -> None:
    tour = TSP.from_options(cities=40)
    base = tour.describe() + "\n\nPropose the shortest tour you can."
    rows: list[str] = []
    evaluated: list[int] = []
    sample, decode = batch._Sampler.sample, BatchDecoder._decode

    def sample_spy(self, ctx, slot):
        row = np.ctypeslib.as_array(llama_cpp.llama_get_logits_ith(ctx, slot), shape=(self.n_vocab,))
        rows.append(hashlib.sha256(row.tobytes()).hexdigest())
        return sample(self, ctx, slot)

    def decode_spy(self, items, logits):
        evaluated.extend(item for item in items if not logits)
        return decode(self, items, logits)

    monkeypatch.setattr(batch._Sampler, "sample", sample_spy)
    monkeypatch.setattr(BatchDecoder, "_decode", decode_spy)

    def logits_of(prompt: str) -> list[str]:
        rows.clear()
        evaluated.clear()
        local_backend.generate(prompt, n=4, temperature=1.0, max_tokens=16, seed=6, grammar=tour.grammar())
        return list(rows)

    local_backend.reset()
    fresh, whole = logits_of(base), len(evaluated)
    local_backend.generate(
        base + " Start from city 0.", n=8, temperature=1.0, max_tokens=16, seed=1, grammar=tour.grammar()
    )  # shares all of `base`; its 8 answers come and go
    assert logits_of(base) == fresh and len(evaluated) < whole / 2, "the kept chunks computed as afresh"
    assert logits_of(base) == fresh, "the very same prompt again"


def test_each_answer_ends_on_its_own_end_or_limit(local_backend) -> None:
    generation = local_backend.generate(PROMPT, n=12, temperature=1.0, max_tokens=7, seed=1, grammar=PROBLEM.grammar())
    for completion in generation.completions:
        if completion.cut_off:
            assert completion.completion_tokens == 7
        else:  # the grammar was done and the model sampled its end of sequence
            assert completion.finish_reason == "stop" and PAIR.fullmatch(completion.text)
            assert completion.completion_tokens < 7
    assert {c.finish_reason for c in generation.completions} == {"stop", "length"}


def test_a_long_answer_is_reported_cut_off(local_backend) -> None:
    generation = local_backend.generate(PROMPT, n=3, temperature=1.0, max_tokens=5, seed=2)
    assert all(c.cut_off and c.completion_tokens == 5 for c in generation.completions)


def test_an_answer_ends_before_its_stop_string(local_backend) -> None:
    def sample(llama, decoder):
        request = chat_request(
            llama,
            [{"role": "user", "content": PROMPT}],
            temperature=1.0,
            max_tokens=24,
            grammar=_grammar(PROBLEM.grammar()),
        )
        return decoder.sample(replace(request, stop=(b"]", b", ")), 4, seed=3)

    for answer in on_the_model(local_backend, sample):
        # the text ends before the stop string; the tokens that wrote it are counted
        assert answer.finish_reason == "stop" and re.fullmatch(r"\[-?\d{1,3}", answer.text), answer.text
        assert answer.completion_tokens >= 3


def test_a_prompt_longer_than_the_context_is_refused_as_create_completion_refuses_it(local_backend) -> None:
    def sample(llama, decoder):
        request = chat_request(llama, [{"role": "user", "content": "word " * 10_000}], temperature=1.0, max_tokens=8)
        try:
            decoder.sample(request, 2, seed=0)
        except ValueError as error:
            return str(error)
        return None

    assert "exceed context window" in on_the_model(local_backend, sample)


def test_a_request_the_batch_decoder_cannot_take_goes_one_answer_after_another(local_backend, monkeypatch) -> None:
    monkeypatch.setattr(batch, "chat_request", lambda *args, **kwargs: None)  # as for a handler with logit bias
    monkeypatch.setattr(BatchDecoder, "sample", lambda *args, **kwargs: pytest.fail("decoded as a batch"))
    generation = local_backend.generate(PROMPT, n=3, temperature=1.0, max_tokens=24, seed=4, grammar=PROBLEM.grammar())
    assert len(generation.completions) == 3 and all(PAIR.fullmatch(c.text) for c in generation.completions)
