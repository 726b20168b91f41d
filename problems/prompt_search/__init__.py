"""Prompt search: instruction optimization with a scorer model, built-in tasks and dataset loaders."""

from __future__ import annotations

from llmopt.problems.prompt_search.problem import PromptSearch

__all__ = ["PromptSearch"]
