"""Token and credential endpoint refusals: each with its OpenID4VCI / OAuth code, never a 500."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import pytest
from issuer_kit import CONFIG_ID, Holder, apply_and_approve, link_of, read_sms, seed, tx_code_of
from sqlalchemy import select

from issuer.models import Offer
from vc.base64url import b64url_encode
from vc.jws import json_dumps, sign_compact
from vc.keys import Ed25519PrivateKey
from vc.openid4vci import PRE_AUTHORIZED_GRANT, PROOF_TYP, parse_credential_offer_link


@pytest.fixture
def offered(live_server, tmp_path: Path):
    """A seeded issuer with one approved application for E1001: (server, holder, link, tx)."""
    tokens = seed(live_server, tmp_path)
    apply_and_approve(live_server.client, tokens, applicant=tokens.e1001)
    link = link_of(read_sms(live_server.data_dir, kind="offer_link")[0])
    tx = tx_code_of(read_sms(live_server.data_dir, kind="tx_code")[0])
    holder = Holder(live_server.client, Ed25519PrivateKey.generate(), live_server.clock)
    live_server.tokens = tokens
    return live_server, holder, link, tx


def _error(r, status: int, code: str) -> None:
    assert r.status_code == status, r.text
    assert r.json()["error"] == code, r.text


def _wrong(tx: str) -> str:
    return f"{(int(tx) + 1) % 1_000_000:06d}"


def test_wrong_tx_code_then_dead_after_five(offered) -> None:
    server, holder, link, tx = offered
    code = holder.code_of(holder.offer(link))
    said = [holder.token(code, _wrong(tx)) for _ in range(5)]
    for r in said:
        _error(r, 400, "invalid_grant")
    assert [r.json()["error_description"] for r in said[:4]] == [
        "wrong tx_code; 4 tries left",
        "wrong tx_code; 3 tries left",
        "wrong tx_code; 2 tries left",
        "wrong tx_code; 1 try left",
    ]
    withdrawn = (
        "offer withdrawn after 5 wrong transaction codes; a new offer is needed "
        "(ask the HR officer or the department head)"
    )
    assert said[4].json()["error_description"] == f"wrong tx_code; {withdrawn}"
    late = holder.token(code, tx)  # 6th try, right code: the offer is withdrawn
    _error(late, 400, "invalid_grant")
    assert late.json()["error_description"] == withdrawn
    _error(server.client.get("/credential-offer/unknown"), 404, "offer_not_found")


def test_four_wrong_then_right_still_works(offered) -> None:
    _server, holder, link, tx = offered
    code = holder.code_of(holder.offer(link))
    for _ in range(4):
        _error(holder.token(code, _wrong(tx)), 400, "invalid_grant")
    assert holder.token(code, tx).status_code == 200


def test_withdrawn_offer_says_so_at_its_uri_and_keeps_only_a_tombstone(offered) -> None:
    server, holder, link, tx = offered
    code = holder.code_of(holder.offer(link))
    for _ in range(5):
        holder.token(code, _wrong(tx))
    r = server.client.get(urlsplit(parse_credential_offer_link(link)[1]).path)
    _error(r, 410, "offer_withdrawn")
    assert "withdrawn after 5 wrong transaction codes" in r.json()["error_description"]
    assert "a new offer is needed" in r.json()["error_description"]
    assert "pre-authorized_code" not in r.text and code not in r.text
    with server.runtime.unit_of_work() as s:
        offer = s.scalars(select(Offer)).one()
        assert (offer.state, offer.tx_attempts, offer.tx_code_hash) == ("dead", 5, "")
    for guess in (tx, _wrong(tx)):  # neither the right code nor another revives it
        _error(holder.token(code, guess), 400, "invalid_grant")
    with server.runtime.unit_of_work() as s:
        assert s.scalars(select(Offer.tx_attempts)).one() == 5


def test_missing_tx_code_and_grant_errors(offered) -> None:
    server, holder, link, _tx = offered
    code = holder.code_of(holder.offer(link))
    _error(holder.token(code, None), 400, "invalid_request")
    _error(server.client.post("/token", data={"pre-authorized_code": code}), 400, "invalid_request")
    _error(
        server.client.post("/token", data={"grant_type": "authorization_code", "code": "x"}),
        400,
        "unsupported_grant_type",
    )
    _error(
        server.client.post("/token", data={"grant_type": PRE_AUTHORIZED_GRANT}),
        400,
        "invalid_request",
    )
    _error(
        server.client.post("/token", json={"grant_type": PRE_AUTHORIZED_GRANT}),
        400,
        "invalid_request",
    )
    _error(holder.token("not-a-code", "123456"), 400, "invalid_grant")
    r = server.client.post(
        "/token",
        content=f"grant_type={PRE_AUTHORIZED_GRANT}&grant_type=x",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    _error(r, 400, "invalid_request")


def test_reused_code(offered) -> None:
    _server, holder, link, tx = offered
    code = holder.code_of(holder.offer(link))
    assert holder.token(code, tx).status_code == 200
    _error(holder.token(code, tx), 400, "invalid_grant")


def test_expired_code(offered) -> None:
    server, holder, link, tx = offered
    code = holder.code_of(holder.offer(link))
    server.clock.advance(72 * 3600 + 1)
    _error(holder.token(code, tx), 400, "invalid_grant")


@pytest.fixture
def authorized(offered):
    server, holder, link, tx = offered
    return server, holder, holder.access_token(link, tx)


def test_proof_with_wrong_audience(authorized) -> None:
    _server, holder, access = authorized
    proof = holder.proof(holder.nonce(), audience="https://other-issuer.example")
    _error(holder.credential(access, holder.request(proof)), 400, "invalid_proof")


def test_stale_nonce(offered) -> None:
    server, holder, link, tx = offered
    nonce = holder.nonce()
    server.clock.advance(301)  # c_nonce lifetime is 300 s
    access = holder.access_token(link, tx)
    _error(holder.credential(access, holder.request(holder.proof(nonce))), 400, "invalid_nonce")


def test_unknown_nonce(authorized) -> None:
    _server, holder, access = authorized
    _error(
        holder.credential(access, holder.request(holder.proof("never-issued"))),
        400,
        "invalid_nonce",
    )


def test_reused_nonce(authorized) -> None:
    server, holder, access = authorized
    nonce = holder.nonce()
    assert holder.credential(access, holder.request(holder.proof(nonce))).status_code == 200
    tokens = server.tokens
    apply_and_approve(server.client, tokens, applicant=tokens.e1002)
    link = link_of(read_sms(server.data_dir, kind="offer_link", count=2)[-1])
    tx = tx_code_of(read_sms(server.data_dir, kind="tx_code", count=2)[-1])
    other = Holder(server.client, Ed25519PrivateKey.generate(), server.clock)
    access2 = other.access_token(link, tx)
    _error(other.credential(access2, other.request(other.proof(nonce))), 400, "invalid_nonce")
    assert other.credential(access2, other.request(other.proof(other.nonce()))).status_code == 200


def test_stale_proof_iat(authorized) -> None:
    server, holder, access = authorized
    proof = holder.proof(holder.nonce(), iat=server.clock.timestamp() - 3600)
    _error(holder.credential(access, holder.request(proof)), 400, "invalid_proof")


def test_proof_without_nonce(authorized) -> None:
    _server, holder, access = authorized
    _error(holder.credential(access, holder.request(holder.proof(None))), 400, "invalid_proof")


def _proof_parts(holder: Holder, nonce: str, server) -> tuple[dict, dict]:
    header = {"alg": "EdDSA", "typ": PROOF_TYP, "jwk": holder.key.public_key.to_jwk()}
    payload = {"aud": server.url, "iat": server.clock.timestamp(), "nonce": nonce}
    return header, payload


def test_wrong_typ(authorized) -> None:
    server, holder, access = authorized
    _h, payload = _proof_parts(holder, holder.nonce(), server)
    proof = sign_compact(
        payload, holder.key, typ="JWT", headers={"jwk": holder.key.public_key.to_jwk()}
    )
    _error(holder.credential(access, holder.request(proof)), 400, "invalid_proof")


def test_alg_none(authorized) -> None:
    server, holder, access = authorized
    header, payload = _proof_parts(holder, holder.nonce(), server)
    header["alg"] = "none"
    proof = f"{b64url_encode(json_dumps(header))}.{b64url_encode(json_dumps(payload))}."
    _error(holder.credential(access, holder.request(proof)), 400, "invalid_proof")


def test_signed_by_other_key_than_header(authorized) -> None:
    server, holder, access = authorized
    _h, payload = _proof_parts(holder, holder.nonce(), server)
    proof = sign_compact(
        payload,
        Ed25519PrivateKey.generate(),
        typ=PROOF_TYP,
        headers={"jwk": holder.key.public_key.to_jwk()},
    )
    _error(holder.credential(access, holder.request(proof)), 400, "invalid_proof")


def test_private_key_in_header(authorized) -> None:
    server, holder, access = authorized
    _h, payload = _proof_parts(holder, holder.nonce(), server)
    proof = sign_compact(
        payload, holder.key, typ=PROOF_TYP, headers={"jwk": holder.key.to_jwk(private=True)}
    )
    _error(holder.credential(access, holder.request(proof)), 400, "invalid_proof")


def test_request_shape_errors(authorized) -> None:
    _server, holder, access = authorized
    proof = holder.proof(holder.nonce())
    _error(
        holder.credential(access, {"credential_configuration_id": CONFIG_ID}), 400, "invalid_proof"
    )
    _error(
        holder.credential(
            access, {"credential_configuration_id": "Nope", "proofs": {"jwt": [proof]}}
        ),
        400,
        "unknown_credential_configuration",
    )
    _error(
        holder.credential(access, {"proofs": {"jwt": [proof]}}), 400, "invalid_credential_request"
    )
    _error(
        holder.credential(access, {"credential_identifier": "x", "proofs": {"jwt": [proof]}}),
        400,
        "unknown_credential_identifier",
    )
    _error(
        holder.credential(
            access,
            {
                "credential_configuration_id": CONFIG_ID,
                "proof": {"proof_type": "jwt", "jwt": proof},
            },
        ),
        400,
        "invalid_credential_request",
    )
    _error(
        holder.credential(
            access, {"credential_configuration_id": CONFIG_ID, "proofs": {"jwt": [proof, proof]}}
        ),
        400,
        "invalid_credential_request",
    )
    _error(
        holder.credential(
            access, {"credential_configuration_id": CONFIG_ID, "proofs": {"jwt": "not-a-list"}}
        ),
        400,
        "invalid_proof",
    )
    _error(
        holder.credential(
            access, {"credential_configuration_id": CONFIG_ID, "proofs": {"ldp_vp": [{}]}}
        ),
        400,
        "invalid_proof",
    )
    _error(holder.credential(access, ["not", "an", "object"]), 400, "invalid_credential_request")
    # none of the refusals consumed the nonce: the same proof still works
    assert holder.credential(access, holder.request(proof)).status_code == 200


def test_access_token_errors(authorized) -> None:
    server, holder, access = authorized
    body = holder.request(holder.proof(holder.nonce()))
    r = holder.credential(None, body)
    _error(r, 401, "invalid_token")
    assert r.headers["www-authenticate"].startswith("Bearer")
    _error(holder.credential("bogus", body), 401, "invalid_token")
    r = server.client.post("/credential", json=body, headers={"Authorization": f"Basic {access}"})
    _error(r, 401, "invalid_token")
    assert holder.credential(access, body).status_code == 200
    again = holder.request(holder.proof(holder.nonce()))
    _error(holder.credential(access, again), 401, "invalid_token")  # spent on one credential
    server.clock.advance(301)
    _error(
        server.client.post(
            "/notification",
            json={"notification_id": "x", "event": "credential_accepted"},
            headers={"Authorization": f"Bearer {access}"},
        ),
        401,
        "invalid_token",
    )


def test_notification_errors(authorized) -> None:
    server, holder, access = authorized
    issued = holder.credential(access, holder.request(holder.proof(holder.nonce()))).json()
    auth = {"Authorization": f"Bearer {access}"}
    _error(
        server.client.post(
            "/notification",
            json={"notification_id": "nope", "event": "credential_accepted"},
            headers=auth,
        ),
        400,
        "invalid_notification_id",
    )
    _error(
        server.client.post(
            "/notification",
            json={"notification_id": issued["notification_id"], "event": "party"},
            headers=auth,
        ),
        400,
        "invalid_notification_request",
    )
    _error(
        server.client.post(
            "/notification",
            content=b"{",
            headers=dict(auth, **{"Content-Type": "application/json"}),
        ),
        400,
        "invalid_notification_request",
    )
    for _ in range(2):  # idempotent
        r = server.client.post(
            "/notification",
            json={"notification_id": issued["notification_id"], "event": "credential_deleted"},
            headers=auth,
        )
        assert r.status_code == 204
