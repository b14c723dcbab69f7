"""vc.sd_jwt_vc: issuing SD-JWT VCs, JWT VC Issuer Metadata, SRI integrity (draft -19 §3, §5)."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

import pytest
from vc_factory import (
    DISCLOSABLE,
    EMPLOYEE_CLAIMS,
    HOLDER_KEY,
    ISSUER,
    ISSUER_KEY,
    KID,
    NOW,
    OTHER_KEY,
    STATUS_URI,
    VCT,
    issue_credential,
    present_with_kb,
    split,
    verify_args,
)

from vc.errors import Code, VCError
from vc.jws import decode_unverified
from vc.sd_jwt import Disclosure
from vc.sd_jwt_vc import (
    jwks_key_resolver,
    jwt_vc_issuer_metadata,
    jwt_vc_issuer_metadata_url,
    parse_jwt_vc_issuer_metadata,
    sri_integrity,
    status_reference,
    verify_integrity,
    verify_sd_jwt_vc,
)


def test_issued_credential_shape() -> None:
    jwt, disclosures, kb = split(issue_credential())
    header, payload, _, _ = decode_unverified(jwt)
    assert header == {"alg": "EdDSA", "typ": "dc+sd-jwt", "kid": KID}
    assert kb == ""
    for name in ("iss", "iat", "exp", "vct", "cnf", "status"):
        assert name in payload  # registered claims stay plain
    assert payload["cnf"] == {"jwk": HOLDER_KEY.public_key.to_jwk()}
    assert payload["status"] == {"status_list": {"idx": 5, "uri": STATUS_URI}}
    assert sorted(Disclosure.parse(d).name for d in disclosures) == sorted(DISCLOSABLE)
    assert len(payload["_sd"]) == len(DISCLOSABLE) + 2  # two decoys by default


def test_verified_claims_are_the_employee_claims() -> None:
    result = verify_sd_jwt_vc(present_with_kb(issue_credential()), **verify_args(vct_values=[VCT]))
    assert {k: v for k, v in result.claims.items() if k in EMPLOYEE_CLAIMS} == EMPLOYEE_CLAIMS
    assert result.claims["vct"] == VCT


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        pytest.param({"disclosable": ["vct"]}, Code.claim_not_disclosable, id="vct_disclosable"),
        pytest.param(
            {"disclosable": ["status"]}, Code.claim_not_disclosable, id="status_disclosable"
        ),
        pytest.param(
            {"claims": {"iss": "x"}, "disclosable": []}, Code.malformed, id="iss_in_claims"
        ),
        pytest.param({"claims": {"iat": 1}, "disclosable": []}, Code.malformed, id="iat_in_claims"),
        pytest.param(
            {"claims": {"cnf": {}}, "disclosable": []}, Code.malformed, id="cnf_in_claims"
        ),
        pytest.param({"disclosable": ["nickname"]}, Code.malformed, id="disclosable_not_in_claims"),
        pytest.param(
            {"holder_jwk": HOLDER_KEY.to_jwk(private=True)},
            Code.invalid_key,
            id="private_holder_jwk",
        ),
        pytest.param(
            {"holder_jwk": {"kty": "RSA"}}, Code.unsupported_key_type, id="rsa_holder_jwk"
        ),
    ],
)
def test_issue_refuses(overrides: dict[str, Any], code: Code) -> None:
    with pytest.raises(VCError) as info:
        issue_credential(**overrides)
    assert info.value.code == code


@pytest.mark.parametrize(("idx", "uri"), [(-1, STATUS_URI), (True, STATUS_URI), ("1", STATUS_URI)])
def test_status_reference_needs_a_non_negative_int(idx: Any, uri: str) -> None:
    with pytest.raises(VCError) as info:
        status_reference(idx, uri)
    assert info.value.code == Code.malformed


@pytest.mark.parametrize(
    ("issuer", "url"),
    [
        ("https://example.com", "https://example.com/.well-known/jwt-vc-issuer"),
        ("https://example.com/", "https://example.com/.well-known/jwt-vc-issuer"),
        (
            "https://example.com/tenant/1234",
            "https://example.com/.well-known/jwt-vc-issuer/tenant/1234",
        ),
        (
            "https://example.com/tenant/1234/",
            "https://example.com/.well-known/jwt-vc-issuer/tenant/1234",
        ),
    ],
)
def test_jwt_vc_issuer_metadata_url(issuer: str, url: str) -> None:
    assert jwt_vc_issuer_metadata_url(issuer) == url


@pytest.mark.parametrize(
    "issuer", ["ftp://example.com", "https://", "https://e.com/?q=1", "https://e.com/#f", "x"]
)
def test_jwt_vc_issuer_metadata_url_refuses(issuer: str) -> None:
    with pytest.raises(VCError) as info:
        jwt_vc_issuer_metadata_url(issuer)
    assert info.value.code == Code.malformed


def _jwks() -> dict[str, Any]:
    return {
        "keys": [
            {**ISSUER_KEY.public_key.to_jwk(), "kid": KID, "use": "sig"},
            {**OTHER_KEY.public_key.to_jwk(), "kid": "old"},
            {
                "kty": "RSA",
                "kid": "rsa",
                "n": "AQAB",
                "e": "AQAB",
            },  # skipped: not a key type of ours
            {**OTHER_KEY.public_key.to_jwk()},  # skipped: no kid
        ]
    }


def test_issuer_metadata_round_trip_and_resolution() -> None:
    document = jwt_vc_issuer_metadata(ISSUER, _jwks())
    keys = parse_jwt_vc_issuer_metadata(document, ISSUER)
    assert keys == {KID: ISSUER_KEY.public_key, "old": OTHER_KEY.public_key}
    result = verify_sd_jwt_vc(
        present_with_kb(issue_credential()),
        **verify_args(issuer_key=jwks_key_resolver({ISSUER: keys})),
    )
    assert result.issuer_key == ISSUER_KEY.public_key


def test_single_key_issuer_needs_no_kid() -> None:
    resolver = jwks_key_resolver({ISSUER: {KID: ISSUER_KEY.public_key}})
    result = verify_sd_jwt_vc(
        present_with_kb(issue_credential(kid=None)), **verify_args(issuer_key=resolver)
    )
    assert "kid" not in result.header


@pytest.mark.parametrize(
    ("document", "code"),
    [
        pytest.param(
            {"issuer": ISSUER + "/", "jwks": {"keys": []}}, Code.untrusted_issuer, id="other_issuer"
        ),
        pytest.param({"jwks": {"keys": []}}, Code.untrusted_issuer, id="issuer_missing"),
        pytest.param([], Code.untrusted_issuer, id="not_an_object"),
        pytest.param({"issuer": ISSUER}, Code.malformed, id="neither_jwks_nor_uri"),
        pytest.param(
            {"issuer": ISSUER, "jwks": {"keys": []}, "jwks_uri": "https://x"},
            Code.malformed,
            id="both",
        ),
        pytest.param(
            {"issuer": ISSUER, "jwks_uri": "https://x"}, Code.malformed, id="jwks_uri_unresolved"
        ),
        pytest.param(
            {"issuer": ISSUER, "jwks": {"keys": "x"}}, Code.malformed, id="keys_not_array"
        ),
        pytest.param({"issuer": ISSUER, "jwks": []}, Code.malformed, id="jwks_not_object"),
        pytest.param(
            {"issuer": ISSUER, "jwks": {"keys": [{}] * 33}}, Code.malformed, id="too_many_keys"
        ),
    ],
)
def test_issuer_metadata_refused(document: Any, code: Code) -> None:
    with pytest.raises(VCError) as info:
        parse_jwt_vc_issuer_metadata(document, ISSUER)
    assert info.value.code == code


def test_sri_integrity() -> None:
    document = b'{"vct":"x"}'
    expected = "sha256-" + base64.b64encode(hashlib.sha256(document).digest()).decode()
    assert sri_integrity(document) == expected
    verify_integrity(document, expected)
    verify_integrity(document, "sha384-bogus " + sri_integrity(document, "sha384"))
    for bad in ("sha256-" + "A" * 44, "md5-abc", "", sri_integrity(document + b" ")):
        with pytest.raises(VCError) as info:
            verify_integrity(document, bad)
        assert info.value.code == Code.malformed


def test_holder_key_of_a_verified_credential() -> None:
    result = verify_sd_jwt_vc(present_with_kb(issue_credential()), **verify_args())
    assert result.holder_key == HOLDER_KEY.public_key
    assert result.kb_payload is not None and result.kb_payload["iat"] == NOW
