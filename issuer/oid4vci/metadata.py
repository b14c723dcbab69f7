"""Discovery documents: Credential Issuer Metadata (OpenID4VCI 1.0 §12.2), Authorization Server
Metadata (RFC 8414, with §12.3 additions) and JWT VC Issuer Metadata (SD-JWT VC §5)."""

from __future__ import annotations

from typing import Any

from issuer.config import IssuerConfig
from issuer.keys.signing import IssuerKeyring
from schemas.employee_id import CONFIGURATION_ID, credential_display, oid4vci_claims_metadata
from vc.openid4vci import PRE_AUTHORIZED_GRANT
from vc.sd_jwt_vc import SD_JWT_VC_FORMAT, jwt_vc_issuer_metadata

__all__ = [
    "authorization_server_metadata",
    "credential_issuer_metadata",
    "issuer_display",
    "jwt_vc_issuer_document",
]


def issuer_display() -> list[dict[str, str]]:
    return [
        {"name": "모바일 공무원증 발급기관", "locale": "ko-KR"},
        {"name": "Mobile Civil Servant ID Issuer", "locale": "en-US"},
    ]


def credential_issuer_metadata(config: IssuerConfig, keyring: IssuerKeyring) -> dict[str, Any]:
    """`/.well-known/openid-credential-issuer`: one `dc+sd-jwt` configuration, bound by `jwk`."""
    return {
        "credential_issuer": config.base_url,
        "credential_endpoint": config.url("/credential"),
        "nonce_endpoint": config.url("/nonce"),
        "notification_endpoint": config.url("/notification"),
        "display": issuer_display(),
        "credential_configurations_supported": {
            CONFIGURATION_ID: {
                "format": SD_JWT_VC_FORMAT,
                "vct": config.vct,
                "scope": "employee_id",
                "credential_signing_alg_values_supported": sorted(
                    {k.alg for k in keyring.published()}
                ),
                "cryptographic_binding_methods_supported": ["jwk"],
                "proof_types_supported": {
                    "jwt": {"proof_signing_alg_values_supported": list(config.proof_algorithms)}
                },
                "credential_metadata": {
                    "display": credential_display(),
                    "claims": oid4vci_claims_metadata(),
                },
            }
        },
    }


def authorization_server_metadata(config: IssuerConfig) -> dict[str, Any]:
    """`/.well-known/oauth-authorization-server`: the issuer is its own AS (pre-authorized only)."""
    return {
        "issuer": config.base_url,
        "token_endpoint": config.url("/token"),
        "response_types_supported": [],
        "grant_types_supported": [PRE_AUTHORIZED_GRANT],
        "token_endpoint_auth_methods_supported": ["none"],
        "pre-authorized_grant_anonymous_access_supported": True,
        "dpop_signing_alg_values_supported": list(config.proof_algorithms),  # RFC 9449 §5.1
        "status_list_aggregation_endpoint": config.status_list_aggregation_uri,
    }


def jwt_vc_issuer_document(
    config: IssuerConfig, keyring: IssuerKeyring, now: float | None = None
) -> dict[str, Any]:
    """`/.well-known/jwt-vc-issuer`: the issuer's JWKS, keyed by `kid`: the signing key and
    earlier keys while credentials they signed may still be valid; never a retired key."""
    return jwt_vc_issuer_metadata(config.base_url, keyring.jwks(now))
