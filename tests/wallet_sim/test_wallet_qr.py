"""Purpose presentations: exactly the purpose's claims, KB-JWT verified with `vc/`, QR output."""

from __future__ import annotations

from pathlib import Path

import pytest
from wallet_fakes import ISSUER, PIN, VCT, FakeIssuer

from schemas.employee_id import PURPOSES, QR_EXCLUDED_CLAIMS, Purpose
from vc.jws import SUPPORTED_ALGORITHMS
from vc.qr_compact import decode_presentation
from vc.sd_jwt_vc import verify_sd_jwt_vc
from wallet_sim.errors import PresentationError
from wallet_sim.presenter import Presenter
from wallet_sim.qr import qr_terminal, qr_version, write_qr_png, write_qr_svg
from wallet_sim.store import UnlockedWallet

NOW = 1_790_000_000
PLAIN = {"iss", "iat", "exp", "vct", "cnf", "status"}


def _verify(payload: str, issuer: FakeIssuer, audience: str, nonce: str, now: float) -> dict:
    return verify_sd_jwt_vc(
        payload,
        issuer_key=issuer.key.public_key,
        algorithms=SUPPORTED_ALGORITHMS,
        key_binding=True,
        audience=audience,
        nonce=nonce,
        vct_values=[VCT],
        now=now,
    ).claims


@pytest.mark.parametrize("purpose", [p.value for p in Purpose])
def test_each_purpose_discloses_exactly_its_claim_set(
    purpose: str, onboarded: UnlockedWallet, fake_issuer: FakeIssuer
) -> None:
    import time

    presenter = Presenter(clock=time.time)
    result = presenter.purpose_presentation(
        onboarded, purpose, audience="gate:seoul-hq-1", nonce="n0nce-123"
    )
    claims = _verify(result.payload, fake_issuer, "gate:seoul-hq-1", "n0nce-123", time.time())
    issued = set(onboarded.credentials[0]["claims"])
    expected = (PURPOSES[Purpose(purpose)] - QR_EXCLUDED_CLAIMS) & issued
    assert set(claims) - PLAIN == expected
    assert set(result.disclosed) == expected
    assert claims["iss"] == ISSUER


def test_kb_jwt_carries_audience_iat_now_and_a_fresh_nonce(onboarded: UnlockedWallet) -> None:
    from vc.jws import decode_unverified
    from vc.sd_jwt import parse_sd_jwt

    presenter = Presenter(clock=lambda: NOW)
    a = presenter.purpose_presentation(onboarded, "gate", audience="gate-7")
    b = presenter.purpose_presentation(onboarded, "gate", audience="gate-7")
    assert a.nonce != b.nonce and len(a.nonce) >= 22
    _, kb, _, _ = decode_unverified(parse_sd_jwt(a.payload).kb_jwt or "")
    assert kb["aud"] == "gate-7" and kb["iat"] == NOW and kb["nonce"] == a.nonce


def test_wrong_audience_or_nonce_does_not_verify(
    onboarded: UnlockedWallet, fake_issuer: FakeIssuer
) -> None:
    import time

    from vc.errors import KeyBindingError

    result = Presenter().purpose_presentation(onboarded, "library", audience="lib", nonce="abc")
    with pytest.raises(KeyBindingError):
        _verify(result.payload, fake_issuer, "other", "abc", time.time())
    with pytest.raises(KeyBindingError):
        _verify(result.payload, fake_issuer, "lib", "xyz", time.time())


def test_presentations_are_recorded_in_the_encrypted_history(onboarded: UnlockedWallet) -> None:
    Presenter().purpose_presentation(onboarded, "gate", audience="gate-1")
    history = onboarded.store.unlock(PIN).history
    assert history[-1]["kind"] == "qr" and history[-1]["verifier"] == "gate-1"
    assert set(history[-1]["claims"]) == PURPOSES[Purpose.gate]
    assert b"gate-1" not in onboarded.store.store_file.read_bytes()


