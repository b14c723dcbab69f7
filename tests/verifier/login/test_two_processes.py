"""Two login processes on one database, as behind a load balancer: one `mobileid login serve`
subprocess and one in-process server share the tables (PostgreSQL when configured; SQLite file
otherwise). A login started on one completes on the other: the browser talks to the first, the
wallet and the relying system's back channel to the second."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from gate_kit import Clock, free_socket, running_issuer
from login_kit import Login, make_wallet, running_login
from oidc_kit import add_client, begin, query_of, wallet_answers


class _Balancer(httpx.BaseTransport):
    """Sends what is addressed to the public URL (process A's port) to process B instead."""

    def __init__(self, public_port: int, other_port: int) -> None:
        self.public, self.other = public_port, other_port
        self.inner = httpx.HTTPTransport()
        self.routed = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.port == self.public:
            request.url = request.url.copy_with(port=self.other)
            self.routed += 1
        return self.inner.handle_request(request)

    def close(self) -> None:
        self.inner.close()


def _serve_other(login: Login, tmp_path: Path, database_url: str) -> Iterator[int]:
    sock = free_socket()
    port = sock.getsockname()[1]
    sock.close()
    env = dict(os.environ)
    env.update(
        {
            "MOBILEID_LOGIN_BASE_URL": login.url,
            "MOBILEID_LOGIN_DATABASE_URL": database_url,
            "MOBILEID_LOGIN_DATA_DIR": str(tmp_path / "login-b"),
            "MOBILEID_LOGIN_CERT_DIR": str(tmp_path / "cert"),
            "MOBILEID_LOGIN_TRUSTED_ISSUERS": json.dumps([login.issuer.url]),
            "MOBILEID_LOGIN_ALLOW_INSECURE_LOOPBACK": "true",
        }
    )
    log = tmp_path / "login-b.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "mobileid", "login", "serve", "--port", str(port)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"login serve did not start: {log.read_text()[-2000:]}")
            time.sleep(0.1)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=30)


@pytest.fixture
def pair(database_url: str, tmp_path: Path) -> Iterator[tuple[Login, int]]:
    clock = Clock()
    with (
        running_issuer(clock) as (issuer, _),
        running_login(tmp_path, database_url, clock, issuer) as login,
    ):
        yield from ((login, port) for port in _serve_other(login, tmp_path, database_url))


@pytest.mark.slow
def test_session_started_on_one_process_completes_on_the_other(
    pair: tuple[Login, int], tmp_path: Path
) -> None:
    login, other = pair
    wallet, _ = make_wallet(tmp_path / "phone", login.issuer, number="E5001")
    public = login.served.port
    balancer = _Balancer(public, other)
    # API mode: created on A, fetched and answered on B, handed over by A
    session = login.session()
    with httpx.Client(transport=balancer, timeout=10) as via_b:
        wallet_http = login.http
        login.http = via_b
        try:
            presenter = login.presenter()
            outcome = presenter.respond(presenter.resolve_request(session["link"], wallet), wallet)
        finally:
            login.http = wallet_http
    assert outcome.status_code == 200 and balancer.routed == 2
    result = login.result(session).json()
    assert result["status"] == "completed"
    assert result["presentations"]["employee_id"][0]["claims"]["employee_number"] == "E5001"

    # OIDC: the browser on A, the wallet and the token/userinfo back channel on B
    new = add_client(login, allowed_claims=["name", "employee_number"])
    attempt = begin(login, new)
    try:
        with httpx.Client(transport=_Balancer(public, other), timeout=10) as via_b:
            login.http = via_b
            try:
                location = wallet_answers(login, attempt, wallet, same_device=False)
            finally:
                login.http = wallet_http
        token_url = attempt.config["token_endpoint"].replace(f":{public}", f":{other}")
        token = attempt.oauth.fetch_token(
            token_url, authorization_response=location, code_verifier=attempt.verifier
        )
        info = attempt.oauth.get(
            attempt.config["userinfo_endpoint"].replace(f":{public}", f":{other}")
        ).json()
    finally:
        attempt.close()
    assert query_of(location)["state"] == attempt.state
    assert info["employee_number"] == "E5001" and info["name"] == "홍길동"
    # both processes publish the same keys (they live in the shared database)
    keys_a = login.http.get(f"{login.url}/jwks.json").json()
    keys_b = httpx.get(f"http://127.0.0.1:{other}/jwks.json").json()
    assert keys_a == keys_b
    assert token["id_token"].count(".") == 2
