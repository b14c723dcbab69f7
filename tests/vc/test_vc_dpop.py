"""DPoP proofs (RFC 9449): the RFC's own example verifies to its own thumbprint, ours round-trip,
and every stateless check of §4.3 refuses what it must, with a `VCError`."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from vc.base64url import b64url_encode
from vc.dpop import (
    DPOP_TYP,
    access_token_hash,
    create_dpop_proof,
    normalize_htu,
    verify_dpop_proof,
)
from vc.errors import VCError
from vc.jws import sign_compact
from vc.keys import Ed25519PrivateKey, P256PrivateKey, PrivateKey

# RFC 9449 §4.2, Figure 3 (a proof for the token request of Figure 2), and its key's thumbprint
# as the RFC gives it in §6.1 (`jkt`).
RFC_PROOF = (
    "eyJ0eXAiOiJkcG9wK2p3dCIsImFsZyI6IkVTMjU2IiwiandrIjp7Imt0eSI6IkVDIiwieCI6Imw4dEZyaHgtMzR0VjNo"
    "UklDUkRZOXpDa0RscEJoRjQyVVFVZldWQVdCRnMiLCJ5IjoiOVZFNGpmX09rX282NHpiVFRsY3VOSmFqSG10NnY5VERW"
    "clUwQ2R2R1JEQSIsImNydiI6IlAtMjU2In19.eyJqdGkiOiItQndDM0VTYzZhY2MybFRjIiwiaHRtIjoiUE9TVCIsImh0"
    "dSI6Imh0dHBzOi8vc2VydmVyLmV4YW1wbGUuY29tL3Rva2VuIiwiaWF0IjoxNTYyMjYyNjE2fQ.2-GxA6T8lP4vfrg8v-"
    "FdWP0A0zdrj8igiMLvqRMUvwnQg4PtFLbdLXiOSsX0x7NVY-FNyJK70nfbV37xRZT3Lg"
)
RFC_JKT = "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"
RFC_IAT = 1562262616

NOW = 1_800_000_000
URL = "https://id.example.go.kr/credential"
TOKEN = "Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU"  # RFC 9449 §7.1's example access token
ALGS = ("EdDSA", "ES256")


def _verify(proof: object, **changes: Any) -> Any:
    options: dict[str, Any] = {
        "htm": "POST",
        "htu": URL,
        "algorithms": ALGS,
        "now": NOW,
        "access_token": TOKEN,
    }
    options.update(changes)
    return verify_dpop_proof(proof, **options)


def test_the_rfc_example_verifies_to_the_rfc_thumbprint() -> None:
    proof = verify_dpop_proof(
        RFC_PROOF,
        htm="POST",
        htu="https://server.example.com/token",
        algorithms=["ES256"],
        now=RFC_IAT + 10,
    )
    assert (proof.jkt, proof.jti, proof.iat) == (RFC_JKT, "-BwC3ESc6acc2lTc", RFC_IAT)
    with pytest.raises(VCError) as late:  # the same proof a minute and more later
        verify_dpop_proof(
            RFC_PROOF,
            htm="POST",
            htu="https://server.example.com/token",
            algorithms=["ES256"],
            now=RFC_IAT + 120,
        )
    assert late.value.code == "expired"


def test_the_rfc_example_access_token_hash() -> None:
    # RFC 9449 §7.1: the `ath` of the access token in Figure 12
    assert access_token_hash(TOKEN) == "fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEo"


@pytest.mark.parametrize("key_type", [Ed25519PrivateKey, P256PrivateKey])
def test_round_trip_binds_to_the_key_thumbprint(key_type: type[PrivateKey]) -> None:
    key = key_type.generate()
    proof = create_dpop_proof(key, htm="POST", htu=URL + "?x=1#frag", iat=NOW, access_token=TOKEN)
    result = _verify(proof)
    assert result.jkt == key.public_key.thumbprint() and result.iat == NOW
    again = create_dpop_proof(key, htm="POST", htu=URL, iat=NOW, access_token=TOKEN)
    assert _verify(again).jti != result.jti  # a fresh jti each time
    token_request = create_dpop_proof(key, htm="POST", htu=URL, iat=NOW)  # no token yet: no ath
    assert _verify(token_request, access_token=None).jkt == result.jkt


def test_htu_is_compared_without_query_fragment_default_port_or_case() -> None:
    assert normalize_htu("HTTPS://ID.Example.go.kr:443/credential?a=b#c") == URL
    assert normalize_htu("http://127.0.0.1:8000/token") == "http://127.0.0.1:8000/token"
    key = Ed25519PrivateKey.generate()
    proof = create_dpop_proof(key, htm="POST", htu=URL, iat=NOW, access_token=TOKEN)
    assert _verify(proof, htu="https://id.example.go.kr:443/credential?q=1").jkt
    for bad in ("ftp://id.example.go.kr/credential", "https://user:pw@id.example.go.kr/", "x"):
        with pytest.raises(VCError):
            normalize_htu(bad)


def _signed(
    header: dict[str, Any] | None = None,
    claims: dict[str, Any] | None = None,
    key: PrivateKey | None = None,
    jwk_of: PrivateKey | None = None,
) -> str:
    """A proof built by hand: `header` and `claims` replace the defaults' members (None drops)."""
    key = key or KEY
    payload = {
        "jti": "j-1",
        "htm": "POST",
        "htu": URL,
        "iat": NOW,
        "ath": access_token_hash(TOKEN),
    }
    for name, value in (claims or {}).items():
        if value is None:
            payload.pop(name, None)
        else:
            payload[name] = value
    extra = {"jwk": (jwk_of or key).public_key.to_jwk()}
    typ: str | None = DPOP_TYP
    for name, value in (header or {}).items():
        if name == "typ":
            typ = value
        elif value is None:
            extra.pop(name, None)
        else:
            extra[name] = value
    return sign_compact(payload, key, typ=typ, headers=extra)


