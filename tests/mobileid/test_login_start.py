"""`mobileid login serve` says at start whom it trusts when that would surprise: nobody (every
wallet refused), loopback http issuers (development), a trusted issuer whose URL the fetch
policy refuses (before, only a log line at the first login and `access_denied` to the wallet)."""

from __future__ import annotations

from pathlib import Path

import pytest
import uvicorn
from server_kit import served_nothing
from typer.testing import CliRunner

from mobileid.cli import app as cli
from mobileid.login_app import trust_warnings
from mobileid.settings import LoginSettings

ISSUERS = "MOBILEID_LOGIN_TRUSTED_ISSUERS"
LOOPBACK = "MOBILEID_LOGIN_ALLOW_INSECURE_LOOPBACK"


@pytest.mark.parametrize(
    ("issuers", "loopback", "expected"),
    [
        (
            [],
            False,
            [f"no trusted issuer: the login service will refuse every wallet; set {ISSUERS}"],
        ),
        (["https://id.mois.go.kr"], False, []),
        (["http://127.0.0.1:8000"], True, ["development only: " + LOOPBACK + "=true"]),
        (
            ["http://127.0.0.1:8000"],
            False,
            [
                f"127.0.0.1:8000 is not https: the login service will refuse its wallets; give its "
                f"https URL in {ISSUERS}, or in development set {LOOPBACK}=true"
            ],
        ),
        (
            ["https://id.mois.go.kr", "http://id.example.go.kr"],
            True,
            [
                f"{LOOPBACK}=true",
                f"id.example.go.kr is not https: the login service will refuse "
                f"its wallets; give its https URL in {ISSUERS}",
            ],
        ),
        (["https://user@id.mois.go.kr"], False, ["id.mois.go.kr is not usable"]),
    ],
    ids=["none", "https", "loopback-allowed", "loopback-http", "remote-http", "userinfo"],
)
def test_trust_warnings(issuers: list[str], loopback: bool, expected: list[str]) -> None:
    lines = trust_warnings(LoginSettings(trusted_issuers=issuers, allow_insecure_loopback=loopback))
    assert len(lines) == len(expected), lines
    for line, fragment in zip(lines, expected, strict=True):
        assert fragment in line, line
    if not issuers:
        assert """(example: '["https://id.mois.go.kr"]')""" in lines[0]
    if any(i.endswith(":8000") for i in issuers) and not loopback:
        assert "http://127.0.0.1:8000" in lines[0]


def test_login_serve_prints_them_before_serving(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(uvicorn, "run", served_nothing)
    env = {
        "MOBILEID_LOGIN_DATA_DIR": str(tmp_path / "login"),
        "MOBILEID_LOGIN_CLIENT_ID_PREFIX": "redirect_uri",
        "COLUMNS": "80",
    }
    runner = CliRunner()
    alone = runner.invoke(cli, ["login", "serve"], env=env)
    assert alone.exit_code == 0, alone.output
    assert "will refuse every wallet; set " + ISSUERS in alone.output.replace("\n", " ")
    local = runner.invoke(cli, ["login", "serve"], env=env | {ISSUERS: '["http://127.0.0.1:8000"]'})
    assert local.exit_code == 0, local.output
    (line,) = [ln for ln in local.output.splitlines() if "127.0.0.1:8000" in ln]
    assert "is not https" in line and f"{LOOPBACK}=true" in line, local.output
    trusted = runner.invoke(
        cli, ["login", "serve"], env=env | {ISSUERS: '["http://127.0.0.1:8000"]', LOOPBACK: "1"}
    )
    assert trusted.exit_code == 0, trusted.output
    assert (
        "is not https" not in trusted.output and "development only: " + LOOPBACK in trusted.output
    )


def test_the_loopback_setting_is_in_login_serve_help() -> None:
    shown = CliRunner().invoke(cli, ["login", "serve", "--help"], env={"COLUMNS": "200"})
    assert LOOPBACK in shown.output and ISSUERS in shown.output, shown.output
