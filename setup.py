"""Package discovery, the one thing pyproject.toml cannot say: llmopt's folders and problems/, which installs
as llmopt.problems (the wheel holds one top-level package)."""

from setuptools import find_packages, setup

PLUGINS = ["llmopt.problems"] + [f"llmopt.problems.{name}" for name in find_packages("problems")]
setup(packages=find_packages(include=["llmopt", "llmopt.*"], exclude=["llmopt.problems*"]) + PLUGINS)