def _unsigned(alg: str) -> str:
    header = {"typ": DPOP_TYP, "alg": alg, "jwk": KEY.public_key.to_jwk()}
    payload = {"jti": "j", "htm": "POST", "htu": URL, "iat": NOW, "ath": access_token_hash(TOKEN)}
    encode = lambda value: b64url_encode(json.dumps(value).encode())  # noqa: E731
    return f"{encode(header)}.{encode(payload)}."


KEY = Ed25519PrivateKey.generate()
OTHER = Ed25519PrivateKey.generate()

REFUSED: dict[str, Callable[[], Any]] = {
    "not_a_string": lambda: _verify(b"eyJ.eyJ.sig"),
    "too_large": lambda: _verify("e" * 5000),
    "not_a_jwt": lambda: _verify("not.a.jwt.at.all"),
    "wrong_typ": lambda: _verify(_signed(header={"typ": "JWT"})),
    "no_typ": lambda: _verify(_signed(header={"typ": None})),
    "alg_none": lambda: _verify(_unsigned("none")),
    "alg_hs256": lambda: _verify(_unsigned("HS256")),
    "no_jwk": lambda: _verify(_signed(header={"jwk": None})),
    "private_jwk": lambda: _verify(_signed(header={"jwk": KEY.to_jwk(private=True)})),
    "jwk_of_another_key": lambda: _verify(_signed(jwk_of=OTHER)),
    "alg_not_allowed": lambda: _verify(_signed(), algorithms=["ES256"]),
    "crit_header": lambda: _verify(_signed(header={"crit": ["x"]})),
    "other_method": lambda: _verify(_signed(), htm="GET"),
    "other_uri": lambda: _verify(_signed(), htu="https://id.example.go.kr/token"),
    "other_host": lambda: _verify(_signed(claims={"htu": "https://evil.example/credential"})),
    "htu_not_a_string": lambda: _verify(_signed(claims={"htu": 7})),
    "no_jti": lambda: _verify(_signed(claims={"jti": None})),
    "empty_jti": lambda: _verify(_signed(claims={"jti": ""})),
    "long_jti": lambda: _verify(_signed(claims={"jti": "j" * 300})),
    "no_iat": lambda: _verify(_signed(claims={"iat": None})),
    "iat_as_text": lambda: _verify(_signed(claims={"iat": str(NOW)})),
    "iat_as_float": lambda: _verify(_signed(claims={"iat": NOW + 0.5})),
    "iat_in_future": lambda: _verify(_signed(claims={"iat": NOW + 60})),
    "too_old": lambda: _verify(_signed(claims={"iat": NOW - 120})),
    "no_ath": lambda: _verify(_signed(claims={"ath": None})),
    "ath_of_another_token": lambda: _verify(_signed(claims={"ath": access_token_hash("other")})),
    "non_ascii_token": lambda: _verify(_signed(), access_token="tökén"),
    "nonce_missing": lambda: _verify(_signed(), nonce="server-nonce"),
    "nonce_wrong": lambda: _verify(_signed(claims={"nonce": "old"}), nonce="server-nonce"),
    "tampered_payload": lambda: _verify(
        _signed().split(".")[0]
        + "."
        + _signed(claims={"htm": "PUT"}).split(".")[1]
        + "."
        + _signed().split(".")[2]
    ),
}


@pytest.mark.parametrize("case", REFUSED, ids=list(REFUSED))
def test_refused(case: str) -> None:
    with pytest.raises(VCError):
        REFUSED[case]()


def test_a_nonce_the_server_asked_for_is_accepted() -> None:
    assert _verify(_signed(claims={"nonce": "server-nonce"}), nonce="server-nonce").jti == "j-1"
    assert _verify(_signed()).jkt == KEY.public_key.thumbprint()
