"""Signing in to a console with the mobile ID, over real HTTP: the console (an OpenID Connect
client of the login service, Authlib doing code flow + PKCE S256 with state and nonce) sends the
browser to the login service, the wallet simulator presents, the login service sends the browser
back, and the console checks the ID token against the service's discovery and JWKS."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from console_kit import Clock, Roles, browser_on, csrf_of, kit_app, make_console
from login_kit import login_world
from server_kit import Served
from signin_kit import NUMBER, World, register_console

from console.viewer import Grant


@contextlib.contextmanager
def console_world(tmp_path: Path, database_url: str) -> Iterator[World]:
    with login_world(tmp_path, database_url) as login:
        served = Served(None)
        new = register_console(login, served.url)
        roles = Roles({NUMBER: [Grant("employee"), Grant("hr_officer", "1741000")]})
        console = make_console(
            roles,
            Clock(time.time()),
            login_url=login.url,
            base_url=served.url,
            client_id=new.client.client_id,
            client_secret=new.secret,
        )
        served.app = kit_app(console)
        served.start()
        try:
            with httpx.Client(timeout=10) as browser:
                yield World(login, served.url, browser)
        finally:
            served.stop()


@pytest.fixture
def world(tmp_path: Path, database_url: str) -> Iterator[World]:
    with console_world(tmp_path, database_url) as world:
        yield world


def test_sign_in_with_the_mobile_id(world: World, tmp_path: Path) -> None:
    authorize = world.start()
    params = {k: v[0] for k, v in parse_qs(urlsplit(authorize).query).items()}
    assert authorize.startswith(world.login.url)
    assert params["response_type"] == "code" and params["code_challenge_method"] == "S256"
    assert params["state"] and params["nonce"] and len(params["code_challenge"]) == 43
    assert params["redirect_uri"] == f"{world.console_url}/console/callback"

    callback = world.wallet_presents(authorize, tmp_path)
    assert callback.startswith(f"{world.console_url}/console/callback?")
    back = world.browser.get(callback)
    assert back.status_code == 303
    assert back.headers["location"] == "/console/hr"  # where the person was going

    page = world.browser.get(f"{world.console_url}/console/hr")
    assert page.status_code == 200
    assert "홍길동" in page.text and NUMBER in page.text and "hr 1741000" in page.text
    session = world.session()
    assert session["who"]["n"] == NUMBER and session["who"]["amr"] == ["vc"]
    assert "sid" in session["who"]
    assert not any("token" in key for key in session)  # no token kept in the cookie


def test_the_code_cannot_be_used_twice(world: World, tmp_path: Path) -> None:
    callback = world.wallet_presents(world.start(), tmp_path)
    assert world.browser.get(callback).status_code == 303
    again = world.browser.get(callback)
    assert again.status_code == 400 and "signin_failed" in again.text


def test_a_forged_state_is_refused(world: World, tmp_path: Path) -> None:
    callback = world.wallet_presents(world.start(), tmp_path)
    forged = callback.replace("state=", "state=x")
    page = world.browser.get(forged)
    assert page.status_code == 400 and "signin_failed" in page.text
    assert world.browser.get(f"{world.console_url}/console/hr").status_code == 303


def test_a_refusal_from_the_login_service_is_a_page(world: World) -> None:
    authorize = world.start()
    state = parse_qs(urlsplit(authorize).query)["state"][0]
    page = world.browser.get(
        f"{world.console_url}/console/callback",
        params={"error": "access_denied", "state": state},
    )
    assert page.status_code == 400
    assert "signin_failed" in page.text and "로그인하지 못했습니다" in page.text


def test_the_callback_of_another_browser_signs_nobody_in(world: World, tmp_path: Path) -> None:
    callback = world.wallet_presents(world.start(), tmp_path)
    with httpx.Client(timeout=10) as other:  # login CSRF: the state lives in the first session
        page = other.get(callback)
        assert page.status_code == 400 and "signin_failed" in page.text


def test_the_login_service_down_is_a_page(tmp_path: Path) -> None:
    unused = Served(None)
    console = make_console(Roles(), Clock(), login_url=unused.url, base_url="http://127.0.0.1:9")
    unused.close()
    with browser_on(kit_app(console)) as browser:
        page = browser.get("/console/signin")
        answer = browser.post("/console/signin", data={"csrf_token": csrf_of(page.text)})
    assert answer.status_code == 502 and "login_unavailable" in answer.text
