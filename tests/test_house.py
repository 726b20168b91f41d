"""The house: one top-level package, the engine never imports a plugin, no import cycles, and a
third-party plugin installed from a package gets every method of its space through the entry point."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ENGINE = ROOT / "llmopt"
BOX_METHODS = {"powell", "gp-bo", "nevergrad-ngopt", "optuna-tpe", "nelder-mead", "random-search"}


def engine_modules() -> dict[str, Path]:
    return {
        ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__"): path
        for path in ENGINE.rglob("*.py")
    }


def imported(path: Path, *, top_level_only: bool) -> set[str]:
    """The modules a file imports: `import` statements, relative ones resolved, and `import_module` of a
    literal name (an import by string is an import)."""
    module = ".".join(path.relative_to(ROOT).with_suffix("").parts)
    return imported_in(path.read_text(encoding="utf-8"), module, top_level_only=top_level_only)


def imported_in(source: str, module: str, *, top_level_only: bool = False) -> set[str]:
    """`imported` of a module's source, `module` its dotted name (`llmopt.core.errors`, a package's
    `llmopt.core.__init__`)."""
    tree = ast.parse(source)
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    package = module.rpartition(".")[0]
    names = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(
                    [*package.split(".")[: len(package.split(".")) - node.level + 1], *filter(None, [base])]
                )
            names |= {base} | {f"{base}.{alias.name}" for alias in node.names}
        elif isinstance(node, ast.Call) and ast.unparse(node.func).endswith("import_module") and node.args:
            if isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str):
                names.add(node.args[0].value)
    return names


def test_imports_are_read_from_statements_relative_imports_and_import_module() -> None:
    source = (
        "import llmopt.core.values\n"
        "from . import stats\n"
        "from ..engine import ledger\n"
        "def later():\n"
        "    importlib.import_module('llmopt.methods.checks')\n"
        "    importlib.import_module(name)\n"
    )
    found = imported_in(source, "llmopt.core.result")
    assert {"llmopt.core.values", "llmopt.core.stats", "llmopt.engine.ledger", "llmopt.methods.checks"} <= found
    assert imported_in(source, "llmopt.core.result", top_level_only=True) >= {"llmopt.core.stats"}
    assert "llmopt.methods.checks" not in imported_in(source, "llmopt.core.result", top_level_only=True)


def test_the_engine_never_imports_a_plugin() -> None:
    for name, path in engine_modules().items():
        plugins = {
            m
            for m in imported(path, top_level_only=False)
            if m == "llmopt.problems" or m.startswith("llmopt.problems.") or m.split(".")[0] == "problems"
        }
        assert not plugins, f"{name} imports {sorted(plugins)}"


def test_errors_import_nothing_of_llmopt_and_no_backend_imports_the_problem_module() -> None:
    assert not {m for m in imported(ENGINE / "core/errors.py", top_level_only=False) if m.split(".")[0] == "llmopt"}
    for path in (ENGINE / "backends").glob("*.py"):
        found = {
            m
            for m in imported(path, top_level_only=False)
            if m == "llmopt.contract.problem" or m.startswith("llmopt.contract.problem.")
        }
        assert not found, f"{path.name} imports {sorted(found)}"


def test_only_opro_names_opro() -> None:
    """No code outside opro.py special-cases OPRO by name."""
    for name, path in engine_modules().items():
        literal = [
            node.lineno
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
            if isinstance(node, ast.Constant) and node.value == "opro"
        ]
        assert name in ("llmopt.opro", "llmopt.methods.model.opro") or not literal, (
            f"{name} names 'opro' on lines {literal}"
        )


def test_no_engine_function_is_longer_than_forty_lines() -> None:
    for name, path in engine_modules().items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                docstring = len((ast.get_docstring(node) or "").splitlines())
                body = node.end_lineno - node.lineno + 1 - docstring
                assert body <= 42, f"{name}.{node.name} is {body} lines"


def test_the_driver_is_only_the_loop_and_the_samplers_use_its_public_operations() -> None:
    tree = ast.parse((ENGINE / "engine/driver.py").read_text(encoding="utf-8"))
    (driver,) = [node for node in tree.body if isinstance(node, ast.ClassDef) and node.name == "Driver"]
    assert driver.end_lineno - driver.lineno + 1 < 150, "Driver grew past the loop: put helpers in engine/"
    for path in (ENGINE / "integrations").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Attribute) and isinstance(node.value, (ast.Name, ast.Attribute)):
                owner = node.value.id if isinstance(node.value, ast.Name) else node.value.attr
                assert owner != "driver" or node.attr not in ("step", "proposer", "ledger", "record"), (
                    f"{path.name}:{node.lineno} reaches into the driver: driver.{node.attr}"
                )


def import_graph() -> dict[str, set[str]]:
    """Engine module -> the engine modules it imports anywhere: at the top, under TYPE_CHECKING or inside a
    function (a package's __init__ importing its own submodules is how packages work, not an edge)."""
    modules = engine_modules()

    def resolve(name: str) -> str | None:
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name or None

    graph = {}
    for name, path in modules.items():
        found = {resolve(m) for m in imported(path, top_level_only=False)} - {None, name}
        graph[name] = {m for m in found if not m.startswith(name + ".") or not path.name == "__init__.py"}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for dep in graph.get(node, ()):
            if dep not in index:
                visit(dep)
                low[node] = min(low[node], low[dep])
            elif dep in stack:
                low[node] = min(low[node], index[dep])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in graph:
        if node not in index:
            visit(node)
    return found


def test_engine_modules_import_each_other_without_cycles_reading_every_import() -> None:
    assert cycles(import_graph()) == []


# The layers, lowest first: a module imports only from its own layer or one below it (reading every import:
# at the top, under TYPE_CHECKING, inside a function). The flat modules of llmopt/ are the front doors, above all.
LAYERS = ("core", "contract", "backends", "engine", "methods", "report", "bench", "integrations", "cli", "testing")
FRONT_DOORS = {"llmopt", "llmopt.minimize", "llmopt.opro"}
# The imports that go up, each named with its reason. `Result.plot()` draws with the report layer, imported
# when called (as pandas' `DataFrame.plot` does), so that reading a Result never loads matplotlib.
ALLOWED_UPWARD = {"llmopt.core.result -> llmopt.report.plots"}


def layer_of(module: str) -> int:
    """A module's layer: its folder's place in LAYERS; the front doors stand above every folder."""
    parts = module.split(".")
    return LAYERS.index(parts[1]) if len(parts) > 1 and parts[1] in LAYERS else len(LAYERS)


def upward_imports(graph: dict[str, set[str]]) -> list[str]:
    """Every import of a module from a higher layer than its own, as "importer -> imported"."""
    return sorted(f"{name} -> {dep}" for name, deps in graph.items() for dep in deps if layer_of(dep) > layer_of(name))


def test_no_module_imports_from_a_higher_layer() -> None:
    graph = import_graph()
    flat = {name for name in graph if layer_of(name) == len(LAYERS)}
    assert flat == FRONT_DOORS, "a module outside the layer folders that is not a front door"
    assert set(upward_imports(graph)) == ALLOWED_UPWARD


def test_the_layer_check_sees_an_upward_import() -> None:
    graph = {
        "llmopt.core.result": {"llmopt.engine.ledger"},
        "llmopt.engine.ledger": {"llmopt.core.result"},
        "llmopt.cli.options": {"llmopt.opro"},
    }
    assert upward_imports(graph) == ["llmopt.cli.options -> llmopt.opro", "llmopt.core.result -> llmopt.engine.ledger"]


PROPOSER_MODULES = (
    "engine/proposer.py",
    "methods/model/proposer.py",
    "methods/model/opro.py",
    "methods/model/ablations.py",
    "methods/model/evoprompt.py",
    "methods/model/lmx.py",
    "methods/model/reflect.py",
)


def writes_to_counts_or_locks(path: Path) -> list[int]:
    """Lines that take a lock or write a field of something called `counts` (`counts.x += 1`, `x.counts.y = 2`,
    `setattr(x.counts, ...)`)."""
    return writes_to_counts_or_locks_in(path.read_text(encoding="utf-8"))


def writes_to_counts_or_locks_in(source: str) -> list[int]:
    """`writes_to_counts_or_locks` of a module's source."""
    found = []
    for node in ast.walk(ast.parse(source)):
        targets = (
            node.targets
            if isinstance(node, ast.Assign)
            else [node.target]
            if isinstance(node, (ast.AugAssign, ast.AnnAssign))
            else []
        )
        for target in targets:
            owner = target.value if isinstance(target, ast.Attribute) else None
            if owner is not None and "counts" in ast.unparse(owner).split("."):
                found.append(node.lineno)
        if (
            isinstance(node, ast.Attribute)
            and node.attr in ("lock", "Lock", "RLock")
            or isinstance(node, ast.Name)
            and node.id in ("Lock", "RLock")
        ):
            found.append(node.lineno)
        if (
            isinstance(node, ast.Call)
            and ast.unparse(node.func) == "setattr"
            and node.args
            and "counts" in ast.unparse(node.args[0]).split(".")
        ):
            found.append(node.lineno)
    return found


def test_no_proposer_takes_a_lock_or_writes_a_count() -> None:
    """A proposer returns what it spent with its proposals; the driver's ledger counts it."""
    for name in PROPOSER_MODULES:
        assert writes_to_counts_or_locks(ENGINE / name) == [], name
    assert writes_to_counts_or_locks(ENGINE / "core/result.py"), "the finder sees Result.add's own writes"
    seeded = "from threading import Lock\nLock()\nsetattr(result.counts, 'asked', 3)\nx.counts.asked += 1\n"
    assert sorted(writes_to_counts_or_locks_in(seeded)) == [2, 3, 4]


@pytest.mark.parametrize("command", [["check"], ["format", "--check"]], ids=["check", "format"])
def test_ruff_passes(command: list[str]) -> None:
    """The style the configuration in pyproject.toml states: every file, so CI and the README's test command
    fail on a lint error or an unformatted file."""
    done = subprocess.run(
        [sys.executable, "-m", "ruff", *command, str(ROOT)], capture_output=True, text=True, timeout=60, cwd=ROOT
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]


def test_the_cycle_finder_sees_an_import_hidden_in_a_function() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


@pytest.mark.slow
def test_the_wheel_holds_one_top_level_package_and_registers_the_builtins(tmp_path: Path) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path),
            str(ROOT),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    (wheel,) = tmp_path.glob("llmopt-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert {n.split("/")[0] for n in names if not n.split("/")[0].endswith(".dist-info")} == {"llmopt"}
    sources = {f"llmopt/{p.relative_to(ENGINE).as_posix()}" for p in ENGINE.rglob("*.py")}
    sources |= {
        f"llmopt/problems/{p.relative_to(ROOT / 'problems').as_posix()}" for p in (ROOT / "problems").rglob("*.py")
    }
    assert sources <= set(names), f"left out of the wheel: {sorted(sources - set(names))}"
    entry_points = zipfile.ZipFile(wheel).read(next(n for n in names if n.endswith("entry_points.txt"))).decode()
    assert "[llmopt.problems]" in entry_points and "tsp = llmopt.problems.tsp:TSP" in entry_points


PLUGIN = '''
from llmopt import Box, Problem


class Paraboloid(Problem):
    """A user's bowl in three variables; it declares a box and an objective, nothing else."""

    name = "paraboloid"
    summary = "a third-party bowl"

    def __init__(self):
        self.space = Box(((-4, 4), (-4, 4), (-4, 4)))

    def describe(self):
        return "Minimise f over the box [-4, 4]^3."

    def format_hint(self):
        return "Answer with a point as [x1, x2, x3]."

    def evaluate(self, x):
        return float(sum((v - 1) ** 2 for v in x))
'''


@pytest.fixture(scope="module")
def installed_plugin(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real package with a `llmopt.problems` entry point, pip-installed into a folder of its own."""
    source = tmp_path_factory.mktemp("paraboloid_src")
    (source / "paraboloid_plugin.py").write_text(PLUGIN)
    (source / "pyproject.toml").write_text(
        textwrap.dedent("""\
        [build-system]
        requires = ["setuptools>=68"]
        build-backend = "setuptools.build_meta"

        [project]
        name = "paraboloid-plugin"
        version = "0.1"

        [project.entry-points."llmopt.problems"]
        paraboloid = "paraboloid_plugin:Paraboloid"

        [tool.setuptools]
        py-modules = ["paraboloid_plugin"]
        """)
    )
    target = tmp_path_factory.mktemp("paraboloid_site")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "--target",
            str(target),
            str(source),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    return target


def test_an_installed_plugin_passes_the_contract_and_gets_every_box_method(
    installed_plugin: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from llmopt.contract import checks as contract
    from llmopt.contract.registry import registry
    from llmopt.methods import Setup, run_methods

    monkeypatch.syspath_prepend(str(installed_plugin))
    problem = registry()["paraboloid"]()
    assert contract.check_problem(problem) == []
    results = run_methods(problem, Setup(max_evals=25, seed=3))
    assert {r.method for r in results} == BOX_METHODS
    for result in results:
        assert result.kind == "black-box" and 1 <= result.counts.evals <= 25
        assert result.best_value == min(t.value for t in result.trials)
    sys.modules.pop("paraboloid_plugin", None)


def test_the_cli_lists_and_runs_an_installed_plugin(installed_plugin: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(installed_plugin)}
    listing = subprocess.run(
        [sys.executable, "-m", "llmopt.cli", "problems"], capture_output=True, text=True, env=env, timeout=300
    )
    assert "paraboloid" in listing.stdout and "linear-regression" in listing.stdout
    done = subprocess.run(
        [sys.executable, "-m", "llmopt.cli", "baselines", "paraboloid", "--max-evals", "30", "--json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    payload = json.loads(done.stdout)
    assert payload["budget"] == 30
    assert {r["method"] for r in payload["results"]} == BOX_METHODS
    assert all(r["kind"] == "black-box" and r["n_evals"] <= 30 for r in payload["results"])


def test_the_fast_tier_forbids_loading_the_model(monkeypatch: pytest.MonkeyPatch, model_path) -> None:
    from llmopt.backends import local
    from llmopt.backends.local import FORBID_ENV, LocalBackend

    monkeypatch.setenv(FORBID_ENV, "1")
    monkeypatch.setattr(local, "_pools", {})  # no copy another test loaded: this backend must load its own
    backend = LocalBackend(model_path, n_ctx=256)
    with pytest.raises(RuntimeError, match=FORBID_ENV):
        backend.generate("hi", n=1, temperature=0.0, max_tokens=2)
    with pytest.raises(RuntimeError, match=FORBID_ENV):  # and a second caller is told again, not left waiting
        backend.generate("hi", n=1, temperature=0.0, max_tokens=2)
