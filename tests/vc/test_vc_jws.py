"""vc.jws: compact JWS with a per-call algorithm allow-list; no `none`, no HMAC, no confusion."""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vc.base64url import b64url_decode, b64url_encode
from vc.errors import Code, VCError
from vc.jws import (
    MAX_JWS_BYTES,
    decode_unverified,
    json_dumps,
    json_loads_object,
    sign_compact,
    verify_compact,
)
from vc.keys import Ed25519PrivateKey, P256PrivateKey, PrivateKey

ED = Ed25519PrivateKey(bytes(range(32)))
P256 = P256PrivateKey.generate()
PAYLOAD = {"sub": "홍길동", "n": 1}


def _resign_header(token: str, key: PrivateKey, **header: Any) -> str:
    """The token's payload under another header, signed (raw) by `key`."""
    old, _, _, _ = decode_unverified(token)
    h64 = b64url_encode(json_dumps({**old, **header}))
    p64 = token.split(".")[1]
    return f"{h64}.{p64}.{b64url_encode(key.sign(f'{h64}.{p64}'.encode()))}"


@pytest.mark.parametrize(("key", "alg"), [(ED, "EdDSA"), (P256, "ES256")], ids=["ed25519", "p256"])
def test_sign_and_verify_round_trip(key: PrivateKey, alg: str) -> None:
    token = sign_compact(PAYLOAD, key, typ="example+jwt", headers={"kid": "k1"})
    verified = verify_compact(token, key.public_key, algorithms=[alg], typ="example+jwt")
    assert verified.header == {"alg": alg, "typ": "example+jwt", "kid": "k1"}
    assert verified.payload == PAYLOAD
    assert verified.key == key.public_key


def test_rfc9864_ed25519_name_accepted_on_verification() -> None:
    token = sign_compact(PAYLOAD, ED, alg="Ed25519")
    assert decode_unverified(token)[0]["alg"] == "Ed25519"
    assert verify_compact(token, ED.public_key, algorithms=["Ed25519"]).payload == PAYLOAD
    with pytest.raises(VCError) as info:
        verify_compact(token, ED.public_key, algorithms=["EdDSA"])
    assert info.value.code == Code.unsupported_algorithm


def test_eddsa_is_what_we_emit() -> None:
    assert decode_unverified(sign_compact(PAYLOAD, ED))[0]["alg"] == "EdDSA"


def test_typ_omitted_when_none() -> None:
    assert "typ" not in decode_unverified(sign_compact(PAYLOAD, ED, typ=None))[0]


def test_resolver_receives_header_and_payload() -> None:
    seen: list[tuple[Any, Any]] = []

    def resolve(header: Any, payload: Any) -> Any:
        seen.append((header["kid"], payload["sub"]))
        return ED.public_key

    token = sign_compact(PAYLOAD, ED, headers={"kid": "k9"})
    verify_compact(token, resolve, algorithms=["EdDSA"])
    assert seen == [("k9", "홍길동")]


def _hs256(token: str, secret: bytes) -> str:
    header, _, _, _ = decode_unverified(token)
    h64 = b64url_encode(json_dumps({**header, "alg": "HS256"}))
    p64 = token.split(".")[1]
    mac = hmac.new(secret, f"{h64}.{p64}".encode(), hashlib.sha256).digest()
    return f"{h64}.{p64}.{b64url_encode(mac)}"


ED_TOKEN = sign_compact(PAYLOAD, ED, typ="example+jwt")
P256_TOKEN = sign_compact(PAYLOAD, P256, typ="example+jwt")
_H, _P, _S = ED_TOKEN.split(".")
_NONE_HEADER = b64url_encode(b'{"alg":"none"}')
_NOT_UTF8 = b64url_encode(b"\xff{}")

