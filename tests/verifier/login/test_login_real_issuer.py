"""Logging in with a credential from the real issuer (`live_server`): the phone is onboarded
through the wallet CLI (OpenID4VCI), answers the login page's QR with `mobileid wallet present`,
and authlib's client gets the ID token and userinfo. Then HR revokes the credential and the next
login ends in `access_denied`."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from issuer_kit import onboard_wallet, revoke_via_hr_api
from login_kit import PIN, Login, data_link, running_login
from oidc_kit import add_client, begin, continue_url, query_of
from typer.testing import CliRunner

from mobileid.cli import app as cli
from wallet_sim.errors import VerifierError
from wallet_sim.presenter import Presenter
from wallet_sim.store import WalletStore


@dataclass
class _Issuer:
    url: str


def _revoke(server: Any, employee_number: str) -> None:
    revoke_via_hr_api(server, employee_number, comment="login test")


@pytest.mark.slow
def test_login_with_a_credential_from_the_real_issuer(live_server: Any, tmp_path: Path) -> None:
    wallet = tmp_path / "phone"
    onboard_wallet(live_server, wallet, PIN)

    def clock() -> float:
        return float(live_server.clock().timestamp())

    database_url = f"sqlite:///{tmp_path / 'login.sqlite3'}"
    issuer: Any = _Issuer(live_server.url)
    with running_login(tmp_path, database_url, clock, issuer) as login:
        new = add_client(
            login,
            allowed_claims=["name", "department", "employee_number"],
            subject_type="employee_number",
        )
        attempt = begin(login, new)
        try:
            result = CliRunner().invoke(
                cli,
                [
                    "wallet",
                    "present",
                    data_link(attempt.page.text),
                    "--yes",
                    "--pin",
                    PIN,
                    "--wallet",
                    str(wallet),
                    "--trust-anchor",
                    str(tmp_path / "cert" / "ca.pem"),
                ],
            )
            assert result.exit_code == 0, result.output
            assert "HTTP 200" in result.output
            back = attempt.browser.get(continue_url(attempt.page.text))
            assert back.status_code == 303, back.text
            attempt.oauth.fetch_token(
                attempt.config["token_endpoint"],
                authorization_response=back.headers["location"],
                code_verifier=attempt.verifier,
            )
            info = attempt.oauth.get(attempt.config["userinfo_endpoint"]).json()
        finally:
            attempt.close()
        assert info["sub"] == info["employee_number"] == "E1002"
        assert set(info) == {"sub", "name", "department", "employee_number"}
        _revoke(live_server, "E1002")
        live_server.clock.advance(3600)  # past the ttl of the list the login service holds
        assert query_of(_second_login(login, wallet, clock))["error"] == "access_denied"


def _second_login(login: Login, wallet: Path, clock: Any) -> str:
    new = add_client(login, name="메일 (mail)")
    attempt = begin(login, new)
    try:
        presenter = Presenter(login.http, clock=clock, trust_anchors=[login.certificate.anchor])
        opened = WalletStore(wallet).unlock(PIN)
        plan = presenter.resolve_request(data_link(attempt.page.text), opened)
        with pytest.raises(VerifierError, match="access_denied"):
            presenter.respond(plan, opened)
        back = attempt.browser.get(continue_url(attempt.page.text))
        return str(back.headers["location"])
    finally:
        attempt.close()
