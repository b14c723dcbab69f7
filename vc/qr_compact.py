"""Compact QR encoding of an SD-JWT+KB presentation (mobileid QR format, version 1).

A plain compact presentation is base64url text: 4 characters for every 3 bytes, and its JSON
repeats claim names and URLs. This format carries the same parts as raw octets instead, with the
JSON DEFLATE-compressed against a preset dictionary of the strings every employee credential
contains, so a gate presentation fits a version 25 QR code at error correction level L (1,273
bytes in byte mode). Byte mode beats alphanumeric mode with base45 (which costs 16.5 bits per
2 bytes), so the result is meant to be put in the QR code as bytes.

Wire format (all integers are unsigned LEB128 varints, minimal length)::

    magic   2 bytes  0x4D 0x49 ("MI"; a plain compact SD-JWT always starts with "eyJ")
    version 1 byte   0x01
    flags   1 byte   bit 0: a KB-JWT follows the disclosures; other bits must be 0
    sig_1   varint length, then the issuer JWT's signature octets
    sig_2   (if bit 0) varint length, then the KB-JWT's signature octets
    body    raw DEFLATE (RFC 1951) with preset dictionary `ZDICT_V1`, inflating to:
              varint n, then length-prefixed octets of: issuer JWT header, issuer JWT payload,
              n disclosures, and (if bit 0) KB-JWT header, KB-JWT payload

Decoding base64url-encodes every part again and joins them with `.` and `~`. Our base64url
decoder accepts only canonical input, so that gives back exactly the string that was signed and
hashed: the decoded presentation is then verified like any other, and nothing in this format is
trusted. Every length is capped before any allocation and inflation stops at `MAX_DECODED_BYTES`.
"""

from __future__ import annotations

import zlib

from vc.base64url import b64url_decode, b64url_encode
from vc.errors import Code, FormatError, VCError

__all__ = [
    "MAGIC",
    "MAX_DECODED_BYTES",
    "MAX_ENCODED_BYTES",
    "VERSION",
    "ZDICT_V1",
    "decode_presentation",
    "encode_presentation",
    "is_compact_qr",
]

MAGIC = b"MI"
VERSION = 1
FLAG_KB_JWT = 0x01
MAX_ENCODED_BYTES = 4096
"""A QR code holds at most 2,953 bytes; anything longer is not a scan."""
MAX_DECODED_BYTES = 64 * 1024
"""The inflated body and the rebuilt presentation are both capped here (decompression bombs)."""
MAX_PARTS = 256
_MAX_SIGNATURE_BYTES = 512
_HEADER_BYTES = len(MAGIC) + 2

# The strings an employee credential presentation repeats, most frequent last (DEFLATE reaches
# nearer bytes with shorter distance codes). Changing a single byte needs a new VERSION.
ZDICT_V1 = (
    b'"employment_type""grade""name_en""photo""department""position""agency""name"'
    b'"https://"/types/employee-id/v1"/status-lists/"dc+sd-jwt"'
    b'{"alg":"ES256","typ":"dc+sd-jwt","kid":"'
    b'"cnf":{"jwk":{"kty":"EC","crv":"P-256","x":"'
    b'"agency_code""opaque_id""employee_number""active_public_servant_of"'
    b'{"alg":"EdDSA","typ":"kb+jwt"}{"iat":'
    b',"aud":"","nonce":"","sd_hash":"'
    b',"status":{"status_list":{"idx":'
    b',"uri":"http'
    b'"cnf":{"jwk":{"kty":"OKP","crv":"Ed25519","x":"'
    b'"_sd_alg":"sha-256"}'
    b'"],"_sd":["'
    b'{"iss":"http'
    b',"iat":17'
    b',"exp":17'
    b',"vct":"http'
    b'{"alg":"EdDSA","typ":"dc+sd-jwt","kid":"'
)


def is_compact_qr(data: bytes) -> bool:
    """Whether `data` claims to be this format (magic bytes); says nothing about validity."""
    return data[: len(MAGIC)] == MAGIC


def _varint(value: int) -> bytes:
    out = bytearray()
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _field(octets: bytes) -> bytes:
    return _varint(len(octets)) + octets


def _jws_parts(token: str, what: str) -> tuple[bytes, bytes, bytes]:
    parts = token.split(".")
    if len(parts) != 3:
        raise FormatError(Code.malformed, f"{what} is not a compact JWS")
    header, payload, signature = (b64url_decode(p) for p in parts)
    return header, payload, signature


