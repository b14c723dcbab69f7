"""What the OpenID4VP verifier refuses, over HTTP: every answer in the spec's error shape
(`{"error", "error_description"}`, §8.5 / RFC 6749 §5.2), never a 500; a response that fails
spends the session's nonce, so the whole login fails."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from gate_kit import running_issuer
from login_kit import (
    API_TOKEN,
    Login,
    crafted,
    login_world,
    make_wallet,
    request_object_of,
)
from sqlalchemy import select

from vc.base64url import b64url_encode
from vc.openid4vp import encrypt_response, parse_request_link
from verifier.login.service import purge_all
from verifier.oid4vp.models import login_records, vp_sessions
from wallet_sim.errors import VerifierError

FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def _post(login: Login, form: dict[str, str] | bytes, headers: Any = None) -> httpx.Response:
    url = f"{login.url}/oid4vp/response"
    if isinstance(form, bytes):
        return login.http.post(url, content=form, headers=headers or FORM)
    return login.http.post(url, data=form)


def _respond(login: Login, params: dict[str, Any], fields: dict[str, Any]) -> httpx.Response:
    """Post response parameters as the request asked: a form (`direct_post`, `vp_token` as JSON
    text) or encrypted to the session's key (`direct_post.jwt`, `vp_token` an object)."""
    if params["response_mode"] == "direct_post.jwt":
        (key,) = params["client_metadata"]["jwks"]["keys"]
        return _post(login, {"response": encrypt_response(fields, key, "A128GCM")})
    if "vp_token" in fields:
        fields = {**fields, "vp_token": json.dumps(fields["vp_token"])}
    return _post(login, fields)


def _answer(login: Login, params: dict[str, Any], presentation: str) -> httpx.Response:
    return _respond(
        login, params, {"vp_token": {"employee_id": [presentation]}, "state": params["state"]}
    )


def _outcome(login: Login, session: dict[str, Any]) -> dict[str, Any]:
    result = login.result(session)
    assert result.status_code == 200, result.text
    return dict(result.json())


def _refused(response: httpx.Response, error: str, status: int = 400) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error"] == error
    assert isinstance(body["error_description"], str) and "Traceback" not in response.text


@pytest.fixture(params=["direct_post.jwt", "direct_post"])
def world(database_url: str, tmp_path: Path, request: pytest.FixtureRequest) -> Any:
    """The login service answering in HAIP's encrypted mode (its default), and in plain mode."""
    with login_world(tmp_path, database_url, response_mode=request.param) as login:
        yield login


@pytest.fixture
def phone(world: Login, tmp_path: Path) -> Any:
    wallet, idx = make_wallet(tmp_path / "phone", world.issuer, number="E3001")
    return wallet, idx


def _presentation(login: Login, wallet: Any, params: dict[str, Any], **changes: Any) -> str:
    values = {"audience": params["client_id"], "nonce": params["nonce"], "iat": login.clock()}
    values.update(changes)
    return crafted(wallet.credentials[-1]["credential"], wallet.device_key, **values)


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"nonce": "bm90LXRoZS1ub25jZS1hdC1hbGw"}, "wrong_nonce"),
        ({"audience": "x509_san_dns:other.example"}, "wrong_audience"),
        ({"audience": "localhost"}, "wrong_audience"),  # aud is the full client_id, prefix too
    ],
)
def test_wrong_binding_fails_the_whole_login(
    world: Login, phone: Any, change: dict[str, str], reason: str
) -> None:
    wallet, _ = phone
    session = world.session()
    params = request_object_of(world, session)
    bad = _presentation(world, wallet, params, **change)
    _refused(_answer(world, params, bad), "invalid_request")
    # the nonce is spent: even the right answer now fails
    good = _presentation(world, wallet, params)
    _refused(_answer(world, params, good), "invalid_request")
    assert _outcome(world, session) == {"status": "failed", "reason": reason}


def test_replayed_vp_token(world: Login, phone: Any) -> None:
    wallet, _ = phone
    first = world.session()
    first_params = request_object_of(world, first)
    presentation = _presentation(world, wallet, first_params)
    assert _answer(world, first_params, presentation).status_code == 200
    _refused(_answer(world, first_params, presentation), "invalid_request")  # same session again
    second = world.session()
    second_params = request_object_of(world, second)
    _refused(_answer(world, second_params, presentation), "invalid_request")  # into another session
    assert _outcome(world, first)["status"] == "completed"
    assert _outcome(world, second) == {"status": "failed", "reason": "wrong_nonce"}


@pytest.mark.parametrize(("value", "reason"), [(1, "revoked"), (2, "suspended")])
def test_revoked_or_suspended_credential(world: Login, phone: Any, value: int, reason: str) -> None:
    wallet, idx = phone
    world.issuer.set_status(idx, value)
    world.status_changed()
    session = world.session()
    presenter = world.presenter()
    with pytest.raises(VerifierError, match="access_denied"):
        presenter.respond(presenter.resolve_request(session["link"], wallet), wallet)
    assert _outcome(world, session) == {"status": "failed", "reason": reason}


