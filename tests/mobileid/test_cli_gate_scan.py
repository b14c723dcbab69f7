"""`mobileid gate scan` against a real gate on 127.0.0.1: a PNG read by zxing-cpp or stdin's
bytes posted to `POST /scan`; the decision printed, its exit status 0 (allow) or 3 (deny)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from gate_kit import Clock, gate_policy, make_gate, presentation, running_issuer, serve
from PIL import Image
from typer.testing import CliRunner

from mobileid.cli import app as cli
from mobileid.gate_app import create_gate_app
from vc.keys import Ed25519PrivateKey
from vc.qr_compact import encode_presentation
from wallet_sim.qr import write_qr_png

HOLDER = Ed25519PrivateKey.generate()


def _scan(*args: str, stdin: bytes | None = None):
    return CliRunner().invoke(cli, ["gate", "scan", *args], input=stdin)


def test_png_and_stdin_scans_with_their_decisions(tmp_path: Path) -> None:
    clock = Clock()
    with running_issuer(clock) as (issuer, _):
        policy = gate_policy(issuer.url)
        service = make_gate(policy, tmp_path, clock)
        credential, _ = issuer.issue(HOLDER)
        qr = encode_presentation(
            presentation(credential, HOLDER, audience=policy.audience, iat=clock())
        )
        write_qr_png(qr, tmp_path / "qr.png")
        with serve(create_gate_app(service, worker_factory=None)) as gate:
            url = ["--url", gate.url + "/scan"]
            allowed = _scan("--png", str(tmp_path / "qr.png"), *url)
            assert allowed.exit_code == 0, allowed.output
            assert "허용 / allow" in allowed.stdout and "ok: 확인됨 / verified" in allowed.stdout
            assert "employee_number: E1001" in allowed.stdout

            replayed = _scan("-", *url, "--json", stdin=qr)  # the same bytes, as a pipe
            assert replayed.exit_code == 3, replayed.output
            assert json.loads(replayed.stdout)["reason"] == "replayed"

            junk = _scan("-", *url, stdin="홍길동".encode())
            assert junk.exit_code == 3
            assert "거부 / deny" in junk.stdout and "malformed" in junk.stdout
            assert "not a QR payload" in junk.stdout


def test_no_decision_is_an_error_with_exit_1(tmp_path: Path) -> None:
    blank = tmp_path / "blank.png"
    Image.new("L", (200, 200), 255).save(blank)
    no_qr = _scan("--png", str(blank))
    assert no_qr.exit_code == 1 and "no QR code found" in no_qr.output
    (tmp_path / "not.png").write_bytes(b"not an image")
    unreadable = _scan("--png", str(tmp_path / "not.png"))
    assert unreadable.exit_code == 1 and "cannot read the image" in unreadable.output
    empty = _scan("-", stdin=b"")
    assert empty.exit_code == 1 and "empty" in empty.output
    nobody = _scan("-", "--url", "http://127.0.0.1:9/scan", stdin=b"x")
    assert nobody.exit_code == 1 and "cannot reach the gate" in nobody.output
    assert "Traceback" not in nobody.output


@pytest.mark.parametrize("args", [[], ["qr.png"], ["-", "--png", "qr.png"]])
def test_one_source_exactly(args: list[str]) -> None:
    assert _scan(*args).exit_code == 2
