"""vc.jwe: compact JWE narrowed to `ECDH-ES` + AES-GCM (RFC 7516, RFC 7518 §4.6); what lies
outside that profile is refused with a stable code before any key agreement."""

from __future__ import annotations

import json
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from vc.base64url import b64url_decode, b64url_encode
from vc.errors import Code, VCError
from vc.jwe import decrypt_compact, encrypt_compact, encryption_jwk, jwe_header

PRIVATE = ec.generate_private_key(ec.SECP256R1())
PUBLIC = encryption_jwk(PRIVATE.public_key(), "k1")
LIMIT = 64 * 1024


def reheader(token: str, **changes: Any) -> str:
    """The token with its protected header changed (the tag no longer matches it)."""
    head, *rest = token.split(".")
    header = {**json.loads(b64url_decode(head)), **changes}
    return ".".join([b64url_encode(json.dumps(header).encode()), *rest])


@pytest.mark.parametrize("enc", ["A128GCM", "A256GCM"])
def test_round_trip_and_header(enc: str) -> None:
    token = encrypt_compact(b"\x00binary\xff", PUBLIC, enc)
    header = jwe_header(token, max_bytes=LIMIT)
    assert (header["alg"], header["enc"], header["kid"]) == ("ECDH-ES", enc, "k1")
    assert set(header["epk"]) == {"kty", "crv", "x", "y"}  # no private part, no kid
    assert decrypt_compact(token, PRIVATE, kid="k1", max_bytes=LIMIT) == b"\x00binary\xff"


def test_each_token_uses_a_fresh_ephemeral_key_and_iv() -> None:
    one, two = (encrypt_compact(b"same", PUBLIC, "A128GCM") for _ in range(2))
    assert jwe_header(one, max_bytes=LIMIT)["epk"] != jwe_header(two, max_bytes=LIMIT)["epk"]
    assert one.split(".")[2] != two.split(".")[2]


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        pytest.param({"alg": "ECDH-ES+A128KW"}, Code.unsupported_algorithm, id="key-wrap"),
        pytest.param({"alg": "dir"}, Code.unsupported_algorithm, id="dir"),
        pytest.param({"enc": "A128CBC-HS256"}, Code.unsupported_algorithm, id="cbc"),
        pytest.param({"enc": ["A128GCM"]}, Code.unsupported_algorithm, id="enc-not-string"),
        pytest.param({"kid": "k2"}, Code.malformed, id="other-kid"),
        pytest.param({"zip": "DEF"}, Code.malformed, id="zip"),
        pytest.param({"crit": ["exp"]}, Code.malformed, id="crit"),
        pytest.param({"apu": "+/=="}, Code.malformed, id="apu-not-base64url"),
        pytest.param(
            {"epk": {"kty": "OKP", "crv": "X25519", "x": "AA"}}, Code.malformed, id="x25519"
        ),
        pytest.param({"epk": {**PUBLIC, "x": PUBLIC["y"]}}, Code.malformed, id="epk-off-curve"),
        pytest.param({"epk": None}, Code.malformed, id="no-epk"),
    ],
)
def test_headers_outside_the_profile_are_refused(changes: dict[str, Any], code: Code) -> None:
    token = reheader(encrypt_compact(b"x", PUBLIC, "A128GCM"), **changes)
    with pytest.raises(VCError) as info:
        decrypt_compact(token, PRIVATE, kid="k1", max_bytes=LIMIT)
    assert info.value.code == code


def test_a_header_changed_within_the_profile_breaks_the_tag() -> None:
    token = reheader(encrypt_compact(b"x", PUBLIC, "A128GCM"), extra="added")
    with pytest.raises(VCError) as info:
        decrypt_compact(token, PRIVATE, kid="k1", max_bytes=LIMIT)
    assert info.value.code == Code.invalid_signature


@pytest.mark.parametrize(
    ("part", "value"),
    [
        pytest.param(1, b64url_encode(b"k" * 16), id="encrypted-key"),
        pytest.param(2, b64url_encode(b"i" * 16), id="long-iv"),
        pytest.param(4, b64url_encode(b"t" * 8), id="short-tag"),
    ],
)
def test_parts_of_the_wrong_shape_are_refused(part: int, value: str) -> None:
    parts = encrypt_compact(b"x", PUBLIC, "A256GCM").split(".")
    parts[part] = value
    with pytest.raises(VCError) as info:
        decrypt_compact(".".join(parts), PRIVATE, kid="k1", max_bytes=LIMIT)
    assert info.value.code == Code.malformed


@pytest.mark.parametrize(
    "token",
    [
        pytest.param("a.b.c.d", id="four-parts"),
        pytest.param("e30...." + "A" * LIMIT, id="oversized"),
        pytest.param("W10....", id="header-not-object"),
        pytest.param("!!!....", id="not-base64url"),
    ],
)
def test_tokens_that_are_not_compact_jwes(token: str) -> None:
    with pytest.raises(VCError) as info:
        jwe_header(token, max_bytes=LIMIT)
    assert info.value.code == Code.malformed


def test_encrypting_to_a_key_off_the_curve_or_with_an_unknown_enc_is_refused() -> None:
    with pytest.raises(VCError) as info:
        encrypt_compact(b"x", {**PUBLIC, "x": PUBLIC["y"]}, "A128GCM")
    assert info.value.code == Code.malformed
    with pytest.raises(VCError) as info:
        encrypt_compact(b"x", PUBLIC, "A192GCM")
    assert info.value.code == Code.unsupported_algorithm


def test_a_response_beyond_joserfcs_own_cap_opens_within_ours() -> None:
    """joserfc caps a ciphertext at 64 KB; the caller's `max_bytes` is what counts."""
    plaintext = b"p" * (100 * 1024)
    token = encrypt_compact(plaintext, PUBLIC, "A128GCM")
    assert decrypt_compact(token, PRIVATE, kid="k1", max_bytes=len(token)) == plaintext
    with pytest.raises(VCError) as info:
        decrypt_compact(token, PRIVATE, kid="k1", max_bytes=len(token) - 1)
    assert info.value.code == Code.malformed
