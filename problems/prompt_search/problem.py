"""Prompt (instruction) search: the optimizer writes instructions, a scorer model is graded with them."""

from __future__ import annotations

from typing import Any

import numpy as np

from llmopt.backends import BACKEND_SETTINGS, BackendSpec, make_backend
from llmopt.contract.evaluation import Evaluation
from llmopt.contract.problem import Option, Problem, UsageError, digest, evaluate_safely
from llmopt.contract.spaces import Text
from llmopt.core.result import Result
from llmopt.problems.prompt_search.datasets import load_dataset
from llmopt.problems.prompt_search.normalize import AnswerKind, is_correct
from llmopt.problems.prompt_search.scorer import Scorer
from llmopt.problems.prompt_search.tasks import TASKS, Example

MAX_INSTRUCTION = 300
SCORER = "scorer"  # the scorer model's settings: copies of the optimizer model's, under this prefix
SCORER_MAX_TOKENS = 24  # an answer of a few words, the scorer's whole job
EXEMPLARS = 3  # training examples shown in the meta-prompt
# The feedback names the first few training questions answered wrong, each cut, so that it stays short
# (well under FEEDBACK_LIMIT) whatever the dataset's questions and the scorer's answers are like.
WRONG_SHOWN = 3
QUESTION_CHARS = 120
ANSWER_CHARS = 40
_MODEL = {setting.key: setting for setting in BACKEND_SETTINGS}

# Where the instruction goes; {ins} is the instruction, {q} the question. The paper's four positions.
POSITIONS = {
    "before_q": "{ins}\n\nQ: {q}\nA:",
    "q_begin": "Q: {ins} {q}\nA:",
    "q_end": "Q: {q} {ins}\nA:",
    "a_begin": "Q: {q}\nA: {ins}",
}
HAND_WRITTEN = {
    "no-instruction": "",
    "step-by-step": "Let's think step by step.",
    "solve-the-problem": "Let's solve the problem.",
}
STARTERS = [
    "Let's solve the problem.",
    "Answer the question.",
    "Give only the final answer.",
    "Read the question carefully, then answer.",
    "Reply with the answer and nothing else.",
    "Think, then answer briefly.",
]


def build_prompt(instruction: str, question: str, position: str) -> str:
    """The scorer's prompt for one question with the instruction at `position` (spaces tidied)."""
    text = POSITIONS[position].format(ins=instruction, q=question)
    return "\n".join(" ".join(line.split()) for line in text.split("\n")).strip()


