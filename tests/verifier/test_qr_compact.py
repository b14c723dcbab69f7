"""`vc.qr_compact`: exact round trips, sizes within QR version 25-L, caps, garbage refused."""

from __future__ import annotations

import contextlib
import secrets
import zlib
from pathlib import Path

import pytest
import qrcode
from gate_kit import Clock, IssuerDouble, presentation
from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.employee_id import Purpose
from vc.base64url import b64url_encode
from vc.errors import FormatError
from vc.keys import Ed25519PrivateKey, P256PrivateKey
from vc.qr_compact import (
    MAGIC,
    MAX_DECODED_BYTES,
    ZDICT_V1,
    decode_presentation,
    encode_presentation,
    is_compact_qr,
)

HOLDER = Ed25519PrivateKey.generate()
V25_L_BYTES = 1273


def qr_version(data: bytes | str) -> int:
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_L)
    code.add_data(data)
    code.make(fit=True)
    return int(code.version)


def realistic(purpose: Purpose, *, issuer_key: object = None) -> str:
    issuer = IssuerDouble(Clock(), url="https://mobileid.mois.go.kr")
    if issuer_key is not None:
        issuer.key = issuer_key  # type: ignore[assignment]
    credential, _ = issuer.issue(HOLDER)
    return presentation(
        credential,
        HOLDER,
        audience="gate:sejong:sejong-06-east-01",
        iat=1_800_000_000,
        purpose=purpose,
    )


@pytest.mark.parametrize("purpose", list(Purpose), ids=str)
@pytest.mark.parametrize("alg", ["EdDSA", "ES256"])
def test_round_trip_and_fits_version_25_l(purpose: Purpose, alg: str) -> None:
    key = P256PrivateKey.generate() if alg == "ES256" else None
    plain = realistic(purpose, issuer_key=key)
    packed = encode_presentation(plain)
    assert decode_presentation(packed) == plain
    assert is_compact_qr(packed) and not is_compact_qr(plain.encode())
    assert len(packed) <= V25_L_BYTES and qr_version(packed) <= 25
    assert qr_version(plain) > 25  # what the format is for
    assert len(packed) < 0.6 * len(plain)


def test_wallet_png_decodes_with_zxing_and_verifies(tmp_path: Path) -> None:
    import zxingcpp
    from PIL import Image

    from wallet_sim.qr import write_qr_png

    plain = realistic(Purpose.gate)
    png = tmp_path / "gate.png"
    write_qr_png(encode_presentation(plain), png)  # type: ignore[arg-type]
    found = zxingcpp.read_barcodes(Image.open(png), formats=zxingcpp.BarcodeFormat.QRCode)
    assert len(found) == 1
    assert decode_presentation(bytes(found[0].bytes)) == plain


def test_without_key_binding_and_with_no_disclosures() -> None:
    issuer = IssuerDouble(Clock())
    credential, _ = issuer.issue(HOLDER)
    jwt = credential.split("~")[0]
    for plain in (credential, jwt + "~"):
        assert decode_presentation(encode_presentation(plain)) == plain


_part = st.binary(min_size=0, max_size=120).map(b64url_encode)


@settings(max_examples=200, deadline=None)
@given(
    jws=st.tuples(_part, _part, _part),
    disclosures=st.lists(st.binary(min_size=1, max_size=80).map(b64url_encode), max_size=6),
    kb=st.one_of(st.none(), st.tuples(_part, _part, _part)),
)
def test_any_canonical_compact_form_round_trips(
    jws: tuple[str, str, str], disclosures: list[str], kb: tuple[str, str, str] | None
) -> None:
    text = ".".join(jws) + "~" + "".join(d + "~" for d in disclosures)
    text += ".".join(kb) if kb else ""
    assert decode_presentation(encode_presentation(text)) == text


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=1500))
def test_garbage_never_crashes(data: bytes) -> None:
    for candidate in (data, MAGIC + b"\x01" + data, MAGIC + b"\x01\x01" + data):
        with contextlib.suppress(FormatError):
            decode_presentation(candidate)


@pytest.mark.parametrize(
    "bad",
    ["not-a-jwt~", "a.b~", "a.b.c~~x.y.z", "a.b.c~ab c~", "ab+.b.c~", "a.b.c~héllo~", "a.b.c"],
)
def test_encoder_refuses_what_would_not_round_trip(bad: str) -> None:
    with pytest.raises(FormatError):
        encode_presentation(bad)


def _frame(body: bytes, flags: int = 0, sig: bytes = b"\x00") -> bytes:
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15, 9, zlib.Z_DEFAULT_STRATEGY, ZDICT_V1)
    return MAGIC + bytes((1, flags)) + sig + compressor.compress(body) + compressor.flush()


def test_decompression_bomb_and_caps() -> None:
    bomb = _frame(b"\x00\x00" + b"\x00" * (MAX_DECODED_BYTES * 4))
    assert len(bomb) < 1500
    with pytest.raises(FormatError) as info:
        decode_presentation(bomb)
    assert info.value.code == "input_too_large"
    with pytest.raises(FormatError):
        decode_presentation(MAGIC + b"\x01\x00" + secrets.token_bytes(5000))
    with pytest.raises(FormatError):
        decode_presentation(MAGIC + b"\x02\x00\x00")  # unknown version
    with pytest.raises(FormatError):
        decode_presentation(MAGIC + b"\x01\x80\x00")  # unknown flag
    with pytest.raises(FormatError):
        decode_presentation(_frame(b"\x80\x00"))  # non-minimal varint
    with pytest.raises(FormatError):
        decode_presentation(_frame(b"\x00\x05ab"))  # field longer than the body
    good = encode_presentation(realistic(Purpose.gate))
    for cut in (5, len(good) // 2, len(good) - 1):
        with pytest.raises(FormatError):
            decode_presentation(good[:cut])
    with pytest.raises(FormatError):
        decode_presentation(good + b"\x00")  # trailing data after the DEFLATE stream
