"""Import layering (../shared/style.md, "Which way the arrows go"), checked with `ast`.

- `vc/` imports no web, database or settings package and nothing of ours.
- `schemas/` imports nothing of ours but `vc`.
- `issuer/`, `verifier/`, `wallet_sim/` never import each other (separate parties) or `mobileid`.
- Nothing imports `mobileid` but `mobileid` itself. (`tests/` and `bench/` are not parts of the
  house but drivers of the whole assembly, so they may.)
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
OURS = frozenset({"vc", "schemas", "issuer", "verifier", "wallet_sim", "mobileid"})
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
PARTIES = frozenset({"issuer", "verifier", "wallet_sim"})

FORBIDDEN: dict[str, frozenset[str]] = {
    "vc": FRAMEWORKS | (OURS - {"vc"}),
    "schemas": OURS - {"vc", "schemas"},
    "issuer": (PARTIES - {"issuer"}) | {"mobileid"},
    "verifier": (PARTIES - {"verifier"}) | {"mobileid"},
    "wallet_sim": (PARTIES - {"wallet_sim"}) | {"mobileid"},
}


def imported_modules(source: str, filename: str = "<source>") -> list[tuple[int, str]]:
    """(line, top-level module) for every absolute import, including `importlib.import_module`
    and `__import__` calls with a literal name; relative imports stay inside their package."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source, filename)):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name.split(".")[0]) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module.split(".")[0]))
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
            found.append((node.lineno, node.args[0].value.split(".")[0]))
    return found


def _python_files(package: str) -> list[Path]:
    folder = ROOT / package
    return (
        sorted(p for p in folder.rglob("*.py") if "__pycache__" not in p.parts)
        if folder.is_dir()
        else []
    )


def violations(package: str, forbidden: frozenset[str]) -> list[str]:
    out = []
    for path in _python_files(package):
        for line, module in imported_modules(path.read_text(encoding="utf-8"), str(path)):
            if module in forbidden:
                out.append(f"{path.relative_to(ROOT)}:{line} imports {module}")
    return out


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_package_respects_the_layering(package: str) -> None:
    if not _python_files(package):
        pytest.skip(f"{package}/ has no Python files yet")
    assert violations(package, FORBIDDEN[package]) == []


def test_vc_is_checked() -> None:
    """The framework-free core must exist, so the rule above can never pass vacuously for it."""
    assert len(_python_files("vc")) >= 5


def test_nothing_imports_mobileid_but_mobileid() -> None:
    checked = [p for p in sorted(OURS - {"mobileid"}) if _python_files(p)]
    assert [v for p in checked for v in violations(p, frozenset({"mobileid"}))] == []


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        pytest.param("import fastapi", ["fastapi"], id="import"),
        pytest.param("import sqlalchemy.orm as orm", ["sqlalchemy"], id="dotted_import"),
        pytest.param(
            "from pydantic_settings import BaseSettings", ["pydantic_settings"], id="from_import"
        ),
        pytest.param("from issuer.models import X", ["issuer"], id="our_package"),
        pytest.param("from . import keys\nfrom .jws import x", [], id="relative_imports"),
        pytest.param("if TYPE_CHECKING:\n    import httpx", ["httpx"], id="type_checking_import"),
        pytest.param("def f():\n    import uvicorn", ["uvicorn"], id="function_level"),
        pytest.param("importlib.import_module('mobileid.cli')", ["mobileid"], id="import_module"),
        pytest.param("__import__('alembic')", ["alembic"], id="dunder_import"),
        pytest.param("x = 'import fastapi'", [], id="string_only"),
    ],
)
def test_import_finder(source: str, expected: list[str]) -> None:
    assert [module for _, module in imported_modules(source)] == expected


def test_violations_are_reported_with_file_and_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "vc").mkdir()
    (tmp_path / "vc" / "bad.py").write_text(
        "import os\nfrom fastapi import FastAPI\n", encoding="utf-8"
    )
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    assert violations("vc", FORBIDDEN["vc"]) == [f"{Path('vc', 'bad.py')}:2 imports fastapi"]
