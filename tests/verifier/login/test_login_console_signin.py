"""The login service's own console signs in through the login service itself: it is registered
there like any business system (`sub` = employee number), the wallet presents, and the person's
grants come from the issuer's console API over HTTP (here a stand-in serving that one route)."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
from console_kit import csrf_of
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from gate_kit import Clock, running_issuer
from login_kit import Login, make_wallet, settings_for
from oidc_kit import wallet_answers
from server_kit import Served, serve_app

from mobileid.login_app import create_login_app, open_login_console, open_login_service
from vc.private_files import write_private_file
from verifier.login.clients import register_client
from verifier.x509 import create_local_pki

ADMIN = "E7001"
CLERK = "E7002"
TOKEN = "grant-reader-token-0123456789"


def _grants_api(asked: list[str]) -> FastAPI:
    """`GET /console/api/grants/{n}` as the issuer answers it (`schemas.console_api`)."""
    app = FastAPI()

    @app.get("/console/api/grants/{number}")
    async def grants(number: str, request: Request) -> JSONResponse:
        if request.headers.get("authorization") != f"Bearer {TOKEN}":
            return JSONResponse({"error": "unauthorized"}, status_code=401)
        asked.append(number)
        held = [{"role": "login_admin", "scope": None}] if number == ADMIN else []
        return JSONResponse({"employee_number": number, "name": "관리자", "grants": held})

    return app


@contextlib.contextmanager
def login_with_console(tmp_path: Path, database_url: str, asked: list[str]) -> Iterator[Login]:
    clock = Clock()
    with running_issuer(clock) as (issuer, _), serve_app(_grants_api(asked)) as grants:
        certificate = create_local_pki(tmp_path / "cert", "localhost")
        served = Served(None)
        token, secret = tmp_path / "grant-token", tmp_path / "console-secret"
        write_private_file(token, TOKEN.encode())
        settings = settings_for(
            tmp_path,
            database_url,
            served.port,
            issuer.url,
            console_client_id="login-console",
            console_client_secret_file=secret,
            console_issuer_url=grants.url,
            console_grant_token_file=token,
        )
        service = open_login_service(settings, clock=clock)
        with service.runtime.unit_of_work() as db:  # what the operator does once, by CLI
            new = register_client(
                db,
                client_id="login-console",
                name="로그인 관리 / Login administration",
                redirect_uris=[f"{settings.base_url}/admin/callback"],
                allowed_claims=["name"],
                subject_type="employee_number",
                now=time.time(),
            )
        assert new.secret is not None
        write_private_file(secret, new.secret.encode())
        served.app = create_login_app(service, console=open_login_console(settings))
        served.start()
        http = httpx.Client(timeout=10)
        login = Login(service, settings, served, certificate, issuer, clock, http)
        login.refresh()
        try:
            yield login
        finally:
            http.close()
            served.stop()
            service.engine.dispose()


def _sign_in(login: Login, tmp_path: Path, number: str, **claims: Any) -> httpx.Client:
    browser = httpx.Client(timeout=10)
    first = browser.get(f"{login.url}/admin/records")
    assert first.status_code == 303 and first.headers["location"].startswith("/admin/signin")
    page = browser.get(f"{login.url}{first.headers['location']}")
    answer = browser.post(
        f"{login.url}/admin/signin",
        data={"csrf_token": csrf_of(page.text), "next": "/admin/records"},
    )
    assert answer.status_code == 303 and answer.headers["location"].startswith(
        f"{login.url}/authorize?"
    )
    wallet, _ = make_wallet(tmp_path / f"phone-{number}", login.issuer, number=number, **claims)
    attempt = SimpleNamespace(page=browser.get(answer.headers["location"]), browser=browser)
    callback = wallet_answers(login, attempt, wallet, same_device=False)  # type: ignore[arg-type]
    assert callback.startswith(f"{login.url}/admin/callback?")
    back = browser.get(callback)
    assert back.status_code == 303 and back.headers["location"] == "/admin/records"
    return browser


def test_the_login_console_signs_in_through_its_own_service(
    tmp_path: Path, database_url: str
) -> None:
    asked: list[str] = []
    with login_with_console(tmp_path, database_url, asked) as login:
        with contextlib.closing(_sign_in(login, tmp_path, ADMIN)) as admin:
            page = admin.get(f"{login.url}/admin/records")
            assert page.status_code == 200 and ADMIN in page.text
            assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
            assert "login-console" in page.text  # its own sign-in is a login record
            assert "로그아웃 / Sign out" in page.text  # the kit's header, with the nav below
            assert "업무시스템 / Business systems" in page.text
        assert asked and set(asked) == {ADMIN}
        with contextlib.closing(_sign_in(login, tmp_path, CLERK)) as clerk:
            refused = clerk.get(f"{login.url}/admin/records")
            assert refused.status_code == 403 and "forbidden_role" in refused.text
            assert "login-console" not in refused.text
