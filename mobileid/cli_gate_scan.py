"""`mobileid gate scan`: what a gate's scanner does, on the command line. It reads a QR code's
bytes (from a PNG, with the zxing-cpp decoder, or from stdin), posts them to a gate's
`POST /scan` and shows the decision; the exit status is the decision, for scripts."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import httpx
import typer

from mobileid.cli_common import console, fail
from mobileid.cli_output import JsonOpt, print_json
from verifier.reasons import REASON_LABELS, Reason

__all__ = ["DEFAULT_SCAN_URL", "EXIT_DENIED", "read_qr_png", "scan"]

DEFAULT_SCAN_URL = "http://127.0.0.1:8100/scan"
EXIT_DENIED = 3
"""A decision to deny; 0 is to allow, 1 an error (no decision)."""
_TIMEOUT_S = 10.0


def read_qr_png(path: Path) -> bytes:
    """The bytes of the one QR code in an image, as a scanner reads them."""
    import zxingcpp
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            qr_only = zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode)
            found = zxingcpp.read_barcodes(image, formats=qr_only)
    except (OSError, UnidentifiedImageError) as exc:
        fail(f"이미지를 읽을 수 없습니다 / cannot read the image {path} ({type(exc).__name__})")
    if not found:
        fail(f"QR 코드가 없습니다 / no QR code found in {path}")
    if len(found) > 1:
        fail(f"QR 코드가 {len(found)}개입니다 / {len(found)} QR codes in {path}: give one")
    return bytes(found[0].bytes)


def _post(url: str, payload: bytes) -> dict[str, Any]:
    try:
        with httpx.Client(timeout=_TIMEOUT_S) as client:
            response = client.post(
                url, content=payload, headers={"content-type": "application/octet-stream"}
            )
    except httpx.HTTPError as exc:
        fail(f"게이트에 연결할 수 없습니다 / cannot reach the gate at {url} ({type(exc).__name__})")
    try:
        body = response.json()
    except ValueError:
        body = None
    if response.status_code != 200 or not isinstance(body, dict) or "allow" not in body:
        error = body.get("error") if isinstance(body, dict) else None
        fail(f"게이트 응답 오류 / the gate answered HTTP {response.status_code} ({error or '-'})")
    return body


def _print_decision(decision: dict[str, Any]) -> None:
    reason = str(decision.get("reason"))
    try:
        ko, en = REASON_LABELS[Reason(reason)]
    except ValueError:  # a gate newer than this command
        ko, en = "알 수 없는 사유", "unknown reason"
    verdict = "[green]허용 / allow[/]" if decision["allow"] is True else "[red]거부 / deny[/]"
    console.print(f"{verdict}  {reason}: {ko} / {en}", highlight=False)
    if decision.get("stale_status"):
        console.print("  상태 정보가 오래됨 / allowed on old status information", highlight=False)
    if decision.get("detail"):
        console.print(f"  세부 / detail: {decision['detail']}", highlight=False, markup=False)
    for name, value in (decision.get("displayed_claims") or {}).items():
        console.print(f"  {name}: {value}", highlight=False, markup=False, soft_wrap=True)


def scan(
    source: Annotated[
        str | None,
        typer.Argument(help="- : post the bytes read from stdin (e.g. wallet qr --raw)"),
    ] = None,
    png: Annotated[
        Path | None, typer.Option("--png", help="Decode the QR code in this image and post it.")
    ] = None,
    url: Annotated[str, typer.Option("--url", help="The gate's scan URL.")] = DEFAULT_SCAN_URL,
    as_json: JsonOpt = False,
) -> None:
    """스캔 / Post a QR code's bytes to a gate and show its decision.

    Exit status: 0 allowed, 3 denied, 1 no decision (no QR code, the gate unreachable, ...).
    --json prints the gate's answer as it is."""
    if (source is None) == (png is None) or source not in (None, "-"):
        fail("give --png FILE or - (stdin), one of them", code=2)
    payload = read_qr_png(png) if png is not None else typer.get_binary_stream("stdin").read()
    if not payload:
        fail("읽은 내용이 없습니다 / nothing to post: the input is empty")
    decision = _post(url, payload)
    if as_json:
        print_json(decision)
    else:
        _print_decision(decision)
    if decision["allow"] is not True:
        raise typer.Exit(EXIT_DENIED)
