"""Unpadded base64url (RFC 4648 §5), the only base64 that JOSE and SD-JWT use."""

from __future__ import annotations

import binascii

from vc.errors import Code, FormatError

__all__ = ["b64url_decode", "b64url_encode"]

_ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
# To the standard alphabet, with `+`, `/` and `=` mapped to `!`, which strict mode refuses.
_TO_STANDARD = bytes.maketrans(b"-_+/=", b"+/!!!")
_TO_URLSAFE = bytes.maketrans(b"+/", b"-_")
_PADDING = (b"", b"", b"==", b"=")
# The value of each alphabet byte (others: 0); a final partial character must leave the bits
# under the mask at zero.
_VALUE = bytes(_ALPHABET.find(bytes([c])) if bytes([c]) in _ALPHABET else 0 for c in range(256))
_UNUSED_BITS = (0, 0, 0x0F, 0x03)


def b64url_encode(data: bytes) -> str:
    """Encode without padding."""
    return binascii.b2a_base64(data, newline=False).rstrip(b"=").translate(_TO_URLSAFE).decode()


def b64url_decode(text: str | bytes) -> bytes:
    """Decode unpadded base64url strictly; anything else raises `FormatError(malformed)`.

    The standard library's urlsafe decoder silently skips characters outside the alphabet, so
    two different strings could decode to the same bytes. Here `binascii` runs in strict mode
    after one translation that also poisons `+`, `/` and `=`, and a final character with non-zero
    unused bits is refused: otherwise `ab` and `ac` decode alike, and a signature could be
    re-encoded into a "new" token that defeats a replay cache. This runs about fifteen times per
    presentation verified, hence the table-driven shape.
    """
    try:
        raw = text.encode("ascii") if isinstance(text, str) else bytes(text)
        rem = len(raw) & 3
        if rem == 1 or (rem and _VALUE[raw[-1]] & _UNUSED_BITS[rem]):
            raise ValueError("not canonical unpadded base64url")
        return binascii.a2b_base64(raw.translate(_TO_STANDARD) + _PADDING[rem], strict_mode=True)
    except (binascii.Error, ValueError, TypeError) as exc:
        raise FormatError(Code.malformed, "not base64url") from exc
