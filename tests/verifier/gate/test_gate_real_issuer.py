"""The gate with the real parties over HTTP: the issuer (`live_server`), the wallet simulator's
CLI making the QR PNG, a real QR decoder (zxing-cpp) reading it, the gate deciding.

The issuer publishes its status lists (issue 5): the gate runs fail-closed on stale status, and
a revocation through the issuer's HR API reaches the gate once the cached list's ttl has passed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
import zxingcpp
from gate_kit import gate_policy, make_gate, serve
from issuer_kit import onboard_wallet, revoke_via_hr_api
from typer.testing import CliRunner

from mobileid.cli import app as cli
from mobileid.gate_app import create_gate_app
from vc.jws import decode_unverified
from vc.qr_compact import decode_presentation, is_compact_qr

PIN = "246810"


def _onboard(server: Any, tmp_path: Path) -> Path:
    return onboard_wallet(server, tmp_path / "phone", PIN)


def _qr_png(wallet: Path, audience: str, png: Path) -> bytes:
    """`mobileid wallet qr --png`, then what a scanner reads from the image."""
    from PIL import Image

    result = CliRunner().invoke(
        cli,
        [
            "wallet",
            "qr",
            "--purpose",
            "gate",
            "--audience",
            audience,
            "--png",
            str(png),
            "--pin",
            PIN,
            "--wallet",
            str(wallet),
        ],
    )
    assert result.exit_code == 0, result.output
    found = zxingcpp.read_barcodes(Image.open(png), formats=zxingcpp.BarcodeFormat.QRCode)
    assert len(found) == 1
    return bytes(found[0].bytes)


def _status_endpoint(scanned: bytes) -> str | None:
    """The credential's status list URI if the issuer serves a status list token there."""
    text = decode_presentation(scanned) if is_compact_qr(scanned) else scanned.decode()
    _, payload, _, _ = decode_unverified(text.split("~")[0])
    uri = payload["status"]["status_list"]["uri"]
    response = httpx.get(uri, timeout=10)
    ok = response.status_code == 200 and response.text.count(".") == 2
    return uri if ok else None


@pytest.mark.slow
def test_wallet_png_scanned_at_the_gate(live_server: Any, tmp_path: Path) -> None:
    wallet = _onboard(live_server, tmp_path)
    probe = _qr_png(wallet, "gate:probe", tmp_path / "probe.png")
    has_status = _status_endpoint(probe) is not None
    policy = gate_policy(live_server.url, stale_status="fail_closed" if has_status else "fail_open")
    service = make_gate(policy, tmp_path, clock=lambda: live_server.clock().timestamp())
    with serve(create_gate_app(service, worker_factory=None)) as gate:
        scanned = _qr_png(wallet, policy.audience, tmp_path / "gate.png")
        first = httpx.post(gate.url + "/scan", content=scanned, timeout=10).json()
        assert first["allow"] is True, first
        assert first["displayed_claims"]["employee_number"] == "E1002"
        assert first.get("stale_status", False) is not has_status
        again = httpx.post(gate.url + "/scan", content=scanned, timeout=10).json()
        assert (again["allow"], again["reason"]) == (False, "replayed")
        other = _qr_png(wallet, "gate:sejong:another-gate", tmp_path / "other.png")
        wrong = httpx.post(gate.url + "/scan", content=other, timeout=10).json()
        assert wrong["reason"] == "wrong_audience"


def _revoke(server: Any, employee_number: str) -> None:
    revoke_via_hr_api(server, employee_number, comment="gate test")


@pytest.mark.slow
def test_revocation_at_the_real_issuer_reaches_the_gate(live_server: Any, tmp_path: Path) -> None:
    wallet = _onboard(live_server, tmp_path)
    probe = _qr_png(wallet, "gate:probe", tmp_path / "probe.png")
    assert _status_endpoint(probe) is not None, "the issuer must serve its status list token"
    policy = gate_policy(live_server.url)
    service = make_gate(policy, tmp_path, clock=lambda: live_server.clock().timestamp())
    from wallet_sim.presenter import Presenter
    from wallet_sim.store import WalletStore

    phone = Presenter(clock=lambda: live_server.clock().timestamp())  # the gate's time, too
    with serve(create_gate_app(service, worker_factory=None)) as gate:

        def scan() -> dict[str, Any]:
            opened = WalletStore(wallet).unlock(PIN)
            shown = phone.purpose_presentation(opened, "gate", audience=policy.audience)
            body = shown.payload.encode() if isinstance(shown.payload, str) else shown.payload
            return dict(httpx.post(gate.url + "/scan", content=body, timeout=10).json())

        assert scan()["allow"] is True
        assert "Status: 유효 / valid" in _wallet_show(wallet)
        _revoke(live_server, "E1002")
        assert "Status: 폐지 / revoked" in _wallet_show(wallet)  # the phone sees it at once
        live_server.clock.advance(3600)  # past any ttl the issuer publishes (default 300 s)
        service.refresher.run_once()
        assert scan()["reason"] == "revoked"


def _wallet_show(wallet: Path) -> str:
    """`mobileid wallet show --refresh`: the status as the issuer publishes it now."""
    result = CliRunner().invoke(
        cli, ["wallet", "show", "--refresh", "--pin", PIN, "--wallet", str(wallet)]
    )
    assert result.exit_code == 0, result.output
    return result.output


@pytest.mark.slow
def test_a_new_gate_learns_every_list_and_then_decides_offline(
    live_server: Any, tmp_path: Path
) -> None:
    """No scan has taught this gate any list: it finds them through the issuer's Token Status
    List aggregation, and afterwards decides with the network cut, fail-closed and fresh."""
    from verifier.gate.sync import refresh_from_issuers
    from wallet_sim.presenter import Presenter
    from wallet_sim.store import WalletStore

    wallet = _onboard(live_server, tmp_path)
    policy = gate_policy(live_server.url)
    clock = lambda: live_server.clock().timestamp()  # noqa: E731
    online = make_gate(policy, tmp_path, clock=clock, name="new-gate")
    result = refresh_from_issuers(online)
    assert (result.issuers, result.status_lists) == (1, 1)
    online.close()

    offline = make_gate(policy, tmp_path, clock=clock, online=False, name="new-gate")
    phone = Presenter(clock=clock)
    shown = phone.purpose_presentation(
        WalletStore(wallet).unlock(PIN), "gate", audience=policy.audience
    )
    decision = offline.scan(shown.payload)
    assert decision.allow and not decision.stale_status, decision
