"""The wallet's QR codes: level L, byte mode for the compact encoding, as text, PNG or SVG.

A gate presentation must fit QR version 25 at level L (the scanners' limit); `qr_version` says
which version a payload needs, and a payload too long for any version is refused in Korean and
English with the ways out (print the payload with `--raw` instead, or present over OpenID4VP).
"""

from __future__ import annotations

import io
from pathlib import Path

import qrcode
import qrcode.exceptions
import qrcode.image.svg

from wallet_sim.errors import PresentationError

__all__ = ["qr_terminal", "qr_version", "write_qr_png", "write_qr_svg"]


def _qr(payload: str | bytes) -> qrcode.QRCode:
    """Level L; bytes (the compact encoding of `vc.qr_compact`) go in byte mode."""
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_L, border=2)
    code.add_data(payload, optimize=0)
    try:
        code.make(fit=True)
    except (qrcode.exceptions.DataOverflowError, ValueError) as exc:
        raise PresentationError(
            "QR 코드에 담기에 너무 깁니다. --raw 를 쓰거나 OpenID4VP로 제시하세요.",
            "Too long for a QR code; use --raw or present over OpenID4VP",
        ) from exc
    return code


def qr_version(payload: str | bytes) -> int:
    """The QR version (1-40) the payload needs at level L."""
    return int(_qr(payload).version)


def qr_terminal(payload: str | bytes) -> str:
    """The QR code as text for a terminal (half-block characters)."""
    out = io.StringIO()
    _qr(payload).print_ascii(out=out, invert=True)
    return out.getvalue()


def write_qr_png(payload: str | bytes, path: Path) -> None:
    _qr(payload).make_image().save(str(path))


def write_qr_svg(payload: str | bytes, path: Path) -> None:
    _qr(payload).make_image(image_factory=qrcode.image.svg.SvgPathImage).save(str(path))
