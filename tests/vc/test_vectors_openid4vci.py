"""OpenID4VCI 1.0 `examples/credential_response_sd_jwt_vc.txt`: a real `dc+sd-jwt` credential in a
Credential Response, signed with the SD-JWT reference issuer key (OpenID4VP `sd_jwt_vcld`
settings), holder-bound to the reference holder key, all nine claims disclosable."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
import yaml
from vectors import read_text

from vc.errors import Code, VCError
from vc.keys import private_key_from_jwk
from vc.sd_jwt import parse_sd_jwt, present
from vc.sd_jwt_vc import (
    jwks_key_resolver,
    jwt_vc_issuer_metadata,
    parse_jwt_vc_issuer_metadata,
    verify_sd_jwt_vc,
)

NOW = 1_700_000_000  # between the credential's iat (1683000000) and exp (1883000000)
KID = "doc-signer-05-25-2022"
ISSUER = "https://example.com/issuer"
VCT = "https://credentials.example.com/identity_credential"
EXPECTED_CLAIMS = {
    "given_name": "John",
    "family_name": "Doe",
    "email": "johndoe@example.com",
    "phone_number": "+1-202-555-0101",
    "address": {
        "street_address": "123 Main St",
        "locality": "Anytown",
        "region": "Anystate",
        "country": "US",
    },
    "birthdate": "1940-01-01",
    "is_over_18": True,
    "is_over_21": True,
    "is_over_65": True,
}


def _keys() -> dict[str, Any]:
    settings = yaml.safe_load(read_text("openid4vp", "sd_jwt_vcld", "settings.yml"))
    key_settings: dict[str, Any] = settings["key_settings"]
    return key_settings


def _response() -> tuple[str, dict[str, str], dict[str, Any]]:
    """(status line, headers, JSON body) of the HTTP response; the credential is line-wrapped."""
    head, _, body = read_text("openid4vci", "credential_response_sd_jwt_vc.txt").partition("\n\n")
    status, *header_lines = head.splitlines()
    headers = dict(line.split(": ", 1) for line in header_lines)
    unwrapped = re.sub(
        r'"credential": "([^"]*)"', lambda m: f'"credential": "{"".join(m[1].split())}"', body
    )
    return status, headers, json.loads(unwrapped)


def _credential() -> str:
    _, _, body = _response()
    (entry,) = body["credentials"]
    credential: str = entry["credential"]
    return credential


def _issuer_key() -> Any:
    return private_key_from_jwk(_keys()["issuer_keys"][0]).public_key


def test_response_shape() -> None:
    status, headers, body = _response()
    assert status == "HTTP/1.1 200 OK"
    assert headers["Content-Type"] == "application/json"
    assert headers["Cache-Control"] == "no-store"
    assert set(body) == {"credentials"}


def test_credential_verifies_with_the_reference_issuer_key() -> None:
    result = verify_sd_jwt_vc(
        _credential(),
        issuer_key=_issuer_key(),
        algorithms=["ES256"],
        key_binding=False,
        now=NOW,
    )
    assert result.header == {"alg": "ES256", "typ": "dc+sd-jwt", "kid": KID}
    assert len(result.disclosures) == 9  # every disclosure matched a digest
    assert {d.name: d.value for d in result.disclosures} == EXPECTED_CLAIMS
    holder = {k: v for k, v in _keys()["holder_key"].items() if k != "d"}
    assert result.claims == {
        "iss": ISSUER,
        "iat": 1683000000,
        "exp": 1883000000,
        "vct": VCT,
        "cnf": {"jwk": holder},
        **EXPECTED_CLAIMS,
    }
    assert result.holder_key is None  # no KB-JWT was presented or checked


def test_credential_verifies_through_jwt_vc_issuer_metadata() -> None:
    """The key resolved by `kid` from a JWT VC Issuer Metadata document, as a verifier would."""
    jwk = {k: v for k, v in _keys()["issuer_keys"][0].items() if k != "d"}
    document = jwt_vc_issuer_metadata(ISSUER, {"keys": [{**jwk, "kid": KID, "alg": "ES256"}]})
    keys = parse_jwt_vc_issuer_metadata(json.loads(json.dumps(document)), ISSUER)
    result = verify_sd_jwt_vc(
        _credential(),
        issuer_key=jwks_key_resolver({ISSUER: keys}),
        algorithms=["ES256"],
        key_binding=False,
        vct_values=[VCT],
        now=NOW,
    )
    assert result.issuer_key == _issuer_key()


def test_credential_is_not_a_presentation_with_key_binding() -> None:
    assert parse_sd_jwt(_credential()).kb_jwt is None
    with pytest.raises(VCError) as info:
        verify_sd_jwt_vc(
            _credential(),
            issuer_key=_issuer_key(),
            algorithms=["ES256"],
            key_binding=True,
            audience="https://verifier.example.org",
            now=NOW,
        )
    assert info.value.code == Code.kb_jwt_missing


def test_holder_can_present_it_with_the_reference_holder_key() -> None:
    holder = private_key_from_jwk(_keys()["holder_key"])
    presentation = present(
        _credential(),
        select=[("address",), ("is_over_18",)],
        holder_key=holder,
        audience="https://verifier.example.org",
        nonce="n-1",
        iat=NOW,
    )
    result = verify_sd_jwt_vc(
        presentation,
        issuer_key=_issuer_key(),
        algorithms=["ES256"],
        audience="https://verifier.example.org",
        nonce="n-1",
        now=NOW,
    )
    disclosed = {k: v for k, v in result.claims.items() if k in EXPECTED_CLAIMS}
    assert disclosed == {"address": EXPECTED_CLAIMS["address"], "is_over_18": True}
    assert result.holder_key == holder.public_key
