"""The reference pages in docs/ against the code, so they cannot drift from it.

- docs/settings.md lists exactly the `MOBILEID_*` variables there are: those of the settings
  classes in `mobileid.settings` (their env prefix and field names, or a field's alias), plus
  those the code reads by name elsewhere (a string literal that is a whole variable name in our
  Python files, or a `MOBILEID_*` name in the CI script).
- docs/api.md names every route path each service's app serves.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from display_kit import console_for, operator_roles
from edge_kit import routes_of
from fastapi import FastAPI
from gate_kit import gate_policy
from pydantic_settings import BaseSettings

import mobileid.settings
from mobileid.app import create_app
from mobileid.central_app import create_central_app, open_central_service
from mobileid.db import create_db_engine
from mobileid.gate_app import create_gate_app, mount_desk
from mobileid.login_app import create_login_app, open_login_console, open_login_service
from mobileid.remote_work_app import create_remote_work_app, open_remote_work
from mobileid.settings import LoginSettings, RemoteWorkSettings, get_settings
from verifier.central import CentralConfig
from verifier.gate.service import build_gate
from verifier.trust import TrustedIssuer

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
SOURCES = ("vc", "schemas", "issuer", "verifier", "wallet_sim", "mobileid", "bench", "tests")
SCRIPTS = (ROOT / ".ci" / "run",)
VARIABLE = re.compile(r"MOBILEID_[A-Z0-9_]*[A-Z0-9]")
TABLE_ROW = re.compile(r"^\| `(MOBILEID_[A-Z0-9_]+)` \|", re.MULTILINE)
ISSUER = "http://127.0.0.1:9"
"""No issuer answers there: the apps are built, never served."""


def settings_variables() -> set[str]:
    """Every variable the settings classes read: prefix + field name, or the field's alias."""
    found = set()
    for cls in vars(mobileid.settings).values():
        if not (isinstance(cls, type) and issubclass(cls, BaseSettings)) or cls is BaseSettings:
            continue
        prefix = cls.model_config.get("env_prefix", "")
        for name, info in cls.model_fields.items():
            alias = info.validation_alias
            found.add(alias if isinstance(alias, str) else f"{prefix}{name}".upper())
    return found


def variables_read_by_name() -> set[str]:
    """Whole variable names written as string literals in our Python files (this one's made-up
    examples aside) and the CI script."""
    found = set()
    for top in SOURCES:
        for path in (ROOT / top).rglob("*.py"):
            if path == Path(__file__).resolve():
                continue
            tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
            constants = (node.value for node in ast.walk(tree) if isinstance(node, ast.Constant))
            found.update(c for c in constants if isinstance(c, str) and VARIABLE.fullmatch(c))
    for script in SCRIPTS:
        found.update(VARIABLE.findall(script.read_text(encoding="utf-8")))
    return found


def documented_variables(text: str) -> list[str]:
    """The variables of the settings tables: the first cell of each row, in order."""
    return TABLE_ROW.findall(text)


def test_the_settings_classes_are_found() -> None:
    """The collector cannot pass vacuously: it sees all three services' variables."""
    found = settings_variables()
    assert {"MOBILEID_SECRET_KEY", "MOBILEID_LOGIN_SECRET_KEY", "MOBILEID_GATE_PORT"} <= found
    assert {"MOBILEID_ENV", "MOBILEID_DATA_DIR"} <= found  # aliases, not prefix + name


def test_settings_page_lists_every_variable_and_no_other() -> None:
    documented = documented_variables((DOCS / "settings.md").read_text(encoding="utf-8"))
    assert sorted(v for v in set(documented) if documented.count(v) > 1) == [], "listed twice"
    expected = settings_variables() | variables_read_by_name()
    assert sorted(expected - set(documented)) == [], "missing from docs/settings.md"
    assert sorted(set(documented) - expected) == [], "in docs/settings.md but read nowhere"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("| `MOBILEID_A_B` | x |\n", ["MOBILEID_A_B"], id="row"),
        pytest.param("see `MOBILEID_A_B` here\n", [], id="prose_is_not_a_row"),
        pytest.param("| x | `MOBILEID_A_B` |\n", [], id="not_the_first_cell"),
    ],
)
def test_rows_are_read_from_the_first_cell(text: str, expected: list[str]) -> None:
    assert documented_variables(text) == expected


@pytest.fixture
def apps(tmp_path: Path) -> Iterator[dict[str, FastAPI]]:
    """Each service's app as its command builds it, on SQLite files in `tmp_path`."""
    closers: list[Any] = []
    try:
        issuer_settings = get_settings(
            data_dir=tmp_path / "issuer",
            docs=True,
            console_login_url=ISSUER,  # the console's pages are routes too
            console_client_id="console",
        )
        issuer = create_app(issuer_settings, run_outbox=False)
        closers.append(issuer.state.runtime.close)

        gate_engine = create_db_engine(f"sqlite:///{tmp_path / 'gate.sqlite3'}")
        gate_service = build_gate(gate_policy(ISSUER), engine=gate_engine, client=None)
        closers += [gate_engine.dispose, gate_service.close]
        gate = create_gate_app(
            gate_service, worker_factory=None, console=console_for(gate_service, operator_roles())
        )
        mount_desk(gate, gate_service, base_url="http://127.0.0.1:8100", certificate=None)

        central_engine = create_db_engine(f"sqlite:///{tmp_path / 'central.sqlite3'}")
        closers.append(central_engine.dispose)
        central_service = open_central_service(
            CentralConfig(trusted_issuers=(TrustedIssuer(ISSUER),)),
            engine=central_engine,
            client=None,
        )
        closers.append(central_service.close)

        grant_token = tmp_path / "grant-token"
        grant_token.write_text("grant-reader-token")
        grant_token.chmod(0o600)
        login_settings = LoginSettings(
            data_dir=tmp_path / "login",
            client_id_prefix="redirect_uri",
            console_client_id="login-console",
            console_issuer_url="http://127.0.0.1:9",
            console_grant_token_file=grant_token,
            allow_insecure_loopback=True,
        )
        login_service = open_login_service(login_settings)
        closers.append(login_service.close)
        login_console = open_login_console(login_settings)
        remote_work = open_remote_work(
            RemoteWorkSettings(
                data_dir=tmp_path / "remote-work", login_url=ISSUER, client_id="remote-work"
            )
        )
        closers.append(remote_work.close)
        yield {
            "remote-work": create_remote_work_app(remote_work),
            "issuer": issuer,
            "gate": gate,
            "central": create_central_app(central_service),
            "login": create_login_app(login_service, console=login_console),
        }
    finally:
        for close in reversed(closers):
            close()


def test_api_page_names_every_route_of_every_service(apps: dict[str, FastAPI]) -> None:
    text = (DOCS / "api.md").read_text(encoding="utf-8")
    missing = {
        service: sorted({r.path for r in routes_of(app)} - {p for p in _paths(text)})
        for service, app in apps.items()
    }
    assert {s: paths for s, paths in missing.items() if paths} == {}
    assert all(routes_of(app) for app in apps.values())


def _paths(text: str) -> set[str]:
    """Every path written in code spans, e.g. `POST /hr/applications/{application_id}/approve`."""
    return {span.split()[-1] for span in re.findall(r"`([^`\n]+)`", text) if "/" in span}
