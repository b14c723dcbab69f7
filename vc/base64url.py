"""Unpadded base64url (RFC 4648 §5), the only base64 that JOSE and SD-JWT use."""

from __future__ import annotations

import base64
import binascii

from vc.errors import Code, FormatError

__all__ = ["b64url_decode", "b64url_encode"]

_ALPHABET = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def b64url_encode(data: bytes) -> str:
    """Encode without padding."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str | bytes) -> bytes:
    """Decode unpadded base64url strictly; anything else raises `FormatError(malformed)`.

    The standard library silently skips characters outside the alphabet, which would let two
    different strings decode to the same bytes, so the alphabet is checked first.
    """
    raw = text.encode("ascii", "replace") if isinstance(text, str) else text
    if not _ALPHABET.issuperset(raw) or len(raw) % 4 == 1:
        raise FormatError(Code.malformed, "not base64url")
    try:
        return base64.urlsafe_b64decode(raw + b"=" * (-len(raw) % 4))
    except (binascii.Error, ValueError) as exc:  # pragma: no cover - alphabet checked above
        raise FormatError(Code.malformed, "not base64url") from exc
