"""Signing in to a console for real: a browser (httpx, cookies kept, redirects not followed)
goes from a console page to the login service and back while the wallet simulator presents."""

from __future__ import annotations

import base64
import json
import time
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
from console_kit import csrf_of
from login_kit import Login, make_wallet
from oidc_kit import wallet_answers

from console.web import SESSION_COOKIE
from verifier.login.clients import NewClient, register_client

NUMBER = "E5001"


@dataclass
class World:
    login: Login
    console_url: str
    browser: httpx.Client

    def start(self, path: str = "/console/hr") -> str:
        """The browser asks for a page, is sent to sign in, and posts the sign-in form;
        returns the login service's authorization URL it is sent to."""
        first = self.browser.get(f"{self.console_url}{path}")
        assert first.status_code == 303
        page = self.browser.get(f"{self.console_url}{first.headers['location']}")
        answer = self.browser.post(
            f"{self.console_url}/console/signin",
            data={"csrf_token": csrf_of(page.text), "next": path},
        )
        assert answer.status_code == 303, answer.text
        return answer.headers["location"]

    def wallet_presents(
        self, authorize_url: str, tmp_path: Path, number: str = NUMBER, **claims: Any
    ) -> str:
        """The login page, the wallet presenting; returns the console callback URL."""
        wallet, _ = make_wallet(tmp_path / "phone", self.login.issuer, number=number, **claims)
        login_page = self.browser.get(authorize_url)
        attempt = SimpleNamespace(page=login_page, browser=self.browser)
        return wallet_answers(self.login, attempt, wallet, same_device=False)  # type: ignore[arg-type]

    def session(self) -> dict[str, Any]:
        """What the (signed, not encrypted) session cookie holds."""
        value = self.browser.cookies[SESSION_COOKIE]
        payload = value.split(".")[0]
        return dict(json.loads(base64.b64decode(payload + "=" * (-len(payload) % 4))))

    def sign_in(self, tmp_path: Path, path: str, number: str = NUMBER) -> httpx.Response:
        """The whole round trip; returns the page at `path` once signed in."""
        back = self.browser.get(self.wallet_presents(self.start(path), tmp_path, number))
        assert back.status_code == 303, back.text
        return self.browser.get(f"{self.console_url}{back.headers['location']}")


def register_console(login: Login, console_url: str) -> NewClient:
    """The console's registration at the login service: `sub` is the employee number."""
    with login.db() as db:
        return register_client(
            db,
            name="인사 콘솔 / HR console",
            redirect_uris=[f"{console_url}/console/callback"],
            allowed_claims=["name"],
            subject_type="employee_number",
            now=time.time(),
        )