def test_untrusted_issuer(world: Login, tmp_path: Path) -> None:
    with running_issuer(world.clock) as (stranger, _):
        wallet, _ = make_wallet(tmp_path / "other-phone", stranger)
        session = world.session()
        params = request_object_of(world, session)
        response = _answer(world, params, _presentation(world, wallet, params))
        _refused(response, "access_denied")
        assert _outcome(world, session) == {"status": "failed", "reason": "untrusted_issuer"}


def test_missing_requested_claim(world: Login, phone: Any) -> None:
    wallet, _ = phone
    session = world.session(claims=["employee_number", "name", "department"])
    params = request_object_of(world, session)
    partial = _presentation(world, wallet, params, names=("employee_number", "name"))
    _refused(_answer(world, params, partial), "invalid_request")
    assert _outcome(world, session) == {"status": "failed", "reason": "missing_claim"}


def test_claim_sets_accept_either_alternative(world: Login, phone: Any) -> None:
    wallet, _ = phone
    session = world.session(claims=["employee_number"], alternatives=[["name"], ["name_en"]])
    params = request_object_of(world, session)
    assert params["dcql_query"]["credentials"][0]["claim_sets"] == [
        ["employee_number", "name"],
        ["employee_number", "name_en"],
    ]
    answer = _presentation(world, wallet, params, names=("employee_number", "name_en"))
    assert _answer(world, params, answer).status_code == 200
    (item,) = _outcome(world, session)["presentations"]["employee_id"]
    assert set(item["claims"]) == {"employee_number", "name_en"}


@pytest.mark.parametrize(
    "vp_token",
    [
        lambda p: {"another_query": [p]},
        lambda p: {"employee_id": [p], "another_query": [p]},
        lambda p: {"employee_id": [p, p]},  # `multiple` was not asked for
    ],
    ids=["other_id", "extra_id", "two_presentations"],
)
def test_presentation_for_another_query(world: Login, phone: Any, vp_token: Any) -> None:
    wallet, _ = phone
    session = world.session()
    params = request_object_of(world, session)
    token = vp_token(_presentation(world, wallet, params))
    _refused(
        _respond(world, params, {"vp_token": token, "state": params["state"]}), "invalid_request"
    )
    assert _outcome(world, session) == {"status": "failed", "reason": "malformed"}


def test_expired_session(world: Login, phone: Any) -> None:
    wallet, _ = phone
    session = world.session()
    forgotten = world.session()  # nobody ever asks how this one ended
    presenter = world.presenter()
    plan = presenter.resolve_request(session["link"], wallet)
    world.clock.advance(301)
    with pytest.raises(VerifierError):
        presenter.respond(plan, wallet)
    poll = world.http.get(
        f"{world.url}/oid4vp/sessions/{session['id']}",
        headers={"Authorization": f"Bearer {session['handle']}"},
    )
    assert poll.json()["status"] == "expired"
    assert _outcome(world, session) == {"status": "failed", "reason": "session_expired"}
    uri = parse_request_link(session["link"]).request_uri
    assert uri is not None
    _refused(world.http.get(uri), "not_found", 404)
    # both purged after the grace period; each recorded once as an expired login
    world.clock.advance(3600)
    assert purge_all(world.service)["sessions"] == 2
    with world.db() as db:
        assert db.execute(select(vp_sessions)).first() is None
        records = [(r.session_id, r.outcome) for r in db.execute(select(login_records))]
    assert sorted(records) == sorted(
        [(session["id"], "session_expired"), (forgotten["id"], "session_expired")]
    )


def test_wallet_refuses_an_unsigned_request_by_reference(world: Login, phone: Any) -> None:
    """A request object with `alg: none` at a request_uri (ours only serves signed ones)."""
    wallet, _ = phone
    session = world.session()
    params = request_object_of(world, session)
    header = b64url_encode(json.dumps({"alg": "none", "typ": "oauth-authz-req+jwt"}).encode())
    unsigned = f"{header}.{b64url_encode(json.dumps(params).encode())}."
    link = parse_request_link(session["link"])

    def handler(request: httpx.Request) -> httpx.Response:
        if str(request.url) == link.request_uri:
            return httpx.Response(
                200, text=unsigned, headers={"Content-Type": "application/oauth-authz-req+jwt"}
            )
        return httpx.Response(404)

    from wallet_sim.presenter import Presenter

    with httpx.Client(transport=httpx.MockTransport(handler)) as client:
        presenter = Presenter(client, trust_anchors=[world.certificate.anchor])
        with pytest.raises(VerifierError) as refused:
            presenter.resolve_request(session["link"], wallet)
    assert "not signed" in (refused.value.detail or "")


