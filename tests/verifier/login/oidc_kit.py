"""A relying system's side of the bridge: authlib's OAuth 2.0 client doing code flow + PKCE, a
browser (an httpx client with cookies) and the wallet simulator answering the QR or the
same-device link."""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
from authlib.common.security import generate_token
from authlib.integrations.httpx_client import OAuth2Client
from login_kit import Login, data_link

from verifier.login.clients import NewClient, register_client
from wallet_sim.errors import VerifierError

RP_REDIRECT = "http://127.0.0.1:9/callback"
"""Never contacted: the browser stops at the redirect and hands the URL to the client."""


def add_client(login: Login, **values: Any) -> NewClient:
    values.setdefault("name", "전자결재 (e-approval)")
    values.setdefault("redirect_uris", [RP_REDIRECT])
    values.setdefault("allowed_claims", ["name", "name#en", "department"])
    with login.db() as db:
        return register_client(db, now=time.time(), **values)


@dataclass
class Attempt:
    oauth: OAuth2Client
    config: dict[str, Any]
    verifier: str
    nonce: str
    state: str
    browser: httpx.Client
    page: httpx.Response

    def close(self) -> None:
        self.oauth.close()
        self.browser.close()


def begin(login: Login, new: NewClient, **extra: Any) -> Attempt:
    """The relying system redirects the browser to /authorize; the browser gets the page."""
    config = login.http.get(f"{login.url}/.well-known/openid-configuration").json()
    oauth = OAuth2Client(
        new.client.client_id,
        new.secret,
        scope="openid",
        redirect_uri=RP_REDIRECT,
        code_challenge_method="S256",
        token_endpoint_auth_method="none" if new.secret is None else "client_secret_basic",
    )
    verifier, nonce = generate_token(48), generate_token(20)
    url, state = oauth.create_authorization_url(
        config["authorization_endpoint"], code_verifier=verifier, nonce=nonce, **extra
    )
    browser = httpx.Client(timeout=10)
    page = browser.get(url)
    return Attempt(oauth, config, verifier, nonce, state, browser, page)


def wallet_answers(login: Login, attempt: Attempt, wallet: Any, *, same_device: bool) -> str:
    """The wallet answers; the browser comes back to the bridge; returns where it is sent next."""
    assert attempt.page.status_code == 200, attempt.page.text
    presenter = login.presenter()
    if same_device:
        link = data_link(attempt.page.text, "same-device")
        outcome = presenter.respond(
            presenter.resolve_request(link, wallet), wallet, follow_redirect=False
        )
        assert outcome.redirect_uri is not None
        back = attempt.browser.get(outcome.redirect_uri)  # the wallet hands over to the browser
    else:
        link = data_link(attempt.page.text)
        plan = presenter.resolve_request(link, wallet)
        with contextlib.suppress(VerifierError):  # refused: the browser still learns the end
            presenter.respond(plan, wallet)
        status_url = _page_url(attempt.page.text, "const s=")
        for _ in range(50):
            if attempt.browser.get(status_url).json()["status"] != "pending":
                break
            time.sleep(0.05)
        back = attempt.browser.get(continue_url(attempt.page.text))
    assert back.status_code == 303, back.text
    return back.headers["location"]


def redeem(attempt: Attempt, location: str) -> dict[str, Any]:
    """The relying system trades the code in `location` for tokens (code flow with PKCE)."""
    return dict(
        attempt.oauth.fetch_token(
            attempt.config["token_endpoint"],
            authorization_response=location,
            code_verifier=attempt.verifier,
        )
    )


def continue_url(html: str) -> str:
    """Where the login page sends the browser once the wallet has answered."""
    return _page_url(html, ",c=")


def _page_url(html: str, marker: str) -> str:
    import json

    start = html.index(marker) + len(marker)
    end = html.index('"', start + 1) + 1
    return str(json.loads(html[start:end]))


def query_of(location: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}
