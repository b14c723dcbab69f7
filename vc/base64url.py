"""Unpadded base64url (RFC 4648 §5), the only base64 that JOSE and SD-JWT use."""

from __future__ import annotations

import binascii

from vc.errors import Code, FormatError

__all__ = ["b64url_decode", "b64url_encode"]

_ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
_TO_STANDARD = bytes.maketrans(b"-_", b"+/")
_TO_URLSAFE = bytes.maketrans(b"+/", b"-_")
_PADDING = (b"", b"", b"==", b"=")  # by length mod 4; 1 is never valid, a2b_base64 says so
_UNUSED_BITS = (0, 0, 0x0F, 0x03)  # of the last character, by length mod 4 (RFC 4648 §3.5)


def b64url_encode(data: bytes) -> str:
    """Encode without padding."""
    return binascii.b2a_base64(data, newline=False).rstrip(b"=").translate(_TO_URLSAFE).decode()


def b64url_decode(text: str | bytes) -> bytes:
    """Decode unpadded base64url strictly; anything else raises `FormatError(malformed)`.

    Callers hand it JWS segments and JWK members straight from JSON, so a value of another
    type (a number, `null`) is `malformed` too, never a `TypeError`.

    Strict means canonical: only the 64 URL-safe characters, no padding, no whitespace, and a
    final partial character whose unused bits are zero. The standard library's urlsafe decoder
    skips characters outside the alphabet and ignores those bits, so two different strings
    could decode to the same bytes, and a signature could be re-encoded into a "new" token that
    defeats a replay cache. `binascii.a2b_base64` in strict mode refuses what is outside the
    standard alphabet, so `+`, `/` and `=` are refused here first, and the last character's
    unused bits checked after.
    """
    if isinstance(text, str):
        try:
            data = text.encode("ascii")
        except UnicodeEncodeError as exc:
            raise FormatError(Code.malformed, "not base64url") from exc
    elif isinstance(text, bytes | bytearray | memoryview):
        data = bytes(text)
    else:
        raise FormatError(Code.malformed, "base64url text must be str or bytes")
    if b"+" in data or b"/" in data or b"=" in data:
        raise FormatError(Code.malformed, "not base64url")
    remainder = len(data) % 4
    try:
        decoded = binascii.a2b_base64(
            data.translate(_TO_STANDARD) + _PADDING[remainder], strict_mode=True
        )
    except binascii.Error as exc:  # a character outside the alphabet, or a length of 4n+1
        raise FormatError(Code.malformed, "not base64url") from exc
    if remainder and _ALPHABET.index(data[-1]) & _UNUSED_BITS[remainder]:
        raise FormatError(Code.malformed, "not base64url: non-canonical final character")
    return decoded