def test_wallet_error_response_ends_the_session(world: Login) -> None:
    session = world.session()
    params = request_object_of(world, session)
    form = {"error": "access_denied", "error_description": "user said no", "state": params["state"]}
    assert _respond(world, params, form).json() == {}
    assert _outcome(world, session) == {"status": "failed", "reason": "wallet_access_denied"}


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"", None),
        (b'{"vp_token": {}}', "application/json"),
        (b"vp_token=not-json&state=abc", None),
        (b"vp_token=%5B%5D&state=abc", None),  # an array
        (b"vp_token=%7B%22employee_id%22%3A%22x%22%7D&state=abc", None),  # not an array
        (b"vp_token=%7B%7D&state=abc", None),  # empty object
        (b"state=abc&state=def&vp_token=%7B%7D", None),
        (b"vp_token=%7B%22a%22%3A%5B%22x%22%5D%7D", None),  # no state
        (b"vp_token=%7B%22a%22%3A%5B%22x%22%5D%7D&state=unknown-state", None),
        (b"vp_token=\xff\xfe&state=abc", None),
        (b"%%%&&&===", None),
        (b"state=" + b"a" * 100 + b"%00", None),
        (b"error=Not+A+Code&state=abc", None),
        (b"vp_token=" + b"%5B" * 5000 + b"&state=abc", None),  # deep nesting
    ],
)
def test_malformed_form_bodies(world: Login, body: bytes, content_type: str | None) -> None:
    headers = {"Content-Type": content_type or "application/x-www-form-urlencoded"}
    _refused(_post(world, body, headers), "invalid_request")


def test_oversized_bodies_and_tokens(world: Login, phone: Any) -> None:
    _refused(_post(world, b"vp_token=" + b"a" * (300 * 1024)), "invalid_request", 413)
    session = world.session()
    params = request_object_of(world, session)
    huge = "eyJ" + "A" * (20 * 1024)  # larger than any presentation we accept
    _refused(_answer(world, params, huge), "invalid_request")
    assert _outcome(world, session) == {"status": "failed", "reason": "malformed"}


def test_other_bad_requests_are_answered_in_shape(world: Login) -> None:
    http, url = world.http, world.url
    _refused(http.get(f"{url}/oid4vp/request/unknown"), "not_found", 404)
    _refused(http.get(f"{url}/oid4vp/qr/unknown.svg"), "not_found", 404)
    _refused(http.get(f"{url}/oid4vp/qr/unknown.gif"), "not_found", 404)
    _refused(http.get(f"{url}/nowhere"), "not_found", 404)
    auth = {"Authorization": f"Bearer {API_TOKEN}"}
    _refused(http.post(f"{url}/oid4vp/sessions", json={}), "invalid_token", 401)
    _refused(
        http.post(f"{url}/oid4vp/sessions", json={}, headers={"Authorization": "Bearer x"}),
        "invalid_token",
        401,
    )
    _refused(
        http.post(
            f"{url}/oid4vp/sessions",
            content=b"{",
            headers={"Content-Type": "application/json", **auth},
        ),
        "invalid_request",
    )
    _refused(
        http.post(f"{url}/oid4vp/sessions", json={"claims": ["salary"]}, headers=auth),
        "invalid_request",
    )
    _refused(
        http.post(f"{url}/oid4vp/sessions", json={"claims": [], "x": 1}, headers=auth),
        "invalid_request",
    )
    _refused(http.post(f"{url}/oid4vp/sessions", json={"claims": ["x"]}), "invalid_token", 401)
    _refused(http.get(f"{url}/oid4vp/sessions/unknown"), "invalid_token", 401)
    _refused(
        http.get(f"{url}/oid4vp/sessions/unknown", headers={"Authorization": "Bearer x"}),
        "not_found",
        404,
    )
    session = world.session()
    _refused(
        http.get(
            f"{url}/oid4vp/sessions/{session['id']}", headers={"Authorization": "Bearer wrong"}
        ),
        "not_found",
        404,
    )
    _refused(http.get(f"{url}/oid4vp/request/{session['id']}?flow=sideways"), "invalid_request")


def test_the_service_purges_by_itself(database_url: str, tmp_path: Path) -> None:
    import time

    with login_world(tmp_path, database_url, purge_every_s=0.1) as login:
        login.session()
        login.clock.advance(301 + 600)  # expired, and past the grace period
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with login.db() as db:
                if db.execute(select(vp_sessions)).first() is None:
                    break
            time.sleep(0.05)
        with login.db() as db:
            assert db.execute(select(vp_sessions)).first() is None
            assert [r.outcome for r in db.execute(select(login_records))] == ["session_expired"]
