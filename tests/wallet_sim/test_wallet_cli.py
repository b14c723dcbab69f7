"""The `mobileid wallet` commands with an injected transport (fake issuer and verifier)."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlencode

import httpx
from cryptography.hazmat.primitives import serialization
from test_wallet_openid4vp import HOST, FakeVerifier, _params, _signed
from typer.testing import CliRunner
from wallet_fakes import FakeIssuer
from wallet_pki import make_ca, make_leaf

from mobileid.cli_wallet import wallet_app
from wallet_sim.store import INTERACTIVE

PIN = "102938"


def _run(args: list[str], transport: httpx.BaseTransport | None = None, **kw: object):
    return CliRunner().invoke(
        wallet_app, args, obj={"transport": transport, "kdf_limits": INTERACTIVE}, **kw
    )


def _onboard(tmp_path: Path, issuer: FakeIssuer) -> Path:
    wallet = tmp_path / "phone"
    result = _run(
        [
            "accept",
            issuer.link_by_reference(),
            "--wallet",
            str(wallet),
            "--accept-terms",
            "--tx-code",
            issuer.tx_code,
            "--pin",
            PIN,
        ],
        issuer.transport(),
    )
    assert result.exit_code == 0, result.output
    assert "가짜 발급기관" in result.output and "Credential stored" in result.output
    return wallet


def test_present_over_openid4vp_with_consent(tmp_path: Path) -> None:
    issuer = FakeIssuer()
    wallet = _onboard(tmp_path, issuer)
    ca = make_ca()
    leaf = make_leaf(ca, HOST)
    anchor = tmp_path / "ca.pem"
    anchor.write_bytes(ca.cert.public_bytes(serialization.Encoding.PEM))
    client_id = f"x509_san_dns:{HOST}"
    verifier = FakeVerifier(issuer, client_id=client_id)
    verifier.request_object = _signed(leaf, _params(client_id))
    link = "openid4vp://?" + urlencode(
        {"client_id": client_id, "request_uri": f"https://{HOST}/request/1"}
    )
    declined = _run(
        ["present", link, "--wallet", str(wallet), "--pin", PIN, "--trust-anchor", str(anchor)],
        verifier.transport(),
        input="n\n",
    )
    assert declined.exit_code == 1 and "[consent_declined]" in declined.output
    assert verifier.received[-1]["error"] == ["access_denied"]

    result = _run(
        [
            "present",
            link,
            "--wallet",
            str(wallet),
            "--pin",
            PIN,
            "--trust-anchor",
            str(anchor),
            "--yes",
        ],
        verifier.transport(),
    )
    assert result.exit_code == 0, result.output
    assert "정부청사 출입" in result.output and client_id in result.output
    assert "employee_number" in result.output and "HTTP 200" in result.output
    assert "response_code=abc123" in result.output
    assert len(verifier.verified) == 1

    untrusted = _run(
        ["present", link, "--wallet", str(wallet), "--pin", PIN, "--yes"], verifier.transport()
    )
    assert untrusted.exit_code == 1 and "[verifier_error]" in untrusted.output

    history = _run(["history", "--wallet", str(wallet), "--pin", PIN])
    assert history.exit_code == 0
    assert client_id in history.output and "accepted" in history.output


def test_init_show_reset(tmp_path: Path) -> None:
    wallet = tmp_path / "w"
    assert _run(["init", "--wallet", str(wallet), "--pin", PIN]).exit_code == 0
    again = _run(["init", "--wallet", str(wallet), "--pin", PIN])
    assert again.exit_code == 1 and "[wallet_exists]" in again.output
    shown = _run(["show", "--wallet", str(wallet), "--pin", PIN])
    assert shown.exit_code == 0 and "No credential" in shown.output
    none = _run(
        ["qr", "--purpose", "gate", "--audience", "g", "--wallet", str(wallet), "--pin", PIN]
    )
    assert none.exit_code == 1 and "[no_credential]" in none.output
    assert _run(["reset", "--wallet", str(wallet), "--yes"]).exit_code == 0
    state = _run(["export-status", "--wallet", str(wallet)])
    assert json.loads(state.output) == {"exists": False, "failures": 0, "locked": False}


def test_qr_in_the_terminal_and_files(tmp_path: Path) -> None:
    wallet = _onboard(tmp_path, FakeIssuer())
    result = _run(
        [
            "qr",
            "--purpose",
            "gate",
            "--audience",
            "gate-9",
            "--wallet",
            str(wallet),
            "--pin",
            PIN,
            "--png",
            str(tmp_path / "q.png"),
            "--svg",
            str(tmp_path / "q.svg"),
        ]
    )
    assert result.exit_code == 0, result.output
    assert "▀" in result.output or "█" in result.output
    assert "Disclosed: active_public_servant_of, agency_code, employee_number" in result.output
    assert (tmp_path / "q.png").stat().st_size > 0 and (tmp_path / "q.svg").stat().st_size > 0


def test_default_wallet_dir_follows_platform_conventions(monkeypatch, tmp_path: Path) -> None:
    from mobileid.cli_wallet import default_wallet_dir

    monkeypatch.delenv("MOBILEID_DATA_DIR")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("HOME", str(tmp_path))
    assert default_wallet_dir() == tmp_path / "data" / "mobileid" / "wallet"
    monkeypatch.setenv("MOBILEID_DATA_DIR", str(tmp_path / "root"))
    assert default_wallet_dir() == tmp_path / "root" / "wallet"  # beside the services' data
    result = _run(["init", "--pin", PIN], env={"MOBILEID_WALLET_DIR": str(tmp_path / "env")})
    assert result.exit_code == 0 and (tmp_path / "env" / "wallet.json").exists()
