"""The gate's console from its settings: off when unset, complete or refused, secrets read from
owner-only files, and `gate run` serving it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from edge_kit import routes_of
from fastapi import FastAPI
from pydantic import ValidationError
from typer.testing import CliRunner

from mobileid.cli_gate import gate_app
from mobileid.console_setup import SESSION_KEY_FILE
from mobileid.gate_app import gate_console_of
from mobileid.settings import GateSettings, SettingsError, explain_settings_error
from verifier.gate.service import build_gate
from verifier.grants import IssuerGrants
from verifier.policy import parse_gate_policy

ISSUER = "http://127.0.0.1:9"
LOGIN = "http://127.0.0.1:10"


def secret_file(path: Path, text: str, mode: int = 0o600) -> Path:
    path.write_text(text + "\n")
    path.chmod(mode)
    return path


def console_settings(tmp_path: Path, **changes: Any) -> GateSettings:
    values: dict[str, Any] = {
        "console_login_url": LOGIN,
        "console_client_id": "gate-console",
        "console_grants_token_file": secret_file(tmp_path / "grants.token", "reader-token"),
        "console_issuer_url": ISSUER,
        "data_dir": tmp_path,
    }
    return GateSettings(**{**values, **changes})


@pytest.fixture
def service(tmp_path: Path) -> Any:
    from mobileid.db import create_db_engine

    policy = parse_gate_policy(
        {"gate_id": "g1", "site": "sejong", "trusted_issuers": [{"issuer": ISSUER}]}
    )
    engine = create_db_engine(f"sqlite:///{tmp_path / 'gate.sqlite3'}")
    gate = build_gate(policy, engine=engine, client=None)
    yield gate
    gate.close()
    engine.dispose()


def test_no_console_when_unset(tmp_path: Path, service: Any) -> None:
    settings = GateSettings(data_dir=tmp_path)
    assert gate_console_of(service, settings, data_dir=tmp_path, base_url="http://x") is None


def test_a_login_url_alone_is_refused_naming_what_is_missing(tmp_path: Path) -> None:
    with pytest.raises(ValidationError) as caught:
        GateSettings(console_login_url=LOGIN, data_dir=tmp_path)
    line = explain_settings_error(GateSettings, caught.value)
    assert "MOBILEID_GATE_CONSOLE_CLIENT_ID" in line
    assert "MOBILEID_GATE_CONSOLE_GRANTS_TOKEN_FILE" in line
    assert "MOBILEID_GATE_CONSOLE_ISSUER_URL" in line


def test_the_console_reads_its_secrets_and_keeps_a_session_key(
    tmp_path: Path, service: Any
) -> None:
    settings = console_settings(
        tmp_path, console_client_secret_file=secret_file(tmp_path / "client.secret", "s3cret")
    )
    console = gate_console_of(
        service, settings, data_dir=tmp_path, base_url="http://127.0.0.1:8100"
    )
    assert console is not None and isinstance(console.roles, IssuerGrants)
    assert console.signin.client_secret == "s3cret" and console.signin.login_url == LOGIN
    assert console.secure_cookies is False  # loopback development
    key = tmp_path / SESSION_KEY_FILE
    assert key.stat().st_mode & 0o777 == 0o600
    assert console.session_secret == bytes.fromhex(key.read_text())
    again = gate_console_of(service, settings, data_dir=tmp_path, base_url="https://gate.example")
    assert again is not None and again.session_secret == console.session_secret
    assert again.secure_cookies is True


@pytest.mark.parametrize(
    ("field", "problem"),
    [
        ("console_grants_token_file", "chmod 600"),
        ("console_client_secret_file", "chmod 600"),
    ],
)
def test_a_secret_file_open_to_others_is_refused(
    tmp_path: Path, service: Any, field: str, problem: str
) -> None:
    settings = console_settings(
        tmp_path, **{field: secret_file(tmp_path / "open.secret", "x", mode=0o644)}
    )
    with pytest.raises(SettingsError, match=problem):
        gate_console_of(service, settings, data_dir=tmp_path, base_url="http://127.0.0.1:1")


def test_a_missing_secret_file_is_refused(tmp_path: Path, service: Any) -> None:
    settings = console_settings(tmp_path, console_grants_token_file=tmp_path / "absent")
    with pytest.raises(SettingsError, match="cannot read"):
        gate_console_of(service, settings, data_dir=tmp_path, base_url="http://127.0.0.1:1")


def test_gate_run_serves_the_console(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    apps: list[FastAPI] = []
    monkeypatch.setattr("uvicorn.run", lambda app, **_: apps.append(app))
    policy = tmp_path / "policy.json"
    policy.write_text(
        json.dumps({"gate_id": "g2", "site": "sejong", "trusted_issuers": [{"issuer": ISSUER}]})
    )
    token = secret_file(tmp_path / "grants.token", "reader-token")
    env = {
        "MOBILEID_GATE_CONSOLE_LOGIN_URL": LOGIN,
        "MOBILEID_GATE_CONSOLE_CLIENT_ID": "gate-console",
        "MOBILEID_GATE_CONSOLE_GRANTS_TOKEN_FILE": str(token),
        "MOBILEID_GATE_CONSOLE_ISSUER_URL": ISSUER,
    }
    args = ["run", "--policy", str(policy), "--data-dir", str(tmp_path / "gate"), "--offline"]
    out = CliRunner().invoke(gate_app, args, env=env)
    assert out.exit_code == 0, out.output
    assert "http://127.0.0.1:8100/display" in out.stdout
    paths = {route.path for route in routes_of(apps[0])}
    assert {"/display", "/display/events", "/records", "/records.csv"} <= paths

    token.chmod(0o644)
    refused = CliRunner().invoke(gate_app, args, env=env)
    assert refused.exit_code == 2 and "chmod 600" in refused.output