REJECTED: list[Any] = [
    pytest.param(ED_TOKEN, ED, ["ES256"], Code.unsupported_algorithm, id="alg_not_allow_listed"),
    pytest.param(ED_TOKEN, ED, [], Code.unsupported_algorithm, id="empty_allow_list"),
    pytest.param(
        f"{_NONE_HEADER}.{_P}.",
        ED,
        ["EdDSA", "none"],
        Code.unsupported_algorithm,
        id="alg_none",
    ),
    pytest.param(
        _hs256(ED_TOKEN, ED.public_key.raw),
        ED,
        ["EdDSA", "HS256"],
        Code.unsupported_algorithm,
        id="hs256_with_public_key_bytes",
    ),
    pytest.param(
        _hs256(P256_TOKEN, json_dumps(P256.public_key.to_jwk())),
        P256,
        ["ES256", "HS256"],
        Code.unsupported_algorithm,
        id="hs256_with_public_jwk",
    ),
    pytest.param(
        _resign_header(ED_TOKEN, ED, alg="ES256"),
        ED,
        ["EdDSA", "ES256"],
        Code.unsupported_algorithm,
        id="es256_header_ed25519_key",
    ),
    pytest.param(
        _resign_header(P256_TOKEN, P256, alg="EdDSA"),
        P256,
        ["EdDSA", "ES256"],
        Code.unsupported_algorithm,
        id="eddsa_header_p256_key",
    ),
    pytest.param(
        _resign_header(ED_TOKEN, ED, alg=["EdDSA"]),
        ED,
        ["EdDSA"],
        Code.unsupported_algorithm,
        id="alg_not_a_string",
    ),
    pytest.param(
        _resign_header(ED_TOKEN, ED, crit=["b64"], b64=False),
        ED,
        ["EdDSA"],
        Code.malformed,
        id="crit_header",
    ),
    pytest.param(
        sign_compact(PAYLOAD, P256, typ="example+jwt"),
        ED,
        ["EdDSA", "ES256"],
        Code.unsupported_algorithm,
        id="verified_with_the_wrong_key_type",
    ),
    pytest.param(
        ED_TOKEN, Ed25519PrivateKey(bytes(32)), ["EdDSA"], Code.invalid_signature, id="other_key"
    ),
    pytest.param(
        f"{_H}.{_P}.{_S[:-2]}", ED, ["EdDSA"], Code.invalid_signature, id="short_signature"
    ),
    pytest.param(
        f"{_H}.{b64url_encode(json_dumps({'sub': 'x'}))}.{_S}",
        ED,
        ["EdDSA"],
        Code.invalid_signature,
        id="other_payload",
    ),
    pytest.param(
        f"{_H}.{_P}.{_S[:-1]}{'g' if _S[-1] == 'Q' else 'Q'}",
        ED,
        ["EdDSA"],
        Code.invalid_signature,
        id="last_signature_char_changed_canonically",
    ),
    pytest.param(
        f"{_H}.{_P}.{_S[:-1]}B", ED, ["EdDSA"], Code.malformed, id="non_canonical_base64url"
    ),
    pytest.param(f"{_H}.{_P}.{_S}=", ED, ["EdDSA"], Code.malformed, id="padded_base64"),
    pytest.param(f"{_H}.{_P}", ED, ["EdDSA"], Code.malformed, id="two_parts"),
    pytest.param(f"{_H}.{_P}.{_S}.{_S}", ED, ["EdDSA"], Code.malformed, id="four_parts"),
    pytest.param(
        f"{b64url_encode(b'[]')}.{_P}.{_S}", ED, ["EdDSA"], Code.malformed, id="header_not_object"
    ),
    pytest.param(
        f"{_H}.{b64url_encode(b'1')}.{_S}", ED, ["EdDSA"], Code.malformed, id="payload_not_object"
    ),
    pytest.param(
        f"{_H}.{b64url_encode(b'{')}.{_S}", ED, ["EdDSA"], Code.malformed, id="payload_not_json"
    ),
    pytest.param(
        f"{_H}.{_NOT_UTF8}.{_S}",
        ED,
        ["EdDSA"],
        Code.malformed,
        id="payload_not_utf8",
    ),
    pytest.param(
        f"{b64url_encode(b'{' + b' ' * 9000 + b'}')}.{_P}.{_S}",
        ED,
        ["EdDSA"],
        Code.input_too_large,
        id="header_too_large",
    ),
    pytest.param(
        "A" * (MAX_JWS_BYTES + 1), ED, ["EdDSA"], Code.input_too_large, id="token_too_large"
    ),
    pytest.param(b"a.b.c", ED, ["EdDSA"], Code.malformed, id="bytes_not_str"),
]


@pytest.mark.parametrize(("token", "key", "algorithms", "code"), REJECTED)
def test_verify_rejects(token: Any, key: PrivateKey, algorithms: list[str], code: Code) -> None:
    with pytest.raises(VCError) as info:
        verify_compact(token, key.public_key, algorithms=algorithms)
    assert info.value.code == code, info.value.detail


@pytest.mark.parametrize(
    ("typ", "accepted"),
    [
        pytest.param("example+jwt", True, id="exact"),
        pytest.param(["other+jwt", "example+jwt"], True, id="one_of"),
        pytest.param("Example+JWT", False, id="case_sensitive"),
        pytest.param("JWT", False, id="generic"),
        pytest.param(None, True, id="not_checked"),
    ],
)
def test_typ_check(typ: Any, accepted: bool) -> None:
    if accepted:
        verify_compact(ED_TOKEN, ED.public_key, algorithms=["EdDSA"], typ=typ)
        return
    with pytest.raises(VCError) as info:
        verify_compact(ED_TOKEN, ED.public_key, algorithms=["EdDSA"], typ=typ)
    assert info.value.code == Code.invalid_type


