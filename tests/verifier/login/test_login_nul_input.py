"""NUL bytes (and lone surrogates) at every route of the login service (OpenID4VP verifier and
OpenID Connect bridge): refused at the edge with 400 `invalid_request` in the OAuth shape, never
a 500, on SQLite and PostgreSQL alike, with and without each route's credentials (API token,
session handle, browser cookie, client secret, access token), no traceback in the logs; a client
leaving mid-body is one log line."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from edge_kit import (
    Baseline,
    assert_no_tracebacks,
    assert_one_line_for_leaving,
    assert_refused,
    captured_logs,
    routes_of,
    run_attacks,
)
from login_kit import API_TOKEN, Login, login_world, make_wallet, request_object_of
from oidc_kit import RP_REDIRECT, add_client, begin, redeem, wallet_answers
from sqlalchemy import select

from vc.jwe import encrypt_compact
from verifier.oid4vp.api import SessionRequest
from verifier.oid4vp.models import login_records

AFTER_LOGOUT = "https://rp.example/logged-out"


def invalid_request(_path: str) -> str:
    return "invalid_request"


@pytest.fixture
def world(database_url: str, tmp_path: Path) -> Any:
    with login_world(tmp_path, database_url) as login:
        yield login


def _tokens(world: Login, tmp_path: Path) -> tuple[Any, dict[str, Any]]:
    """A whole login through the bridge: the client, and its tokens (the access token /userinfo
    takes, the ID token /end_session takes as its hint)."""
    wallet, _ = make_wallet(tmp_path / "phone", world.issuer, number="E4001")
    new = add_client(world, post_logout_redirect_uris=[AFTER_LOGOUT])
    attempt = begin(world, new)
    try:
        token = redeem(attempt, wallet_answers(world, attempt, wallet, same_device=False))
    finally:
        attempt.close()
    return new, token


def baselines(world: Login, tmp_path: Path) -> dict[str, Baseline]:
    """A request each route would take: live sessions, a registered client, real credentials."""
    new, tokens = _tokens(world, tmp_path)
    access, client_id = tokens["access_token"], new.client.client_id
    logout = {
        "id_token_hint": tokens["id_token"],
        "post_logout_redirect_uri": AFTER_LOGOUT,
        "state": "rp-state",
    }
    pending = begin(world, new)  # a browser on the login page: its session and cookie
    (cookie_name,) = [n for n in pending.browser.cookies if n.startswith("mobileid_login_")]
    browser_sid = cookie_name.removeprefix("mobileid_login_")
    cookie = {"Cookie": f"{cookie_name}={pending.browser.cookies[cookie_name]}"}
    pending.close()
    session = world.session()
    sid, handle = session["id"], {"Authorization": f"Bearer {session['handle']}"}
    state = request_object_of(world, world.session())["state"]
    basic = base64.b64encode(f"{quote(client_id)}:{quote(new.secret or '')}".encode()).decode()
    authorize = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": RP_REDIRECT,
        "scope": "openid",
        "state": "rp-state",
        "nonce": "rp-nonce",
        "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
        "code_challenge_method": "S256",
    }
    return {
        "GET /authorize": Baseline(query=authorize),
        "GET /end_session": Baseline(query=logout),
        "POST /end_session": Baseline(form=logout),
        "POST /authorize": Baseline(form=authorize),
        "POST /token": Baseline(
            form={
                "grant_type": "authorization_code",
                "code": "a-code",
                "redirect_uri": RP_REDIRECT,
                "code_verifier": "v" * 43,
            },
            auth={"Authorization": f"Basic {basic}"},
        ),
        **{
            f"{method} /userinfo": Baseline(auth={"Authorization": f"Bearer {access}"})
            for method in ("GET", "POST")
        },
        "GET /login/status/{session_id}": Baseline(
            path_params={"session_id": browser_sid}, auth=cookie
        ),
        "GET /login/continue/{session_id}": Baseline(
            path_params={"session_id": browser_sid}, query={"response_code": "rc"}, auth=cookie
        ),
        "GET /oid4vp/request/{session_id}": Baseline(
            path_params={"session_id": sid}, query={"flow": "cross_device"}
        ),
        "POST /oid4vp/request/{session_id}": Baseline(
            path_params={"session_id": sid}, form={"wallet_nonce": "wn-1"}
        ),
        "POST /oid4vp/response": Baseline(
            form={
                "state": state,
                "vp_token": json.dumps({"employee_id": ["eyJ.eyJ.sig~"]}),
                "response": "eyJ.a.b.c.d",
            }
        ),
        "GET /oid4vp/qr/{session_id}.{kind}": Baseline(
            path_params={"session_id": sid, "kind": "svg"}, query={"flow": "cross_device"}
        ),
        "POST /oid4vp/sessions": Baseline(
            json_body={
                "claims": ["name"],
                "alternatives": [["name", "department"]],
                "client_id_prefix": "x509_hash",
                "flow": "cross_device",
                "allowed_agencies": ["1741000"],
                "system": "desk-3",
            },
            auth={"Authorization": f"Bearer {API_TOKEN}"},
            body_schema=SessionRequest.model_json_schema(),
        ),
        "GET /oid4vp/sessions/{session_id}": Baseline(path_params={"session_id": sid}, auth=handle),
        "POST /oid4vp/sessions/{session_id}/result": Baseline(
            path_params={"session_id": sid}, query={"response_code": "rc"}, auth=handle
        ),
    }


def test_nul_in_every_login_route_is_refused_at_the_edge(
    world: Login, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    table = baselines(world, tmp_path)
    routes = routes_of(world.served.app)
    assert {"POST /oid4vp/response", "POST /token", "GET /userinfo"} <= {r.key for r in routes}
    with world.db() as db:
        records_before = len(db.execute(select(login_records)).all())
    with captured_logs(caplog):
        sent = run_attacks(world.http, world.url, routes, table, invalid_request)
        assert_no_tracebacks(caplog)
    assert sent > 80
    with world.db() as db:  # nothing got far enough to be recorded
        assert len(db.execute(select(login_records)).all()) == records_before


@pytest.mark.parametrize(
    "plaintext",
    [
        pytest.param('{"state": "%s", "vp_token": {"e": ["eyJ\\u0000.x~"]}}', id="nul_in_a_vp"),
        pytest.param('{"state": "%s", "vp_token": {"e": ["eyJ\\ud800.x~"]}}', id="lone_surrogate"),
        pytest.param('{"state": "%s", "vp_token": {"e\\u0000": ["eyJ.x~"]}}', id="nul_in_a_key"),
        pytest.param('{"state": "%s\\u0000", "vp_token": {"e": ["eyJ.x~"]}}', id="nul_in_state"),
        pytest.param(
            '{"state": "%s", "error": "access_denied", "error_description": "no\\u0000"}',
            id="nul_in_error_description",
        ),
    ],
)
def test_a_nul_inside_an_encrypted_response_is_refused_by_the_route(
    world: Login, plaintext: str, caplog: pytest.LogCaptureFixture
) -> None:
    """The edge cannot see into `direct_post.jwt`: the OpenID4VP parser and the verification
    pipeline refuse what the wallet encrypted, in the same shape, on either database."""
    session = world.session()
    params = request_object_of(world, session)
    (key,) = params["client_metadata"]["jwks"]["keys"]
    token = encrypt_compact((plaintext % params["state"]).encode(), key, "A128GCM")
    with captured_logs(caplog):
        response = world.http.post(f"{world.url}/oid4vp/response", data={"response": token})
        if response.status_code == 200:  # a wallet's error response ends the session
            assert response.json() == {}
        else:
            assert_refused(response, "invalid_request", plaintext)
        assert world.result(session).status_code in (200, 202)
        assert_no_tracebacks(caplog)


def test_a_client_leaving_mid_body_is_one_log_line(
    world: Login, caplog: pytest.LogCaptureFixture
) -> None:
    with captured_logs(caplog):
        assert_one_line_for_leaving(caplog, world.url, "/oid4vp/sessions", b'{"claims": ["na')
        assert_one_line_for_leaving(caplog, world.url, "/oid4vp/response", b"state=abc&vp_to")
