"""vc.openid4vp `direct_post.jwt` (§8.3): the wallet encrypts, the verifier opens; key choice."""

from __future__ import annotations

from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from vc.base64url import b64url_decode, b64url_encode
from vc.errors import Code, VCError
from vc.openid4vp import (
    check_authorization_request,
    decrypt_response,
    encrypt_response,
    encryption_jwk,
)

PRIVATE = ec.generate_private_key(ec.SECP256R1())
PUBLIC = encryption_jwk(PRIVATE.public_key(), "k1")
DCQL = {"credentials": [{"id": "q", "format": "dc+sd-jwt", "meta": {"vct_values": ["v"]}}]}


def request(**metadata: Any) -> dict[str, Any]:
    return {
        "client_id": "redirect_uri:https://rp.example/cb",
        "response_type": "vp_token",
        "response_mode": "direct_post.jwt",
        "nonce": "n-0S6_WzA2Mj",
        "dcql_query": DCQL,
        "client_metadata": {"jwks": {"keys": [PUBLIC]}, **metadata},
    }


@pytest.mark.parametrize("enc", ["A128GCM", "A256GCM"])
def test_round_trip(enc: str) -> None:
    params = {"vp_token": {"q": ["a~b~"]}, "state": "s-1"}
    token = encrypt_response(params, PUBLIC, enc)
    assert token.count(".") == 4 and token.split(".")[1] == ""  # no encrypted key (direct)
    opened = decrypt_response(token, PRIVATE, kid="k1")
    assert (opened.vp_token, opened.state) == ({"q": ["a~b~"]}, "s-1")


def test_tampered_wrong_key_or_kid_do_not_open() -> None:
    token = encrypt_response({"vp_token": {"q": ["x~"]}}, PUBLIC, "A128GCM")
    head, key, iv, ciphertext, tag = token.split(".")
    flipped = bytearray(b64url_decode(ciphertext))
    flipped[0] ^= 1
    tampered = ".".join([head, key, iv, b64url_encode(bytes(flipped)), tag])
    with pytest.raises(VCError) as info:
        decrypt_response(tampered, PRIVATE, kid="k1")
    assert info.value.code == Code.invalid_signature
    with pytest.raises(VCError) as info:
        decrypt_response(token, ec.generate_private_key(ec.SECP256R1()), kid="k1")
    assert info.value.code == Code.invalid_signature
    with pytest.raises(VCError):
        decrypt_response(token, PRIVATE, kid="k2")


def test_request_picks_the_key_and_the_first_enc_we_support() -> None:
    checked = check_authorization_request(
        request(encrypted_response_enc_values_supported=["A192GCM", "A256GCM", "A128GCM"]),
        signed=False,
    )
    assert checked.response_mode == "direct_post.jwt"
    assert checked.encryption_jwk == PUBLIC and checked.encryption_enc == "A256GCM"
    default = check_authorization_request(request(), signed=False)
    assert default.encryption_enc == "A128GCM"  # §5.1: A128GCM when none is listed


@pytest.mark.parametrize(
    "metadata",
    [
        pytest.param({"jwks": None}, id="no-jwks"),
        pytest.param({"jwks": {"keys": []}}, id="no-keys"),
        pytest.param({"jwks": {"keys": [{**PUBLIC, "kid": None}]}}, id="no-kid"),
        pytest.param({"jwks": {"keys": [{**PUBLIC, "alg": "RSA-OAEP"}]}}, id="other-alg"),
        pytest.param({"jwks": {"keys": [{**PUBLIC, "use": "sig"}]}}, id="signing-key"),
        pytest.param({"jwks": {"keys": [{**PUBLIC, "x": PUBLIC["y"]}]}}, id="off-curve"),
        pytest.param({"encrypted_response_enc_values_supported": ["A192GCM"]}, id="enc-unknown"),
        pytest.param({"encrypted_response_enc_values_supported": "A128GCM"}, id="enc-not-list"),
        pytest.param(
            {"encrypted_response_enc_values_supported": [["A128GCM"], {}]}, id="enc-not-strings"
        ),
    ],
)
def test_requests_we_cannot_answer_encrypted_are_refused(metadata: dict[str, Any]) -> None:
    with pytest.raises(VCError) as info:
        check_authorization_request(request(**metadata), signed=False)
    assert info.value.code == Code.malformed