def test_max_bytes_is_per_call() -> None:
    with pytest.raises(VCError) as info:
        verify_compact(ED_TOKEN, ED.public_key, algorithms=["EdDSA"], max_bytes=len(ED_TOKEN) - 1)
    assert info.value.code == Code.input_too_large
    verify_compact(ED_TOKEN, ED.public_key, algorithms=["EdDSA"], max_bytes=len(ED_TOKEN))


def test_sign_refuses_an_algorithm_that_does_not_fit_the_key() -> None:
    with pytest.raises(VCError) as info:
        sign_compact(PAYLOAD, ED, alg="ES256")
    assert info.value.code == Code.unsupported_algorithm


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        pytest.param({"alg": "none"}, Code.unsupported_algorithm, id="alg_none"),
        pytest.param({"alg": "HS256"}, Code.unsupported_algorithm, id="alg_hs256"),
        pytest.param({"headers": {"alg": "EdDSA"}}, Code.malformed, id="alg_in_headers"),
        pytest.param({"headers": {"crit": ["exp"]}}, Code.malformed, id="crit_in_headers"),
        pytest.param({"headers": {"kid": 42}}, Code.malformed, id="kid_not_a_string"),
    ],
)
def test_sign_errors_are_vc_errors(kwargs: dict[str, Any], code: Code) -> None:
    with pytest.raises(VCError) as info:
        sign_compact(PAYLOAD, ED, **kwargs)
    assert info.value.code == code


@pytest.mark.parametrize(
    "value",
    [
        pytest.param({"a": object()}, id="object"),
        pytest.param({1: "non-string key"}, id="int_key"),
        pytest.param({"big": 2**70}, id="int_beyond_64_bits"),
        pytest.param({"s": "\ud800"}, id="lone_surrogate"),
    ],
)
def test_json_dumps_refuses_what_is_not_json(value: Any) -> None:
    with pytest.raises(VCError) as info:
        json_dumps(value)
    assert info.value.code == Code.malformed


def test_json_dumps_is_compact_utf8() -> None:
    assert json_dumps({"이름": "홍길동", "a": [1, 2]}) == '{"이름":"홍길동","a":[1,2]}'.encode()


@pytest.mark.parametrize(
    "data",
    [b"NaN", b'{"a":NaN}', b'{"a":Infinity}', b"[1]", b'"s"', b"{", b"\xff", b'{"a":1}x'],
    ids=[
        "nan",
        "nan_member",
        "infinity_member",
        "array",
        "string",
        "truncated",
        "not_utf8",
        "trailing",
    ],
)
def test_json_loads_object_is_strict(data: bytes) -> None:
    with pytest.raises(VCError) as info:
        json_loads_object(data, "test")
    assert info.value.code == Code.malformed


def test_b64url_decode_is_strict() -> None:
    assert b64url_decode("AQID") == b"\x01\x02\x03"
    assert b64url_decode("AQI") == b"\x01\x02"
    assert b64url_decode("_-8") == b"\xff\xef"
    for bad in ("AQ=", "AQ==", "A", "AQ+/", "A Q", "AQJ", "한글", "AQ\n", b"\xff", 10**9, None):
        with pytest.raises(VCError) as info:
            b64url_decode(bad)
        assert info.value.code == Code.malformed, bad


_B64URL_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def _canonical_b64url(text: str) -> bool:
    """The oracle: only URL-safe characters, and encoding the decoded bytes gives `text` back."""
    if len(text) % 4 == 1 or any(c not in _B64URL_CHARS for c in text):
        return False
    decoded = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    return b64url_encode(decoded) == text


@given(
    st.text(alphabet=_B64URL_CHARS, max_size=80)
    | st.text(alphabet=_B64URL_CHARS + "+/= \n\x00.~é한", max_size=80)
    | st.binary(max_size=60).map(b64url_encode)
)
def test_b64url_decode_accepts_exactly_the_canonical_strings(text: str) -> None:
    """Strict decoding against an oracle built on the standard library: accepted iff canonical,
    and then the bytes are the standard library's; the same for the text as bytes."""
    if _canonical_b64url(text):
        expected = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        assert b64url_decode(text) == expected
        assert b64url_decode(text.encode("ascii")) == expected
        return
    with pytest.raises(VCError) as info:
        b64url_decode(text)
    assert info.value.code == Code.malformed
    with pytest.raises(VCError):
        b64url_decode(text.encode("utf-8"))
