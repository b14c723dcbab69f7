"""The wallet's QR codes: level L, byte mode for the compact encoding, as text, PNG or SVG.

A gate presentation must fit QR version 25 at level L (the scanners' limit); `qr_version` says
which version a payload needs, and a payload too long for any version is refused in Korean and
English with the ways out (print the payload with `--raw` instead, or present over OpenID4VP).
"""

from __future__ import annotations

from pathlib import Path

import qrcode
import qrcode.exceptions
import qrcode.image.svg

from wallet_sim.errors import PresentationError

__all__ = ["TERMINAL_QUIET_ZONE", "qr_terminal", "qr_version", "write_qr_png", "write_qr_svg"]


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


# One character shows 2x2 modules: bit 1 top left, 2 top right, 4 bottom left, 8 bottom right.
_QUADRANTS = " ▘▝▀▖▌▞▛▗▚▐▜▄▙▟█"
TERMINAL_QUIET_ZONE = 4
"""Modules of light margin around the terminal QR (ISO/IEC 18004's quiet zone)."""


def qr_terminal(payload: str | bytes) -> str:
    """The QR code as text for a dark terminal, 2x2 modules per character (Unicode quadrant
    blocks, U+2580-U+259F): a gate presentation (version 25 at most, 117 modules) is 63
    columns wide with its quiet zone, inside 80. Light modules are the drawn ones."""
    code = _qr(payload)
    modules = code.get_matrix()  # True = dark, inside the code's own border
    pad = TERMINAL_QUIET_ZONE - code.border
    size = len(modules) + 2 * pad
    side = size + size % 2  # an odd side gets one more light row and column

    def light(row: int, col: int) -> bool:
        r, c = row - pad, col - pad
        inside = 0 <= r < len(modules) and 0 <= c < len(modules)
        return not (inside and modules[r][c])

    lines = []
    for row in range(0, side, 2):
        chars = []
        for col in range(0, side, 2):
            bits = (
                light(row, col)
                | light(row, col + 1) << 1
                | light(row + 1, col) << 2
                | light(row + 1, col + 1) << 3
            )
            chars.append(_QUADRANTS[bits])
        lines.append("".join(chars))
    return "\n".join(lines) + "\n"


def write_qr_png(payload: str | bytes, path: Path) -> None:
    _qr(payload).make_image().save(str(path))


def write_qr_svg(payload: str | bytes, path: Path) -> None:
    _qr(payload).make_image(image_factory=qrcode.image.svg.SvgPathImage).save(str(path))
