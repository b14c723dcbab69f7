"""Import layering (../shared/style.md, "Which way the arrows go"), checked with `ast`.

- `vc/` imports no web, database or settings package and nothing of ours.
- `schemas/` imports nothing of ours but `vc`.
- `issuer/`, `verifier/`, `wallet_sim/`, `remote_work/` never import each other (separate
  parties) or `mobileid`.
- `wallet_sim/` is a phone: no web server, database or settings package either.
- `console/` (the kit of pages for people) imports no party and not `mobileid`; parties may
  import it.
- Nothing imports `mobileid` but `mobileid` itself. (`tests/` and `bench/` are not parts of the
  house but drivers of the whole assembly, so they may.)
- Inside the verifier, the gate and the login service stand apart: `verifier.gate` never imports
  `verifier.login` (the login service and its OpenID Connect provider), nor the reverse.
- No import circle anywhere in our packages, counting imports inside functions (a deferred import
  hides a circle from the interpreter, not from a reader).
"""

from __future__ import annotations

import ast
import functools
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
OURS = frozenset(
    {"vc", "schemas", "console", "issuer", "verifier", "wallet_sim", "remote_work", "mobileid"}
)
PACKAGES = OURS | {"bench"}
"""Where import circles are looked for."""
FRAMEWORKS = frozenset(
    {
        "fastapi",
        "starlette",
        "sqlalchemy",
        "httpx",
        "pydantic_settings",
        "pydantic",
        "alembic",
        "uvicorn",
    }
)
PARTIES = frozenset({"issuer", "verifier", "wallet_sim", "remote_work"})
SERVER_SIDE = FRAMEWORKS - {"httpx", "pydantic"}
LOGIN_SIDE = frozenset({"verifier.login"})

FORBIDDEN: dict[str, frozenset[str]] = {
    "vc": FRAMEWORKS | (OURS - {"vc"}),
    "console": PARTIES | {"mobileid"},
    "schemas": OURS - {"vc", "schemas"},
    "issuer": (PARTIES - {"issuer"}) | {"mobileid"},
    "verifier": (PARTIES - {"verifier"}) | {"mobileid"},
    "wallet_sim": (PARTIES - {"wallet_sim"}) | {"mobileid"} | SERVER_SIDE,
    "remote_work": (PARTIES - {"remote_work"}) | {"mobileid"},
    "verifier.gate": LOGIN_SIDE,
    "verifier.login": frozenset({"verifier.gate"}),
}
"""Modules under a key never import anything under one of its values (dotted prefixes)."""


