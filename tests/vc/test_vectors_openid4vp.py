"""OpenID4VP 1.0 `examples/sd_jwt_vcld/01`: an ES256 `dc+sd-jwt` issuance and an SD-JWT+KB
presentation produced by the SD-JWT reference implementation, verified end to end."""

from __future__ import annotations

import re
from typing import Any

import pytest
import yaml
from vectors import read_joined, read_json, read_text

from vc.errors import Code, VCError
from vc.jws import decode_unverified
from vc.keys import PublicKey, private_key_from_jwk, public_key_from_jwk
from vc.sd_jwt import parse_sd_jwt
from vc.sd_jwt_vc import verify_sd_jwt_vc

FOLDER = "openid4vp/sd_jwt_vcld"
KB_NONCE = "1234567890"
KB_AUDIENCE = "https://verifier.example.org"
KB_IAT = 1744743394  # the KB-JWT's own iat: inject it as `now` so the presentation is fresh


def _settings() -> dict[str, Any]:
    settings: dict[str, Any] = yaml.safe_load(read_text(FOLDER, "settings.yml"))
    return settings


def _issuer_key() -> PublicKey:
    jwk = _settings()["key_settings"]["issuer_keys"][0]
    return private_key_from_jwk(jwk).public_key


def _holder_public_jwk() -> dict[str, str]:
    jwk = _settings()["key_settings"]["holder_key"]
    return {k: v for k, v in jwk.items() if k != "d"}


def _verify_presentation(**overrides: Any) -> Any:
    args: dict[str, Any] = {
        "issuer_key": _issuer_key(),
        "algorithms": ["ES256"],
        "key_binding": True,
        "audience": KB_AUDIENCE,
        "nonce": KB_NONCE,
        "now": KB_IAT,
    }
    args.update(overrides)
    return verify_sd_jwt_vc(read_joined(FOLDER, "01", "sd_jwt_presentation.txt"), **args)


def test_settings_keys_are_consistent() -> None:
    """The issuer's public key parsed from the public members equals the private key's."""
    jwk = _settings()["key_settings"]["issuer_keys"][0]
    public = public_key_from_jwk({k: v for k, v in jwk.items() if k != "d"})
    assert public == _issuer_key()


def test_presentation_verifies_to_the_expected_contents() -> None:
    result = _verify_presentation()
    assert result.header == {"alg": "ES256", "typ": "dc+sd-jwt"}
    assert result.claims == read_json(FOLDER, "01", "verified_contents.json")
    assert [d.name for d in result.disclosures] == ["givenName"]


def test_presentation_kb_jwt_is_the_published_one() -> None:
    result = _verify_presentation()
    assert result.kb_header == read_json(FOLDER, "01", "kb_jwt_header.json")
    assert result.kb_payload == read_json(FOLDER, "01", "kb_jwt_payload.json")
    assert result.holder_key == public_key_from_jwk(_holder_public_jwk())
    parsed = parse_sd_jwt(read_joined(FOLDER, "01", "sd_jwt_presentation.txt"))
    assert parsed.kb_jwt == read_joined(FOLDER, "01", "kb_jwt_serialized.txt")
    assert parsed.issuer_jwt == read_joined(FOLDER, "01", "sd_jwt_jws_part.txt")


def test_issuance_verifies_with_every_disclosure() -> None:
    issuance = read_joined(FOLDER, "01", "sd_jwt_issuance.txt")
    result = verify_sd_jwt_vc(
        issuance,
        issuer_key=_issuer_key(),
        algorithms=["ES256"],
        key_binding=False,
        now=KB_IAT,
    )
    user_claims = read_json(FOLDER, "01", "user_claims.json")
    registered = {"iss", "iat", "exp", "cnf"}
    assert {k: v for k, v in result.claims.items() if k not in registered} == user_claims
    assert result.claims["cnf"] == {"jwk": _holder_public_jwk()}

    _, payload, _, _ = decode_unverified(parse_sd_jwt(issuance).issuer_jwt)
    assert payload == read_json(FOLDER, "01", "sd_jwt_payload.json")
    published = dict(
        re.findall(
            r"__Claim `([^`]+)`__:.*?SHA-256 Hash: `([^`]+)`",
            read_text(FOLDER, "01", "disclosures.md"),
            re.S,
        )
    )
    assert {d.name: d.digest() for d in result.disclosures} == published


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        pytest.param({"nonce": "0987654321"}, Code.nonce_mismatch, id="other_nonce"),
        pytest.param({"audience": "https://evil.example"}, Code.audience_mismatch, id="other_aud"),
        pytest.param({"now": KB_IAT + 3600}, Code.kb_too_old, id="replayed_an_hour_later"),
        pytest.param({"now": KB_IAT - 3600}, Code.kb_in_future, id="clock_an_hour_behind"),
        pytest.param({"now": 1883000000 + 61}, Code.expired, id="after_credential_exp"),
        pytest.param({"algorithms": ["EdDSA"]}, Code.unsupported_algorithm, id="es256_not_allowed"),
        pytest.param({"key_binding": False}, Code.kb_jwt_unexpected, id="kb_not_expected"),
        pytest.param({"vct_values": ["urn:other"]}, Code.invalid_claim, id="vct_not_accepted"),
    ],
)
def test_presentation_rejected_when_the_verifier_context_differs(
    overrides: dict[str, Any], code: Code
) -> None:
    with pytest.raises(VCError) as info:
        _verify_presentation(**overrides)
    assert info.value.code == code