class PromptSearch(Problem):
    """Maximise a scorer model's training accuracy by choosing the instruction it is given."""

    gives_feedback = True  # every evaluation says why it scores as it does

    name = "prompt-search"
    summary = "find an instruction that raises a scorer model's accuracy (built-in tasks or your data)"
    direction = "max"
    solution_label = "instruction"
    value_label = "score"
    options = (
        Option("--task", str, None, "built-in task (next_number when no --dataset is given)", tuple(TASKS)),
        Option("--dataset", str, None, "BIG-Bench-Hard .json or GSM8K .jsonl file instead of --task"),
        Option("--train-size", int, 20, "training examples scored per instruction"),
        Option("--test-size", int, 20, "held-out examples for the final score"),
        Option("--position", str, "q_begin", "where the instruction goes", tuple(POSITIONS)),
        Option("--data-seed", int, 0, "seed of the task generator and the split"),
        Option.of(_MODEL["model"], SCORER, "'local' or a model name on an OpenAI-compatible server"),
        Option.of(_MODEL["base_url"], SCORER, "server URL for the scorer"),
        Option.of(_MODEL["model_path"], SCORER, "a GGUF file for a local scorer"),
        Option("--scorer-max-tokens", int, SCORER_MAX_TOKENS, "answer length limit for the scorer"),
        Option.of(
            _MODEL["max_retries"],
            SCORER,
            "attempts after the first for a scorer request that failed in a way that may pass",
        ),
        Option("--exemplars", int, EXEMPLARS, "training examples shown in the meta-prompt"),
    )

    def __init__(
        self,
        train: list[Example],
        test: list[Example],
        kind: AnswerKind,
        scorer: Scorer,
        *,
        position: str = "q_begin",
        exemplar_count: int = 3,
        source: str = "custom",
    ) -> None:
        if position not in POSITIONS:
            raise ValueError(f"--position must be one of {', '.join(POSITIONS)}")
        if not train or not test:
            raise ValueError("--train-size and --test-size must be at least 1")
        self.train, self.test, self.kind, self.scorer = train, test, kind, scorer
        self.position, self.exemplar_count, self.source = position, exemplar_count, source
        self.space = Text(
            max_length=MAX_INSTRUCTION, tag="INS", label="instruction", pool=tuple(STARTERS), handwritten=HAND_WRITTEN
        )

    @classmethod
    def from_options(
        cls,
        task: str | None = None,
        dataset: str | None = None,
        train_size: int = 20,
        test_size: int = 20,
        position: str = "q_begin",
        data_seed: int = 0,
        scorer_model: str = BackendSpec.model,
        scorer_base_url: str | None = None,
        scorer_model_path: str | None = None,
        scorer_max_tokens: int = SCORER_MAX_TOKENS,
        scorer_max_retries: int = BackendSpec.max_retries,
        exemplars: int = EXEMPLARS,
    ) -> PromptSearch:
        """A built-in task or a dataset file, split into train and test, with its scorer model."""

        if train_size < 1 or test_size < 1:
            raise ValueError("--train-size and --test-size must be at least 1")
        if scorer_max_retries < 0:
            raise UsageError.about(f"{{max_retries}} must be 0 or more, got {scorer_max_retries}", scope=SCORER)
        if exemplars < 0:
            raise ValueError(f"--exemplars must be 0 or more, got {exemplars}")
        if dataset and task is not None:
            raise ValueError("--dataset and --task name two sources of examples; give one")
        task = task or "next_number"
        if dataset:
            examples, kind = load_dataset(dataset)
            order = np.random.default_rng(data_seed).permutation(len(examples))
            examples = [examples[i] for i in order]
            if len(examples) < train_size + test_size:
                raise ValueError(
                    f"{dataset} has {len(examples)} examples; lower --train-size/--test-size "
                    f"(asked for {train_size} + {test_size})"
                )
            source = dataset
        else:
            examples, kind, source = TASKS[task].examples(data_seed, train_size + test_size), TASKS[task].kind, task
        backend = make_backend(
            BackendSpec(
                scorer_model,
                base_url=scorer_base_url,
                model_path=scorer_model_path,
                server_grammar="none",
                max_retries=scorer_max_retries,
                scope=SCORER,
            )
        )
        scorer = Scorer(backend, max_tokens=scorer_max_tokens, concurrency=8)
        return cls(
            examples[:train_size],
            examples[train_size : train_size + test_size],
            kind,
            scorer,
            position=position,
            exemplar_count=exemplars,
            source=source,
        )

    def config(self) -> dict[str, Any]:
        """What defines this task."""
        return {
            "source": self.source,
            "train_size": len(self.train),
            "test_size": len(self.test),
            "position": self.position,
            "kind": self.kind,
            "scorer": self.scorer.identity,
        }

    def fingerprint(self) -> str:
        """The config plus the examples themselves (a dataset file may change under the same name)."""
        return super().fingerprint() + digest(repr([(e.input, e.target) for e in self.train + self.test]))

    # -- meta-prompt -----------------------------------------------------------------------

    def describe(self) -> str:
        """What the optimizer is asked to do."""
        return (
            "Your task is to write an instruction for a language model. The instruction is inserted "
            "into each question of a task, and its score is the percentage of questions the model "
            "then answers correctly (0 to 100)."
        )

    def exemplars(self, rng: np.random.Generator) -> str | None:
        """k random training questions with <INS> where the instruction goes, and their answers."""
        k = min(self.exemplar_count, len(self.train))
        if k <= 0:
            return None
        picks = rng.choice(len(self.train), size=k, replace=False)
        shown = [
            f"{POSITIONS[self.position].format(ins='<INS>', q=self.train[i].input)} {self.train[i].target}"
            for i in picks
        ]
        return "Here are examples of the task; <INS> marks where the instruction goes:\n\n" + "\n\n".join(shown)

    def format_hint(self) -> str:
        """Tags and length."""
        return (
            "Write a new instruction that differs from all instructions above and scores higher than "
            "all of them. Keep it short and general. Write it between <INS> and </INS>."
        )

    # -- scoring ---------------------------------------------------------------------------

    def _graded(self, instruction: str, examples: list[Example]) -> tuple[list[str], list[bool]]:
        """The scorer's answer to each example with the instruction, and whether it is right."""
        from tqdm import tqdm

        prompts = [build_prompt(instruction, e.input, self.position) for e in examples]
        with tqdm(total=len(prompts), desc="scoring", unit="q", leave=False, disable=None) as bar:
            answers = self.scorer.answer_all(prompts, bar)
        return answers, [is_correct(a, e.target, self.kind) for a, e in zip(answers, examples)]

    def _accuracy(self, instruction: str, examples: list[Example]) -> float:
        _, correct = self._graded(instruction, examples)
        return 100.0 * sum(correct) / len(examples)

    def evaluate(self, solution: str) -> Evaluation:
        """Training accuracy (0–100) of the scorer with this instruction; the training questions it got
        wrong as feedback (the first few, with the expected and given answers), and 1 or 0 per question."""
        answers, correct = self._graded(solution, self.train)
        accuracy = 100.0 * sum(correct) / len(self.train)
        cases = tuple(1.0 if right else 0.0 for right in correct)
        return Evaluation(accuracy, feedback=self.feedback(answers, correct), cases=cases)

    def feedback(self, answers: list[str], correct: list[bool]) -> str:
        """The training questions answered wrong: how many, and the first `WRONG_SHOWN` of them, each with
        the expected and the given answer (cut). The test questions are never shown."""
        wrong = [index for index, right in enumerate(correct) if not right]
        if not wrong:
            return f"All {len(correct)} questions answered correctly."
        shown = [
            f"Q: {_tidy(self.train[i].input, QUESTION_CHARS)}\nexpected: {_tidy(self.train[i].target, ANSWER_CHARS)}"
            f" | answered: {_tidy(answers[i], ANSWER_CHARS) or '(nothing)'}"
            for i in wrong[:WRONG_SHOWN]
        ]
        which = "they are" if len(wrong) <= WRONG_SHOWN else f"the first {WRONG_SHOWN}"
        return f"Wrong on {len(wrong)} of {len(correct)} questions; {which}:\n" + "\n".join(shown)

    def final_evaluate(self, solution: str) -> float:
        """Held-out test accuracy (a number only: nothing of the test set reaches the optimizer)."""
        return self._accuracy(solution, self.test)  # repeats cost nothing: the scorer remembers answers

    def usage(self) -> dict[str, int]:
        """Scorer calls and tokens so far."""
        return self.scorer.usage()

    def extra_columns(self, result: Result) -> dict[str, Any]:
        """Train and test accuracy (None when the scorer fails on the test split), and what the scorer cost."""
        test = None if result.best_solution is None else evaluate_safely(self.final_evaluate, result.best_solution)[0]
        return {"train_acc": result.best_value, "test_acc": test, **result.extra.get("usage", {})}


def _tidy(text: str, limit: int) -> str:
    """`text` on one line, its whitespace collapsed, cut to `limit` characters (an ellipsis says so)."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
