"""What the verifier asks for: DCQL queries for the employee ID, request parameters, links, QR.

A relying system names the claims it needs; `employee_dcql` turns them into one Credential
Query (`vct_values` of the trusted issuers, one claim per name) and, where alternatives are
acceptable, `claim_sets` (OpenID4VP 1.0 §6.1, §6.4.1). `request_params` is the Authorization
Request for `vp_token` over `direct_post` (§5, §8.2), signed as a Request Object elsewhere.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import qrcode
import qrcode.image.svg

from schemas.employee_id import DISCLOSABLE
from vc.dcql import SD_JWT_VC_FORMAT
from vc.openid4vp import JWE_ENC_VALUES, RESPONSE_MODE_DIRECT_POST, RESPONSE_MODE_DIRECT_POST_JWT
from verifier.errors import VerifierError

__all__ = [
    "EMPLOYEE_QUERY_ID",
    "WALLET_AUDIENCE",
    "RequestError",
    "client_metadata",
    "employee_dcql",
    "qr_png",
    "qr_svg",
    "request_params",
]

EMPLOYEE_QUERY_ID = "employee_id"
WALLET_AUDIENCE = "https://self-issued.me/v2"
"""The Request Object `aud` for a wallet we know nothing about (§5.8, static discovery)."""
SD_JWT_ALGS = ("ES256", "Ed25519", "EdDSA")
KB_JWT_ALGS = ("ES256", "Ed25519", "EdDSA")


class RequestError(VerifierError):
    """The relying system asked for something the employee ID cannot answer; `detail` says what
    (our words, fit for the caller)."""

    def __init__(self, detail: str) -> None:
        super().__init__("unanswerable_request", detail)


def _names(names: Iterable[str], what: str) -> list[str]:
    out = list(dict.fromkeys(names))
    unknown = [n for n in out if n not in DISCLOSABLE]
    if unknown:
        raise RequestError(f"{what}: not claims of the employee ID: {sorted(unknown)}")
    return out


def employee_dcql(
    vct_values: Sequence[str],
    claims: Iterable[str],
    alternatives: Sequence[Sequence[str]] = (),
) -> dict[str, Any]:
    """One Credential Query for the employee ID: `claims` always, plus one of `alternatives`.

    Without alternatives every claim is required (no `claim_sets`); with them `claim_sets` lists
    `claims + option` for each option in the caller's order of preference.
    """
    if not vct_values:
        raise RequestError("no credential type to ask for (no trusted issuer)")
    required = _names(claims, "claims")
    options = [_names(option, "alternatives") for option in alternatives if option]
    every = list(dict.fromkeys([*required, *(n for o in options for n in o)]))
    if not every:
        raise RequestError("ask for at least one claim")
    query: dict[str, Any] = {
        "id": EMPLOYEE_QUERY_ID,
        "format": SD_JWT_VC_FORMAT,
        "meta": {"vct_values": list(vct_values)},
        "claims": [{"id": name, "path": [name]} for name in every],
    }
    if options:
        query["claim_sets"] = [list(dict.fromkeys([*required, *o])) for o in options]
    return {"credentials": [query]}


def client_metadata(client_name: str | None) -> dict[str, Any]:
    """`client_metadata` (§5.1, §11.1): the formats and algorithms we verify."""
    metadata: dict[str, Any] = {
        "vp_formats_supported": {
            SD_JWT_VC_FORMAT: {
                "sd-jwt_alg_values": list(SD_JWT_ALGS),
                "kb-jwt_alg_values": list(KB_JWT_ALGS),
            }
        }
    }
    if client_name:
        metadata["client_name"] = client_name
    return metadata


def request_params(
    *,
    client_id: str,
    response_uri: str,
    nonce: str,
    state: str,
    dcql_query: Mapping[str, Any],
    client_name: str | None,
    encryption_jwk: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The Authorization Request parameters (§5.1, §8.2); `redirect_uri` is never sent.

    With `encryption_jwk` the response must come encrypted to it (`direct_post.jwt`, §8.3).
    """
    metadata = client_metadata(client_name)
    mode = RESPONSE_MODE_DIRECT_POST
    if encryption_jwk is not None:
        mode = RESPONSE_MODE_DIRECT_POST_JWT
        metadata["jwks"] = {"keys": [dict(encryption_jwk)]}
        metadata["encrypted_response_enc_values_supported"] = list(JWE_ENC_VALUES)
    return {
        "response_type": "vp_token",
        "response_mode": mode,
        "client_id": client_id,
        "response_uri": response_uri,
        "nonce": nonce,
        "state": state,
        "dcql_query": dict(dcql_query),
        "client_metadata": metadata,
    }


def _qr(payload: str) -> qrcode.QRCode:
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=2)
    code.add_data(payload)
    code.make(fit=True)
    return code


def qr_svg(payload: str) -> bytes:
    """The link as an SVG QR code (what the login page and desk terminals show)."""
    out = io.BytesIO()
    _qr(payload).make_image(image_factory=qrcode.image.svg.SvgPathImage).save(out)
    return out.getvalue()


def qr_png(payload: str) -> bytes:
    out = io.BytesIO()
    _qr(payload).make_image().save(out, format="PNG")
    return out.getvalue()
