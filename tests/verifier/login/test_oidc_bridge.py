"""The OpenID Connect bridge end to end over HTTP: authlib's client runs the code flow with PKCE,
the wallet simulator answers the OpenID4VP request (QR or same-device), the client gets an ID
token (RS256 or ES256, checked against the JWKS) whose claims are exactly the allowed ones."""

from __future__ import annotations

import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from authlib.jose import JsonWebKey, JsonWebToken
from authlib.oidc.core import CodeIDToken
from login_kit import Login, login_world, make_wallet
from oidc_kit import (
    RP_REDIRECT,
    add_client,
    begin,
    continue_url,
    query_of,
    redeem,
    wallet_answers,
)
from sqlalchemy import select

from verifier.login.claims import subject_for
from verifier.login.clients import set_client_enabled
from verifier.oid4vp.models import login_records

PROTOCOL_CLAIMS = {"iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "amr", "at_hash", "sid"}


@pytest.fixture
def world(database_url: str, tmp_path: Path) -> Any:
    with login_world(tmp_path, database_url) as login:
        yield login


def _id_token(login: Login, attempt: Any, token: dict[str, Any], client_id: str) -> Any:
    """authlib's OIDC checks: signature against the JWKS, then iss, aud, exp, nonce, at_hash."""
    jwks = JsonWebKey.import_key_set(login.http.get(attempt.config["jwks_uri"]).json())
    claims = JsonWebToken(["RS256", "ES256"]).decode(
        token["id_token"],
        jwks,
        claims_cls=CodeIDToken,
        claims_options={"iss": {"essential": True, "value": login.url}},
        claims_params={
            "nonce": attempt.nonce,
            "client_id": client_id,
            "access_token": token["access_token"],
        },
    )
    claims.validate(now=int(time.time()))
    return SimpleNamespace(header=dict(claims.header), claims=dict(claims))


def test_code_flow_with_pkce_cross_device(world: Login, tmp_path: Path) -> None:
    wallet, _ = make_wallet(tmp_path / "phone", world.issuer, number="E4001")
    new = add_client(world, allowed_claims=["name", "name#en", "department"])
    attempt = begin(world, new)
    try:
        assert "모바일 공무원증으로 로그인" in attempt.page.text
        assert "Log in with the mobile ID" in attempt.page.text
        location = wallet_answers(world, attempt, wallet, same_device=False)
        assert location.startswith(RP_REDIRECT + "?")
        params = query_of(location)
        assert params["state"] == attempt.state and params["iss"] == world.url
        token = redeem(attempt, location)
        decoded = _id_token(world, attempt, token, new.client.client_id)
        assert decoded.header["alg"] == "RS256"
        claims = dict(decoded.claims)
        assert set(claims) - PROTOCOL_CLAIMS == {"name", "name#en", "department"}
        assert claims["name"] == "홍길동" and claims["name#en"] == "HONG Gildong"
        assert claims["department"] == "디지털정부과"
        expected_sub = subject_for(
            "pairwise", "E4001", sector="127.0.0.1", secret=world.service.oidc.keys.pairwise_secret
        )
        assert claims["sub"] == expected_sub != "E4001"
        info = attempt.oauth.get(attempt.config["userinfo_endpoint"]).json()
        assert info == {k: claims[k] for k in ("sub", "name", "name#en", "department")}
        # the code is single use
        again = world.http.post(
            attempt.config["token_endpoint"],
            data={
                "grant_type": "authorization_code",
                "code": params["code"],
                "redirect_uri": RP_REDIRECT,
                "code_verifier": attempt.verifier,
            },
            auth=(new.client.client_id, new.secret or ""),
        )
        assert again.status_code == 400 and again.json()["error"] == "invalid_grant"
    finally:
        attempt.close()
    with world.db() as db:
        (record,) = db.execute(select(login_records)).all()
    assert (record.client_id, record.employee_number, record.outcome, record.flow) == (
        new.client.client_id,
        "E4001",
        "ok",
        "cross_device",
    )


def test_same_device_es256_with_employee_number_subject(world: Login, tmp_path: Path) -> None:
    wallet, _ = make_wallet(tmp_path / "phone", world.issuer, number="E4002")
    new = add_client(
        world,
        allowed_claims=["employee_number", "agency_code"],
        subject_type="employee_number",
        id_token_alg="ES256",
        public=True,
    )
    attempt = begin(world, new)
    try:
        location = wallet_answers(world, attempt, wallet, same_device=True)
        token = redeem(attempt, location)
        decoded = _id_token(world, attempt, token, new.client.client_id)
    finally:
        attempt.close()
    assert decoded.header["alg"] == "ES256"
    claims = dict(decoded.claims)
    assert set(claims) - PROTOCOL_CLAIMS == {"employee_number", "agency_code"}
    assert claims["sub"] == claims["employee_number"] == "E4002"


def test_revoked_credential_ends_in_access_denied(world: Login, tmp_path: Path) -> None:
    wallet, idx = make_wallet(tmp_path / "phone", world.issuer, number="E4003")
    world.issuer.set_status(idx, 1)
    world.status_changed()
    new = add_client(world)
    attempt = begin(world, new)
    try:
        location = wallet_answers(world, attempt, wallet, same_device=False)
    finally:
        attempt.close()
    params = query_of(location)
    assert params["error"] == "access_denied" and params["state"] == attempt.state
    assert "revoked" in params["error_description"]
    with world.db() as db:
        (record,) = db.execute(select(login_records)).all()
    assert (record.client_id, record.outcome) == (new.client.client_id, "revoked")


def test_agency_restricted_client(world: Login, tmp_path: Path) -> None:
    wallet, _ = make_wallet(tmp_path / "phone", world.issuer, agency="1311000")
    new = add_client(world, allowed_agencies=["1741000"])
    attempt = begin(world, new)
    try:
        location = wallet_answers(world, attempt, wallet, same_device=False)
    finally:
        attempt.close()
    assert query_of(location)["error"] == "access_denied"


def test_discovery_and_jwks(world: Login) -> None:
    config = world.http.get(f"{world.url}/.well-known/openid-configuration").json()
    assert config["issuer"] == world.url
    assert config["code_challenge_methods_supported"] == ["S256"]
    assert set(config["id_token_signing_alg_values_supported"]) == {"RS256", "ES256"}
    jwks = world.http.get(config["jwks_uri"]).json()
    assert {(k["kty"], k["alg"]) for k in jwks["keys"]} == {("RSA", "RS256"), ("EC", "ES256")}
    assert all("d" not in k for k in jwks["keys"])


def _authorize(world: Login, **params: str) -> httpx.Response:
    return world.http.get(f"{world.url}/authorize", params=params)


def test_authorization_request_errors(world: Login) -> None:
    new = add_client(world)
    good = {
        "response_type": "code",
        "client_id": new.client.client_id,
        "scope": "openid",
        "redirect_uri": RP_REDIRECT,
        "state": "s1",
        "code_challenge": "A" * 43,
        "code_challenge_method": "S256",
    }
    page = _authorize(world, **good)
    assert (
        page.status_code == 200
        and "frame-ancestors 'none'" in page.headers["content-security-policy"]
    )
    posted = world.http.post(f"{world.url}/authorize", data=good)  # OIDC Core: GET and POST
    assert posted.status_code == 200 and "모바일 공무원증으로 로그인" in posted.text
    garbled = world.http.post(
        f"{world.url}/authorize",
        content=b"\xff",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert garbled.status_code == 400 and "로그인할 수 없습니다" in garbled.text
    shown = [
        {**good, "client_id": "nobody"},
        {**good, "redirect_uri": "http://127.0.0.1:9/elsewhere"},
        {k: v for k, v in good.items() if k != "redirect_uri"},
    ]
    for params in shown:  # never redirect to an unverified place
        page = _authorize(world, **params)
        assert page.status_code == 400 and "로그인할 수 없습니다" in page.text
    redirected = [
        ({**good, "response_type": "token"}, "unsupported_response_type"),
        ({**good, "scope": "profile"}, "invalid_scope"),
        ({k: v for k, v in good.items() if k != "code_challenge"}, "invalid_request"),
        ({**good, "code_challenge_method": "plain"}, "invalid_request"),
        ({**good, "code_challenge": "short"}, "invalid_request"),
        ({**good, "prompt": "none"}, "login_required"),
        ({**good, "request": "eyJhbGciOiJub25lIn0.e30."}, "request_not_supported"),
        ({**good, "request_uri": "https://rp.example/r"}, "request_uri_not_supported"),
    ]
    for params, error in redirected:
        response = _authorize(world, **params)
        assert response.status_code == 303, params
        back = query_of(response.headers["location"])
        assert response.headers["location"].startswith(RP_REDIRECT)
        assert (back["error"], back["state"]) == (error, "s1")
    with world.db() as db:
        set_client_enabled(db, new.client.client_id, False)
    assert _authorize(world, **good).status_code == 200  # this process read it a moment ago
    world.clock.advance(6)  # past the per-process client cache
    assert _authorize(world, **good).status_code == 400


def test_token_and_userinfo_errors(world: Login, tmp_path: Path) -> None:
    wallet, _ = make_wallet(tmp_path / "phone", world.issuer)
    new = add_client(world)
    attempt = begin(world, new)
    try:
        location = wallet_answers(world, attempt, wallet, same_device=False)
    finally:
        attempt.close()
    code = query_of(location)["code"]
    token_url = f"{world.url}/token"
    auth = (new.client.client_id, new.secret or "")
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": RP_REDIRECT,
        "code_verifier": attempt.verifier,
    }

    def refused(response: httpx.Response, error: str, status: int = 400) -> None:
        assert response.status_code == status, response.text
        assert response.json()["error"] == error

    refused(world.http.post(token_url, data=form, auth=(auth[0], "wrong")), "invalid_client", 401)
    refused(world.http.post(token_url, data=form), "invalid_client", 401)
    refused(
        world.http.post(token_url, data={**form, "grant_type": "password"}, auth=auth),
        "unsupported_grant_type",
    )
    refused(
        world.http.post(token_url, data={**form, "code_verifier": "B" * 43}, auth=auth),
        "invalid_grant",
    )
    refused(
        world.http.post(token_url, data={**form, "redirect_uri": RP_REDIRECT + "x"}, auth=auth),
        "invalid_grant",
    )
    refused(world.http.post(token_url, json=form, auth=auth), "invalid_request")
    refused(
        world.http.post(
            token_url,
            content=b"code=a&code=b",
            auth=auth,
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        ),
        "invalid_request",
    )
    refused(
        world.http.post(
            token_url,
            content=b"\xff\xfe",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        ),
        "invalid_request",
    )
    refused(
        world.http.post(token_url, data=form, headers={"Authorization": "Basic !!!"}),
        "invalid_client",
        401,
    )
    refused(
        world.http.post(
            token_url,
            content=b"a=" + b"x" * 20000,
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        ),
        "invalid_request",
        413,
    )
    # none of the failures above used the code up
    ok = world.http.post(token_url, data=form, auth=auth)
    assert ok.status_code == 200 and ok.headers["cache-control"] == "no-store"
    world.clock.advance(10_000)
    info = world.http.get(
        f"{world.url}/userinfo", headers={"Authorization": f"Bearer {ok.json()['access_token']}"}
    )
    refused(info, "invalid_token", 401)
    assert info.headers["www-authenticate"].startswith("Bearer")
    refused(world.http.get(f"{world.url}/userinfo"), "invalid_token", 401)


def test_expired_code_is_refused(world: Login, tmp_path: Path) -> None:
    wallet, _ = make_wallet(tmp_path / "phone", world.issuer)
    new = add_client(world)
    attempt = begin(world, new)
    try:
        location = wallet_answers(world, attempt, wallet, same_device=False)
    finally:
        attempt.close()
    world.clock.advance(61)
    response = world.http.post(
        f"{world.url}/token",
        data={
            "grant_type": "authorization_code",
            "code": query_of(location)["code"],
            "redirect_uri": RP_REDIRECT,
            "code_verifier": attempt.verifier,
        },
        auth=(new.client.client_id, new.secret or ""),
    )
    assert response.status_code == 400 and response.json()["error"] == "invalid_grant"


def test_login_page_left_too_long_sends_access_denied(world: Login) -> None:
    new = add_client(world)
    attempt = begin(world, new)
    try:
        world.clock.advance(301)
        back = attempt.browser.get(continue_url(attempt.page.text))
    finally:
        attempt.close()
    assert back.status_code == 303
    params = query_of(back.headers["location"])
    assert params["error"] == "access_denied" and "session_expired" in params["error_description"]


def test_an_api_session_cannot_be_continued_as_a_login(world: Login) -> None:
    session = world.session()
    world.http.cookies.set(f"mobileid_login_{session['id']}", session["handle"], path="/login/")
    world.clock.advance(301)  # ended (expired) so there is something to hand over
    page = world.http.get(f"{world.url}/login/continue/{session['id']}")
    assert page.status_code == 400 and "not a login session" in page.text
