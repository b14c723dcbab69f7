"""The `x5c` certificate chain of a Request Object (RFC 7515 §4.1.6) for the `x509_san_dns:` and
`x509_hash:` client id prefixes (OpenID4VP §5.9.3): read it, take the leaf's key and names, and
validate the path to the caller's trust anchors (RFC 5280, through `cryptography`)."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.x509 import verification

from vc.errors import Code, FormatError, KeyMaterialError, SignatureError
from vc.keys import Ed25519PublicKey, P256PublicKey, PublicKey

__all__ = ["MAX_CHAIN", "dns_names", "leaf_public_key", "read_chain", "validate_chain"]

MAX_CHAIN = 5


def leaf_public_key(certificate: x509.Certificate) -> PublicKey:
    key = certificate.public_key()
    if isinstance(key, ec.EllipticCurvePublicKey):
        return P256PublicKey(key)
    if isinstance(key, ed25519.Ed25519PublicKey):
        return Ed25519PublicKey(key.public_bytes_raw())
    raise KeyMaterialError(Code.unsupported_key_type, "certificate key type is not supported")


def read_chain(header: Mapping[str, Any]) -> list[x509.Certificate]:
    x5c = header.get("x5c")
    if type(x5c) is not list or not x5c or len(x5c) > MAX_CHAIN:
        raise FormatError(Code.malformed, "the request object needs an x5c certificate chain")
    chain = []
    for entry in x5c:
        if type(entry) is not str:
            raise FormatError(Code.malformed, "x5c entries must be base64 strings")
        try:  # RFC 7515 §4.1.6: standard base64, not base64url
            chain.append(x509.load_der_x509_certificate(base64.b64decode(entry, validate=True)))
        except (binascii.Error, ValueError) as exc:
            raise FormatError(Code.malformed, "x5c holds an unreadable certificate") from exc
    return chain


def validate_chain(
    chain: list[x509.Certificate], trust_anchors: Sequence[x509.Certificate], now: float
) -> None:
    """Path validation from the leaf to one of `trust_anchors` (RFC 5280 via `cryptography`)."""
    if not trust_anchors:
        raise SignatureError(Code.untrusted_issuer, "no trust anchor configured for this client")
    builder = (
        verification.PolicyBuilder()
        .store(verification.Store(list(trust_anchors)))
        .time(datetime.fromtimestamp(now, UTC))
        .max_chain_depth(MAX_CHAIN)
        .extension_policies(
            ca_policy=verification.ExtensionPolicy.webpki_defaults_ca(),
            ee_policy=verification.ExtensionPolicy.permit_all(),
        )
    )
    try:
        builder.build_client_verifier().verify(chain[0], chain[1:])
    except verification.VerificationError as exc:
        raise SignatureError(Code.untrusted_issuer, "certificate chain is not trusted") from exc


def dns_names(certificate: x509.Certificate) -> list[str]:
    try:
        san = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    except x509.ExtensionNotFound:
        return []
    return [name.lower() for name in san.value.get_values_for_type(x509.DNSName)]
