"""The built-in problem plugins, installed as `llmopt.problems` and registered through the
`llmopt.problems` entry-point group exactly as third-party plugins are (see pyproject.toml)."""