def _within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def imported_modules(
    source: str, filename: str = "<source>", package: str = ""
) -> list[tuple[int, str]]:
    """(line, dotted name) for every import: a module, or for `from m import n` the name `m.n`
    (which may be a module or a name in `m`). `importlib.import_module` and `__import__` calls
    with a literal name count too; relative imports are resolved against `package` (the package
    the source belongs to) and skipped when it is not given."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source, filename)):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(node.module, node.level, package)
            if base is not None:
                found.extend(
                    (node.lineno, base if alias.name == "*" else f"{base}.{alias.name}")
                    for alias in node.names
                )
        elif (
            isinstance(node, ast.Call)
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
            and (
                (
                    isinstance(node.func, ast.Name)
                    and node.func.id in ("__import__", "import_module")
                )
                or (isinstance(node.func, ast.Attribute) and node.func.attr == "import_module")
            )
        ):
            found.append((node.lineno, node.args[0].value))
    return found


def _absolute(module: str | None, level: int, package: str) -> str | None:
    if level == 0:
        return module
    if not package:
        return None
    parts = package.split(".")
    if level - 1 >= len(parts):
        return None
    base = ".".join(parts[: len(parts) - (level - 1)])
    return f"{base}.{module}" if module else base


def project_modules(root: Path, packages: Iterable[str]) -> dict[str, Path]:
    """Dotted module name -> file, for every Python file under the given top-level packages."""
    modules: dict[str, Path] = {}
    for package in packages:
        folder = root / package
        if not folder.is_dir():
            continue
        for path in sorted(folder.rglob("*.py")):
            if "__pycache__" in path.parts:
                continue
            parts = path.relative_to(root).with_suffix("").parts
            modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return modules


def modules_under(root: Path, package: str) -> dict[str, Path]:
    """The modules of a (dotted) package, itself included."""
    top = package.partition(".")[0]
    return {n: p for n, p in project_modules(root, [top]).items() if _within(n, package)}


def _package_of(name: str, path: Path) -> str:
    return name if path.name == "__init__.py" else name.rpartition(".")[0]


@functools.cache
def _imports_of(name: str, path: Path) -> tuple[tuple[int, str], ...]:
    """The imports of module `name` at `path`, each file parsed once per test run."""
    source = path.read_text(encoding="utf-8")
    return tuple(imported_modules(source, str(path), _package_of(name, path)))


def violations(package: str, forbidden: frozenset[str], root: Path | None = None) -> list[str]:
    root = root or ROOT
    out = []
    for name, path in modules_under(root, package).items():
        for line, module in _imports_of(name, path):
            if any(_within(module, banned) for banned in forbidden):
                out.append(f"{path.relative_to(root)}:{line} imports {module}")
    return out


def import_graph(modules: Mapping[str, Path]) -> dict[str, set[str]]:
    """Module -> the project modules it imports (a name imported from a module counts as that
    module; importing a submodule is not counted as importing its parent packages)."""
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        targets = set()
        for _, imported in _imports_of(name, path):
            owner = _owning_module(imported, modules)
            if owner and owner != name:
                targets.add(owner)
        graph[name] = targets
    return graph


def _owning_module(imported: str, modules: Mapping[str, Path]) -> str:
    """The longest prefix of `imported` that is one of `modules` ('' for a foreign import)."""
    while imported and imported not in modules:
        imported = imported.rpartition(".")[0]
    return imported


def import_cycles(graph: Mapping[str, Iterable[str]]) -> list[list[str]]:
    """One shortest circle per strongly connected group of modules, as `[a, b, ..., a]`."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[set[str]] = []

    def connect(node: str) -> None:  # Tarjan's algorithm
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                connect(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.add(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(group)

    for node in sorted(graph):
        if node not in index:
            connect(node)
    return sorted(_shortest_circle(graph, group) for group in groups)


def _shortest_circle(graph: Mapping[str, Iterable[str]], group: set[str]) -> list[str]:
    start = min(group)
    came_from: dict[str, str] = {}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for target in sorted(graph.get(node, ())):
                if target == start:
                    path = [node]
                    while path[-1] != start:
                        path.append(came_from[path[-1]])
                    return [*reversed(path), start]
                if target in group and target not in came_from:
                    came_from[target] = node
                    following.append(target)
        frontier = following
    raise AssertionError(f"no circle through {start}")  # a strongly connected group has one


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_package_respects_the_layering(package: str) -> None:
    assert modules_under(ROOT, package), f"{package} has no Python files: a rule checks nothing"
    assert violations(package, FORBIDDEN[package]) == []


def test_vc_and_the_gate_are_checked() -> None:
    """The rules above can never pass vacuously for the core and the gate."""
    assert len(modules_under(ROOT, "vc")) >= 5
    assert len(modules_under(ROOT, "verifier.gate")) >= 3


def test_nothing_imports_mobileid_but_mobileid() -> None:
    checked = sorted(OURS - {"mobileid"})
    assert [v for p in checked for v in violations(p, frozenset({"mobileid"}))] == []


def test_no_import_circles() -> None:
    cycles = import_cycles(import_graph(project_modules(ROOT, PACKAGES)))
    assert [" -> ".join(cycle) for cycle in cycles] == []


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        pytest.param("import fastapi", ["fastapi"], id="import"),
        pytest.param("import sqlalchemy.orm as orm", ["sqlalchemy.orm"], id="dotted_import"),
        pytest.param(
            "from pydantic_settings import BaseSettings",
            ["pydantic_settings.BaseSettings"],
            id="from_import",
        ),
        pytest.param("from issuer.models import X", ["issuer.models.X"], id="our_package"),
        pytest.param(
            "from . import keys\nfrom .jws import x\nfrom ..gate import api",
            ["verifier.login.keys", "verifier.login.jws.x", "verifier.gate.api"],
            id="relative_imports",
        ),
        pytest.param("from os.path import *", ["os.path"], id="star_import"),
        pytest.param("if TYPE_CHECKING:\n    import httpx", ["httpx"], id="type_checking_import"),
        pytest.param("def f():\n    import uvicorn", ["uvicorn"], id="function_level"),
        pytest.param(
            "importlib.import_module('mobileid.cli')", ["mobileid.cli"], id="import_module"
        ),
        pytest.param("__import__('alembic')", ["alembic"], id="dunder_import"),
        pytest.param("x = 'import fastapi'", [], id="string_only"),
    ],
)
def test_import_finder(source: str, expected: list[str]) -> None:
    found = imported_modules(source, package="verifier.login")
    assert sorted(module for _, module in found) == sorted(expected)