def test_unknown_purpose_is_refused(onboarded: UnlockedWallet) -> None:
    with pytest.raises(PresentationError):
        Presenter().purpose_presentation(onboarded, "canteen", audience="x")


def test_qr_outputs_decode_to_the_payload(onboarded: UnlockedWallet, tmp_path: Path) -> None:
    result = Presenter().purpose_presentation(onboarded, "gate", audience="gate-1")
    assert "█" in qr_terminal(result.qr_data) or "▀" in qr_terminal(result.qr_data)
    write_qr_png(result.qr_data, tmp_path / "qr.png")
    write_qr_svg(result.qr_data, tmp_path / "qr.svg")
    assert (tmp_path / "qr.svg").read_text().lstrip().startswith("<?xml")
    zxingcpp = pytest.importorskip("zxingcpp")
    from PIL import Image

    decoded = zxingcpp.read_barcodes(
        Image.open(tmp_path / "qr.png"), formats=zxingcpp.BarcodeFormat.QRCode
    )
    assert [decode_presentation(bytes(d.bytes)) for d in decoded] == [result.payload]


def _terminal_to_image(text: str, *, cell_w: int = 8, cell_h: int = 16):
    """What a terminal shows: each character a cell twice as tall as wide, its quadrants drawn
    light (the drawn ones) or left dark."""
    from PIL import Image, ImageDraw

    quadrants = " ▘▝▀▖▌▞▛▗▚▐▜▄▙▟█"
    lines = text.rstrip("\n").split("\n")
    image = Image.new("L", (len(lines[0]) * cell_w, len(lines) * cell_h), 0)
    draw = ImageDraw.Draw(image)
    half_w, half_h = cell_w // 2, cell_h // 2
    for row, line in enumerate(lines):
        for col, char in enumerate(line):
            bits = quadrants.index(char)
            for bit, (dx, dy) in enumerate(((0, 0), (1, 0), (0, 1), (1, 1))):
                if bits >> bit & 1:
                    x, y = col * cell_w + dx * half_w, row * cell_h + dy * half_h
                    draw.rectangle((x, y, x + half_w - 1, y + half_h - 1), fill=255)
    return image


@pytest.mark.parametrize("purpose", ["gate", "library", "identity"])
def test_the_terminal_qr_fits_80_columns_and_decodes(
    onboarded: UnlockedWallet, purpose: str
) -> None:
    import zxingcpp

    result = Presenter().purpose_presentation(onboarded, purpose, audience="gate-1")
    text = qr_terminal(result.qr_data)
    lines = text.rstrip("\n").split("\n")
    side = len(lines)
    assert all(len(line) == side for line in lines)  # square: 2x2 modules a character
    assert side <= 80 and side * 2 >= qr_version(result.qr_data) * 4 + 17 + 2 * 4
    found = zxingcpp.read_barcodes(
        _terminal_to_image(text),
        formats=zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode),
        try_invert=False,  # dark modules must be the undrawn ones, as on a dark terminal
    )
    assert [decode_presentation(bytes(d.bytes)) for d in found] == [result.payload]


def test_the_largest_gate_qr_fits_80_columns() -> None:
    payload = bytes(range(256)) * 5  # QR version 25 at level L holds 1,273 bytes at most
    assert qr_version(payload[:1273]) == 25
    assert max(len(line) for line in qr_terminal(payload[:1273]).splitlines()) <= 80


@pytest.mark.parametrize("purpose", ["gate", "library", "identity"])
def test_each_purpose_fits_qr_version_25_at_level_l(
    onboarded: UnlockedWallet, purpose: str
) -> None:
    result = Presenter().purpose_presentation(onboarded, purpose, audience="gate-1")
    assert "photo" not in result.disclosed
    assert qr_version(result.qr_data) <= 25
    assert qr_version(result.payload) > 25  # the plain string would not fit: the encoding matters
