"""Secrets at rest: AES-256-GCM boxes under a key derived from a deployment secret.

A private key or a message that must wait in a database is stored sealed, never in plaintext: the
box key comes from HKDF-SHA256 over the deployment secret (`MOBILEID_SECRET_KEY`, never kept in
the database) with a purpose label, so a copy of the database alone opens nothing. The associated
data binds a box to its row (a key id, a message id): a box moved to another row does not open.

Wire form (text, for a TEXT column): `v1.<b64url(12-byte nonce || ciphertext || 16-byte tag)>`.

Outside development a deployment secret must not be a public placeholder (`placeholder_problem`,
the one rule every service's settings apply).
"""

from __future__ import annotations

import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from vc.base64url import b64url_decode, b64url_encode
from vc.errors import Code, KeyMaterialError

__all__ = [
    "MAKE_SECRET_HINT",
    "MIN_DEPLOYMENT_SECRET_CHARS",
    "PLACEHOLDER_SECRET",
    "SEALED_PREFIX",
    "SealingKey",
    "is_sealed",
    "placeholder_problem",
]

PLACEHOLDER_SECRET = "dev-only-insecure-secret-change-me"  # noqa: S105 - refused outside dev
_KNOWN_PLACEHOLDERS = frozenset({PLACEHOLDER_SECRET, "change-me", "changeme", "secret", "dev"})
MIN_DEPLOYMENT_SECRET_CHARS = 32
MAKE_SECRET_HINT = 'make one: python -c "import secrets; print(secrets.token_urlsafe(48))"'  # noqa: S105
SEALED_PREFIX = "v1."
_NONCE_BYTES = 12
_TAG_BYTES = 16
_MIN_SECRET_BYTES = 16
_MAX_SEALED_CHARS = 1024 * 1024


def placeholder_problem(variable: str, secret: str) -> str | None:
    """Why `secret` (set in the environment as `variable`) cannot be a deployment secret outside
    development: a known placeholder or too short to be random. None when it can."""
    if secret in _KNOWN_PLACEHOLDERS or len(secret) < MIN_DEPLOYMENT_SECRET_CHARS:
        return (
            f"{variable} is a placeholder or shorter than {MIN_DEPLOYMENT_SECRET_CHARS} "
            f"characters; set a random secret outside dev ({MAKE_SECRET_HINT})"
        )
    return None


def is_sealed(text: str) -> bool:
    """True when `text` has the sealed wire form (a plaintext PEM or JWK never does)."""
    return text.startswith(SEALED_PREFIX)


class SealingKey:
    """One purpose's box key, derived from the deployment secret."""

    __slots__ = ("_aead", "purpose")

    def __init__(self, secret: bytes, purpose: str) -> None:
        if len(secret) < _MIN_SECRET_BYTES:
            raise KeyMaterialError(Code.invalid_key, "deployment secret is too short to seal with")
        derived = HKDF(
            algorithm=hashes.SHA256(),
            length=32,
            salt=b"mobileid sealing v1",
            info=purpose.encode("utf-8"),
        ).derive(secret)
        self._aead = AESGCM(derived)
        self.purpose = purpose

    def seal(self, plaintext: bytes, associated: str) -> str:
        """Encrypt and authenticate `plaintext`, bound to `associated` (e.g. the row's key)."""
        nonce = os.urandom(_NONCE_BYTES)
        box = self._aead.encrypt(nonce, plaintext, associated.encode("utf-8"))
        return SEALED_PREFIX + b64url_encode(nonce + box)

    def open(self, sealed: str, associated: str) -> bytes:
        """The plaintext of a box sealed with this key and `associated`, else `KeyMaterialError`.

        A wrong deployment secret, a box from another row and a tampered box all fail alike.
        """
        if not is_sealed(sealed) or len(sealed) > _MAX_SEALED_CHARS:
            raise KeyMaterialError(Code.invalid_key, "not a sealed box")
        raw = b64url_decode(sealed[len(SEALED_PREFIX) :])
        if len(raw) < _NONCE_BYTES + _TAG_BYTES:
            raise KeyMaterialError(Code.invalid_key, "sealed box is truncated")
        try:
            return self._aead.decrypt(
                raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], associated.encode("utf-8")
            )
        except InvalidTag as exc:
            raise KeyMaterialError(
                Code.invalid_key,
                f"sealed {self.purpose} does not open: another deployment secret, or altered",
            ) from exc
