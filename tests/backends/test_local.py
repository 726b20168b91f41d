"""The embedded model through llama-cpp-python, in-process."""

from __future__ import annotations

from llmopt.backends.local import default_model_path
from llmopt.metaprompt import render
from llmopt.problems.linear_regression import LinearRegression

PROBLEM = LinearRegression()
PROMPT = render(PROBLEM, [("[12, 19]", 20000.0), ("[16, 11]", 3000.0)])


def test_model_file_comes_from_the_package() -> None:
    path = default_model_path()
    assert path.suffix == ".gguf" and path.stat().st_size > 10_000_000
    assert "site-packages" in str(path)


def test_grammar_makes_every_proposal_valid(local_backend) -> None:
    generation = local_backend.generate(PROMPT, n=8, temperature=1.0, max_tokens=24, seed=3,
                                        grammar=PROBLEM.grammar())
    assert len(generation.completions) == 8 and generation.calls == 8
    for completion in generation.completions:
        PROBLEM.decode(completion.text)
    assert generation.prompt_tokens > 50 and generation.completion_tokens > 0


def test_same_seed_same_samples(local_backend) -> None:
    kwargs = dict(n=3, temperature=1.0, max_tokens=24, seed=11, grammar=PROBLEM.grammar())
    one = [c.text for c in local_backend.generate(PROMPT, **kwargs).completions]
    two = [c.text for c in local_backend.generate(PROMPT, **kwargs).completions]
    assert one == two


def test_without_grammar_text_is_free(local_backend) -> None:
    generation = local_backend.generate(PROMPT, n=2, temperature=0.0, max_tokens=32, seed=0)
    assert all(isinstance(c.text, str) and c.text for c in generation.completions)
