"""`direct_post.jwt` (OpenID4VP 1.0 §8.3, HAIP): the request carries a fresh P-256 key per
session; the answer arrives as a JWE (`ECDH-ES`, A128GCM or A256GCM) made here with joserfc,
an independent JOSE implementation, and by the wallet simulator (`vc.openid4vp.encrypt_response`),
which joserfc must be able to open too."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from joserfc import jwe
from joserfc import jwk as jwk_module
from login_kit import Login, crafted, login_world, make_wallet, request_object_of


@pytest.fixture
def world(database_url: str, tmp_path: Path) -> Any:
    with login_world(tmp_path, database_url, response_mode="direct_post.jwt") as login:
        yield login


def _encrypted(
    params: dict[str, Any], payload: dict[str, Any], enc: str = "A128GCM", kid: str | None = None
) -> str:
    (key,) = params["client_metadata"]["jwks"]["keys"]
    public = jwk_module.ECKey.import_key(key)
    header = {"alg": key["alg"], "enc": enc, "kid": kid or key["kid"]}
    return str(jwe.encrypt_compact(header, json.dumps(payload), public))


def _post(login: Login, form: dict[str, str]) -> httpx.Response:
    return login.http.post(f"{login.url}/oid4vp/response", data=form)


@pytest.mark.parametrize("enc", ["A128GCM", "A256GCM"])
def test_encrypted_response_is_accepted(world: Login, tmp_path: Path, enc: str) -> None:
    wallet, _ = make_wallet(tmp_path / "phone", world.issuer, number="E7001")
    session = world.session()
    params = request_object_of(world, session)
    assert params["response_mode"] == "direct_post.jwt"
    metadata = params["client_metadata"]
    assert metadata["encrypted_response_enc_values_supported"] == ["A128GCM", "A256GCM"]
    (key,) = metadata["jwks"]["keys"]
    assert (key["kty"], key["crv"], key["alg"], key["use"]) == ("EC", "P-256", "ECDH-ES", "enc")
    assert "d" not in key
    presentation = crafted(
        wallet.credentials[-1]["credential"],
        wallet.device_key,
        audience=params["client_id"],
        nonce=params["nonce"],
        iat=world.clock(),
    )
    token = _encrypted(
        params, {"vp_token": {"employee_id": [presentation]}, "state": params["state"]}, enc
    )
    plain = _post(
        world, {"vp_token": json.dumps({"employee_id": [presentation]}), "state": params["state"]}
    )
    assert plain.status_code == 400 and plain.json()["error"] == "invalid_request"
    assert _post(world, {"response": token}).status_code == 200
    body = world.result(session).json()
    assert body["status"] == "completed"
    assert body["presentations"]["employee_id"][0]["claims"]["employee_number"] == "E7001"
    again = _post(world, {"response": token})  # replay
    assert again.status_code == 400 and again.json()["error"] == "invalid_request"


def test_encrypted_responses_that_do_not_open(world: Login, tmp_path: Path) -> None:
    wallet, _ = make_wallet(tmp_path / "phone", world.issuer)
    session = world.session()
    params = request_object_of(world, session)
    presentation = crafted(
        wallet.credentials[-1]["credential"],
        wallet.device_key,
        audience=params["client_id"],
        nonce=params["nonce"],
        iat=world.clock(),
    )
    good = {"vp_token": {"employee_id": [presentation]}, "state": params["state"]}
    token = _encrypted(params, good)
    head, enc_key, iv, ciphertext, tag = token.split(".")
    flipped = ciphertext[:-2] + ("A" if ciphertext[-2] != "A" else "B") + ciphertext[-1]
    other = world.session()
    other_params = request_object_of(world, other)
    bad = [
        {"response": f"{head}.{enc_key}.{iv}.{flipped}.{tag}"},  # tampered
        {"response": _encrypted(params, {**good, "state": "another-state"})},
        {"response": _encrypted(params, good, kid="no-such-session")},
        {"response": _encrypted(other_params, good, kid=session["id"])},  # to another key
        {"response": _encrypted(params, {"state": params["state"]})},  # no vp_token
        {"response": "a.b.c.d.e"},
        {"response": token, "state": params["state"]},  # only `response` goes with it
    ]
    for form in bad:
        response = _post(world, form)
        assert response.status_code == 400, form
        assert response.json()["error"] == "invalid_request"
    assert _post(world, {"response": token}).status_code == 200  # nothing above spent it


def test_the_wallet_simulator_answers_encrypted(world: Login, tmp_path: Path) -> None:
    """Our own wallet sees `direct_post.jwt`, encrypts to the session key, and the login
    completes; a decline is encrypted as well (a plain one would be refused)."""
    wallet, _ = make_wallet(tmp_path / "phone", world.issuer, number="E7002")
    session = world.session()
    presenter = world.presenter()
    plan = presenter.resolve_request(session["link"], wallet)
    assert plan.request.response_mode == "direct_post.jwt"
    assert plan.request.encryption_enc == "A128GCM"  # the first the verifier lists
    outcome = presenter.respond(plan, wallet)
    assert outcome.status_code == 200
    body = world.result(session).json()
    assert body["status"] == "completed"
    assert body["presentations"]["employee_id"][0]["claims"]["employee_number"] == "E7002"

    declined = world.session()
    presenter.decline(presenter.resolve_request(declined["link"], wallet))
    assert world.result(declined).json()["status"] == "failed"


def test_what_the_wallet_encrypts_opens_with_joserfc() -> None:
    """An independent JOSE library opens our JWE: the header, Concat KDF and AES-GCM agree."""
    from cryptography.hazmat.primitives.asymmetric import ec

    from vc.openid4vp import encrypt_response, encryption_jwk

    private = ec.generate_private_key(ec.SECP256R1())
    public = encryption_jwk(private.public_key(), "session-1")
    numbers = private.private_numbers()
    private_jwk = {
        **public,
        "d": base64.urlsafe_b64encode(numbers.private_value.to_bytes(32, "big"))
        .rstrip(b"=")
        .decode(),
    }
    for enc in ("A128GCM", "A256GCM"):
        token = encrypt_response({"vp_token": {"q": ["x~"]}, "state": "s1"}, public, enc)
        opened = jwe.decrypt_compact(token, jwk_module.ECKey.import_key(private_jwk))
        assert opened.protected["kid"] == "session-1" and opened.protected["enc"] == enc
        assert json.loads(opened.plaintext) == {"vp_token": {"q": ["x~"]}, "state": "s1"}
