"""Random secrets and the hashes they are stored as.

High-entropy secrets (API tokens, access tokens) are stored as SHA-256. Low-entropy or derived
ones (tx_codes, pre-authorized codes, offer references) are stored as HMAC-SHA256 under the
issuer's secret key, so a copy of the database alone cannot brute-force a 6-digit tx_code.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable

from vc.base64url import b64url_encode

__all__ = [
    "Random",
    "derive_pre_authorized_code",
    "keyed_hash",
    "new_numeric_code",
    "new_secret",
    "sha256_hex",
]

Random = Callable[[int], bytes]


def new_secret(nbytes: int = 32, rng: Random | None = None) -> str:
    """A base64url random string with `nbytes` of entropy."""
    return b64url_encode((rng or secrets.token_bytes)(nbytes))


def new_numeric_code(length: int = 6) -> str:
    """A uniformly random numeric code (tx_code), leading zeros allowed."""
    return "".join(str(secrets.randbelow(10)) for _ in range(length))


def sha256_hex(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def keyed_hash(key: bytes, purpose: str, value: str) -> str:
    """HMAC-SHA256 with domain separation by `purpose`."""
    return hmac.new(key, f"{purpose}\x00{value}".encode(), hashlib.sha256).hexdigest()


def derive_pre_authorized_code(key: bytes, offer_ref: str) -> str:
    """The pre-authorized code for an offer, derived so that neither is stored in plaintext."""
    mac = hmac.new(key, f"pre-authorized_code\x00{offer_ref}".encode(), hashlib.sha256).digest()
    return b64url_encode(mac)