def test_relative_imports_without_a_package_are_skipped() -> None:
    assert imported_modules("from . import keys") == []


def test_violations_are_reported_with_file_and_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "vc").mkdir()
    (tmp_path / "vc" / "bad.py").write_text(
        "import os\nfrom fastapi import FastAPI\n", encoding="utf-8"
    )
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    assert violations("vc", FORBIDDEN["vc"]) == [
        f"{Path('vc', 'bad.py')}:2 imports fastapi.FastAPI"
    ]


def test_a_relative_import_across_the_gate_line_is_a_violation(tmp_path: Path) -> None:
    gate = tmp_path / "verifier" / "gate"
    gate.mkdir(parents=True)
    for init in (tmp_path / "verifier" / "__init__.py", gate / "__init__.py"):
        init.write_text("", encoding="utf-8")
    (gate / "desk.py").write_text("from ..login.provider import issue_code\n", encoding="utf-8")
    assert violations("verifier.gate", LOGIN_SIDE, tmp_path) == [
        f"{Path('verifier', 'gate', 'desk.py')}:1 imports verifier.login.provider.issue_code"
    ]


def test_import_graph_resolves_names_to_their_modules(tmp_path: Path) -> None:
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    files = {
        "__init__.py": "from pkg.a import thing\n",
        "a.py": "from . import b\nimport os\n",
        "b.py": "from pkg.c import helper\n",
        "c.py": "def helper():\n    from pkg import a\n",
    }
    for name, text in files.items():
        (pkg / name).write_text(text, encoding="utf-8")
    graph = import_graph(project_modules(tmp_path, ["pkg"]))
    assert graph == {"pkg": {"pkg.a"}, "pkg.a": {"pkg.b"}, "pkg.b": {"pkg.c"}, "pkg.c": {"pkg.a"}}
    assert import_cycles(graph) == [["pkg.a", "pkg.b", "pkg.c", "pkg.a"]]


@pytest.mark.parametrize(
    ("graph", "expected"),
    [
        pytest.param({"a": {"b"}, "b": {"c"}, "c": set()}, [], id="a_chain"),
        pytest.param({"a": {"b"}, "b": {"a"}}, [["a", "b", "a"]], id="two"),
        pytest.param(
            {"a": {"b", "c"}, "b": {"c"}, "c": {"a"}, "x": {"y"}, "y": {"x"}},
            [["a", "c", "a"], ["x", "y", "x"]],
            id="shortest_per_group",
        ),
    ],
)
def test_import_cycles(graph: dict[str, set[str]], expected: list[list[str]]) -> None:
    assert import_cycles(graph) == expected
