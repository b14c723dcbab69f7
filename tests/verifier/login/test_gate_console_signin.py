"""The gate's console end to end over real HTTP, built from its settings as `gate run` builds it:
a guard signs in with the mobile ID at the login service, the gate asks the issuer (a double of
its grants API) for the guard's roles with its grant_reader token, and the display shows a scan.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from console_kit import csrf_of
from display_kit import register_gate_console, sse
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from gate_kit import gate_policy, make_gate, presentation, scan
from login_kit import Login, login_world, make_wallet
from oidc_kit import wallet_answers
from server_kit import Served, serve_app

from mobileid.gate_app import create_gate_app, gate_console_of
from mobileid.settings import GateSettings
from vc.keys import Ed25519PrivateKey
from vc.qr_compact import encode_presentation

GUARD = "E7001"
TOKEN = "reader-token"


def grants_api(grants: dict[str, list[dict[str, Any]]]) -> FastAPI:
    """The issuer's `GET /console/api/grants/{employee_number}` for a grant_reader token."""
    app = FastAPI()

    @app.get("/console/api/grants/{number}")
    def read(number: str, request: Request) -> JSONResponse:
        if request.headers.get("authorization") != f"Bearer {TOKEN}":
            return JSONResponse({"error": "unauthorized"}, status_code=401)
        if number not in grants:
            return JSONResponse({"error": "employee_not_found"}, status_code=404)
        return JSONResponse({"employee_number": number, "name": "?", "grants": grants[number]})

    return app


@pytest.fixture
def world(tmp_path: Path, database_url: str) -> Iterator[tuple[Login, Served, Any]]:
    grants = {GUARD: [{"role": "gate_operator", "scope": None}], "E7002": []}
    with login_world(tmp_path, database_url) as login, serve_app(grants_api(grants)) as issuer:
        gate = Served(None)
        with login.db() as db:
            client = register_gate_console(db, gate.url)
        token_file = tmp_path / "grants.token"
        token_file.write_text(TOKEN)
        token_file.chmod(0o600)
        secret_file = tmp_path / "client.secret"
        secret_file.write_text(client.secret or "")
        secret_file.chmod(0o600)
        settings = GateSettings(
            data_dir=tmp_path,
            console_login_url=login.url,
            console_client_id=client.client.client_id,
            console_client_secret_file=secret_file,
            console_grants_token_file=token_file,
            console_issuer_url=issuer.url,
        )
        service = make_gate(gate_policy(login.issuer.url), tmp_path, login.issuer.clock)
        console = gate_console_of(service, settings, data_dir=tmp_path, base_url=gate.url)
        gate.app = create_gate_app(service, worker_factory=None, console=console)
        gate.start()
        try:
            yield login, gate, service
        finally:
            gate.stop()


def sign_in(login: Login, gate: Served, browser: httpx.Client, number: str, tmp_path: Path) -> str:
    """The guard opens /display, signs in with the wallet; returns where they are sent back."""
    first = browser.get(f"{gate.url}/display")
    assert first.status_code == 303
    page = browser.get(f"{gate.url}{first.headers['location']}")
    started = browser.post(
        f"{gate.url}/console/signin", data={"csrf_token": csrf_of(page.text), "next": "/display"}
    )
    assert started.status_code == 303 and started.headers["location"].startswith(login.url)
    wallet, _ = make_wallet(tmp_path / number, login.issuer, number=number)
    attempt = SimpleNamespace(page=browser.get(started.headers["location"]), browser=browser)
    callback = wallet_answers(login, attempt, wallet, same_device=False)  # type: ignore[arg-type]
    back = browser.get(callback)
    assert back.status_code == 303
    return str(back.headers["location"])


def test_a_guard_signs_in_and_watches_a_scan(world: Any, tmp_path: Path) -> None:
    login, gate, service = world
    holder = Ed25519PrivateKey.generate()
    credential, _ = login.issuer.issue(holder, number="E1234")
    qr = encode_presentation(
        presentation(credential, holder, audience=service.policy.audience, iat=login.issuer.clock())
    )
    with httpx.Client(timeout=20) as browser:
        assert sign_in(login, gate, browser, GUARD, tmp_path) == "/display"
        page = browser.get(f"{gate.url}/display")
        assert page.status_code == 200 and GUARD in page.text
        with browser.stream("GET", f"{gate.url}/display/events") as stream:
            events = sse(stream)
            next(events)
            assert scan(gate, qr)["allow"] is True
            fragment = next(events)
        assert "통과 / Allowed" in fragment and "E1234" in fragment
        records = browser.get(f"{gate.url}/records")
        assert records.status_code == 200 and "E1234" in records.text


def test_a_person_without_the_grant_gets_403(world: Any, tmp_path: Path) -> None:
    login, gate, _ = world
    with httpx.Client(timeout=20) as browser:
        sign_in(login, gate, browser, "E7002", tmp_path)
        for path in ("/display", "/display/events", "/records", "/records.csv"):
            response = browser.get(f"{gate.url}{path}")
            assert response.status_code == 403, path
            assert "<code>forbidden_role</code>" in response.text