def encode_presentation(presentation: str) -> bytes:
    """The compact QR bytes of a compact SD-JWT(+KB) presentation; raises `FormatError`.

    Only the compact serialization with canonical base64url parts can be carried (anything else
    would not survive the round trip, and would not verify either).
    """
    if not isinstance(presentation, str) or not presentation.isascii():
        raise FormatError(Code.malformed, "presentation must be an ASCII string")
    if len(presentation) > MAX_DECODED_BYTES:
        raise FormatError(Code.input_too_large, "presentation too large for a QR code")
    components = presentation.split("~")
    if len(components) < 2 or len(components) - 2 > MAX_PARTS:
        raise FormatError(Code.malformed, "not a compact SD-JWT with a bounded number of parts")
    issuer_jwt, disclosures, kb_jwt = components[0], components[1:-1], components[-1]
    if not issuer_jwt or "" in disclosures:
        raise FormatError(Code.malformed, "empty SD-JWT component")
    header, payload, signature = _jws_parts(issuer_jwt, "issuer JWT")
    body = [_varint(len(disclosures)), _field(header), _field(payload)]
    body.extend(_field(b64url_decode(d)) for d in disclosures)
    flags = 0
    signatures = _field(signature)
    if kb_jwt:
        flags |= FLAG_KB_JWT
        kb_header, kb_payload, kb_signature = _jws_parts(kb_jwt, "KB-JWT")
        body += [_field(kb_header), _field(kb_payload)]
        signatures += _field(kb_signature)
    if len(signature) > _MAX_SIGNATURE_BYTES or len(signatures) > 2 * _MAX_SIGNATURE_BYTES + 4:
        raise FormatError(Code.input_too_large, "signature too large")
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15, 9, zlib.Z_DEFAULT_STRATEGY, ZDICT_V1)
    deflated = compressor.compress(b"".join(body)) + compressor.flush()
    encoded = MAGIC + bytes((VERSION, flags)) + signatures + deflated
    if len(encoded) > MAX_ENCODED_BYTES:  # the decoder would refuse it: refuse it here
        raise FormatError(Code.input_too_large, "presentation too large for a QR code")
    return encoded


class _Reader:
    """Bounds-checked reads over the decoded octets; every failure is `malformed`."""

    __slots__ = ("data", "pos")

    def __init__(self, data: bytes, pos: int = 0) -> None:
        self.data = data
        self.pos = pos

    def varint(self) -> int:
        value = shift = 0
        for _ in range(4):  # 28 bits are far beyond any cap below
            if self.pos >= len(self.data):
                raise FormatError(Code.malformed, "truncated QR payload")
            byte = self.data[self.pos]
            self.pos += 1
            value |= (byte & 0x7F) << shift
            if not byte & 0x80:
                if byte == 0 and shift:
                    raise FormatError(Code.malformed, "non-minimal length in QR payload")
                return value
            shift += 7
        raise FormatError(Code.malformed, "length too long in QR payload")

    def field(self, limit: int) -> bytes:
        length = self.varint()
        if length > limit or self.pos + length > len(self.data):
            raise FormatError(Code.malformed, "field length out of bounds in QR payload")
        octets = self.data[self.pos : self.pos + length]
        self.pos += length
        return octets


def _inflate(deflated: bytes) -> bytes:
    try:
        inflater = zlib.decompressobj(-15, zdict=ZDICT_V1)
        body = inflater.decompress(deflated, MAX_DECODED_BYTES)
    except zlib.error as exc:
        raise FormatError(Code.malformed, "QR payload body is not DEFLATE data") from exc
    if inflater.unconsumed_tail:
        raise FormatError(Code.input_too_large, "QR payload inflates beyond the limit")
    if not inflater.eof or inflater.unused_data:
        raise FormatError(Code.malformed, "QR payload body is truncated or has trailing data")
    return body


def decode_presentation(data: bytes) -> str:
    """Rebuild the exact compact presentation from compact QR bytes; raises `FormatError`.

    The result is unverified: pass it to `verify_sd_jwt_vc` as if it had arrived as text.
    """
    if not isinstance(data, bytes | bytearray | memoryview):
        raise FormatError(Code.malformed, "QR payload must be bytes")
    data = bytes(data)
    if len(data) > MAX_ENCODED_BYTES:
        raise FormatError(Code.input_too_large, "QR payload too large")
    if len(data) < _HEADER_BYTES or not is_compact_qr(data):
        raise FormatError(Code.malformed, "not a mobileid compact QR payload")
    version, flags = data[2], data[3]
    if version != VERSION:
        raise FormatError(Code.malformed, f"unsupported compact QR version {version}")
    if flags & ~FLAG_KB_JWT:
        raise FormatError(Code.malformed, "unknown flags in compact QR payload")
    head = _Reader(data, _HEADER_BYTES)
    signature = head.field(_MAX_SIGNATURE_BYTES)
    kb_signature = head.field(_MAX_SIGNATURE_BYTES) if flags & FLAG_KB_JWT else None
    body = _Reader(_inflate(data[head.pos :]))
    count = body.varint()
    if count > MAX_PARTS:
        raise FormatError(Code.input_too_large, "too many disclosures in QR payload")
    limit = MAX_DECODED_BYTES
    header, payload = body.field(limit), body.field(limit)
    disclosures = [body.field(limit) for _ in range(count)]
    kb_parts = (body.field(limit), body.field(limit)) if kb_signature is not None else None
    if body.pos != len(body.data):
        raise FormatError(Code.malformed, "trailing data in QR payload body")
    try:
        text = ".".join(b64url_encode(p) for p in (header, payload, signature))
        text += "~" + "".join(b64url_encode(d) + "~" for d in disclosures)
        if kb_parts is not None and kb_signature is not None:
            text += ".".join(b64url_encode(p) for p in (*kb_parts, kb_signature))
    except VCError as exc:  # pragma: no cover - encoding bytes cannot fail
        raise FormatError(Code.malformed, "cannot rebuild the presentation") from exc
    if len(text) > MAX_DECODED_BYTES:
        raise FormatError(Code.input_too_large, "rebuilt presentation too large")
    return text
