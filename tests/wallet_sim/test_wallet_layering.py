"""The wallet is a separate party: it imports `vc/` and `schemas/` only, never issuer/verifier."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FORBIDDEN = ("issuer", "verifier", "mobileid", "fastapi", "sqlalchemy", "pydantic_settings")


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_wallet_sim_imports_only_vc_and_schemas_of_ours() -> None:
    for path in sorted((ROOT / "wallet_sim").glob("*.py")):
        bad = _imports(path).intersection(FORBIDDEN)
        assert not bad, f"{path.name} imports {sorted(bad)}"


def test_new_vc_modules_stay_framework_free() -> None:
    for name in (
        "dcql.py",
        "jwe.py",
        *(f"openid4vp/{p.name}" for p in (ROOT / "vc" / "openid4vp").glob("*.py")),
    ):
        bad = _imports(ROOT / "vc" / name).intersection(
            {*FORBIDDEN, "schemas", "wallet_sim", "httpx", "pydantic"}
        )
        assert not bad, f"vc/{name} imports {sorted(bad)}"
