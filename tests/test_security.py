"""No eval, exec or unpickling anywhere in the package; API keys never reach records, cache or logs."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FORBIDDEN_CALLS = {"eval", "exec", "compile", "__import__"}
FORBIDDEN_MODULES = {"pickle", "marshal", "shelve", "dill", "cloudpickle"}


def package_files() -> list[Path]:
    return sorted([*ROOT.joinpath("llmopt").rglob("*.py"), *ROOT.joinpath("problems").rglob("*.py")])


def test_no_eval_exec_or_unpickling() -> None:
    offences = []
    for path in package_files():
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in FORBIDDEN_CALLS:
                offences.append(f"{path}:{node.lineno} calls {node.func.id}")
            if isinstance(node, ast.Import):
                offences += [
                    f"{path}:{node.lineno} imports {a.name}"
                    for a in node.names
                    if a.name.split(".")[0] in FORBIDDEN_MODULES
                ]
            if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] in FORBIDDEN_MODULES:
                offences.append(f"{path}:{node.lineno} imports from {node.module}")
            if (
                isinstance(node, ast.Attribute)
                and node.attr in ("loads", "load")
                and isinstance(node.value, ast.Name)
                and node.value.id in FORBIDDEN_MODULES
            ):
                offences.append(f"{path}:{node.lineno} unpickles")
    assert not offences, "\n".join(offences)


def test_api_key_never_written(tmp_path: Path) -> None:
    from llmopt.testing.stub_server import StubSettings, serve

    secret = "sk-test-DO-NOT-LEAK-4f9a2b"
    server, url = serve(StubSettings(failure_rate=0.3, faults=("500", "429", "non_json")))
    try:
        env = {**os.environ, "OPENAI_API_KEY": secret, "XDG_CACHE_HOME": str(tmp_path / "xdg")}
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "llmopt.cli",
                "run",
                "linear-regression",
                "--model",
                "stub",
                "--base-url",
                url,
                "--steps",
                "3",
                "--out",
                str(tmp_path / "run"),
                "--cache",
                str(tmp_path / "cache.sqlite"),
            ],
            capture_output=True,
            text=True,
            cwd=ROOT,
            env=env,
            timeout=300,
        )
    finally:
        server.shutdown()
    assert done.returncode == 0, done.stderr
    assert secret not in done.stdout + done.stderr
    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert any(p.name == "steps.jsonl" for p in written) and any(p.suffix == ".sqlite" for p in written)
    for path in written:
        assert secret.encode() not in path.read_bytes(), f"API key found in {path}"
