"""The wallet against the real issuer over real HTTP on 127.0.0.1 (the `live_server` fixture).

Everything goes through the `mobileid wallet` CLI exactly as a tester would type it; only the
HR side (import, apply, approve) is driven through the issuer's own test kit.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from issuer_kit import apply_and_approve, link_of, read_sms, seed, tx_code_of
from typer.testing import CliRunner

from mobileid.cli import app as cli
from schemas.employee_id import PURPOSES, QR_EXCLUDED_CLAIMS, Purpose
from vc.jws import SUPPORTED_ALGORITHMS
from vc.qr_compact import decode_presentation
from vc.sd_jwt_vc import (
    jwks_key_resolver,
    parse_jwt_vc_issuer_metadata,
    verify_sd_jwt_vc,
)

REPO = Path(__file__).resolve().parents[2]
PIN = "246810"
PLAIN = {"iss", "iat", "exp", "vct", "cnf", "status", "nbf"}


def _offer(server: Any, tmp_path: Path, *, reason: str = "new", n: int = 1) -> tuple[str, str]:
    tokens = getattr(server, "_tokens", None)
    if tokens is None:
        tokens = server._tokens = seed(server, tmp_path)
    apply_and_approve(server.client, tokens, applicant=tokens.e1001, reason=reason)
    link = link_of(read_sms(server.data_dir, kind="offer_link", count=n)[-1])
    tx_code = tx_code_of(read_sms(server.data_dir, kind="tx_code", count=n)[-1])
    return link, tx_code


def _wallet(runner: CliRunner, wallet: Path, *args: str, input: str | None = None) -> Any:
    return runner.invoke(cli, ["wallet", *args, "--wallet", str(wallet)], input=input)


def _accept(runner: CliRunner, wallet: Path, link: str, tx: str, pin: str = PIN) -> Any:
    return _wallet(runner, wallet, "accept", link, "--accept-terms", "--tx-code", tx, "--pin", pin)


def _status_line(output: str) -> str:
    line = next(x for x in output.splitlines() if "상태 / Status:" in x)
    return line.split("상태 / Status:")[1].split("/")[1].split()[0]  # "유효 / valid (as of ...)"


def _verify(server: Any, presentation: str, audience: str, nonce: str) -> dict[str, Any]:
    doc = server.client.get("/.well-known/jwt-vc-issuer").json()
    keys = parse_jwt_vc_issuer_metadata(doc, server.url)
    return verify_sd_jwt_vc(
        presentation,
        issuer_key=jwks_key_resolver({server.url: keys}),
        algorithms=SUPPORTED_ALGORITHMS,
        key_binding=True,
        audience=audience,
        nonce=nonce,
        vct_values=[f"{server.url}/types/employee-id/v1"],
        now=server.clock.timestamp(),
    ).claims


@pytest.mark.slow
def test_onboarding_show_present_history(live_server: Any, tmp_path: Path) -> None:
    server, runner, wallet = live_server, CliRunner(), tmp_path / "phone"
    link, tx = _offer(server, tmp_path)
    result = _accept(runner, wallet, link, tx)
    assert result.exit_code == 0, result.output
    assert "모바일 공무원증 발급기관" in result.output  # issuer display name, Korean
    assert "공무원 번호 / Employee number" in result.output  # what will be stored
    assert "Credential stored" in result.output
    # status "as last seen": valid once the issuer serves its status lists, unknown until then
    assert _status_line(result.output) in ("valid", "unknown")

    shown = _wallet(runner, wallet, "show", "--pin", PIN, "--refresh")
    assert shown.exit_code == 0, shown.output
    assert "성명 / Name: 홍길동" in shown.output
    assert _status_line(shown.output) in ("valid", "unknown") and "만료 / Expires" in shown.output

    for purpose in Purpose:
        out = _wallet(
            runner,
            wallet,
            "qr",
            "--purpose",
            purpose.value,
            "--audience",
            "gate:hq-1",
            "--nonce",
            f"n-{purpose.value}",
            "--raw",
            "--pin",
            PIN,
        )
        assert out.exit_code == 0, out.output
        presentation = decode_presentation(out.stdout_bytes)  # the compact QR bytes, exactly
        claims = _verify(server, presentation, "gate:hq-1", f"n-{purpose.value}")
        assert set(claims) - PLAIN == PURPOSES[purpose] - QR_EXCLUDED_CLAIMS, purpose

    png = tmp_path / "gate.png"
    out = _wallet(
        runner,
        wallet,
        "qr",
        "--purpose",
        "gate",
        "--audience",
        "gate:hq-1",
        "--png",
        str(png),
        "--svg",
        str(tmp_path / "gate.svg"),
        "--pin",
        PIN,
    )
    assert out.exit_code == 0, out.output
    assert png.stat().st_size > 0

    history = _wallet(runner, wallet, "history", "--pin", PIN)
    assert history.exit_code == 0
    assert history.output.count("gate:hq-1") == 4
    raw = (wallet / "wallet.json").read_bytes()
    for secret in ("홍길동", "E1001", "gate:hq-1", '"d"'):
        assert secret.encode() not in raw

    # the issuer received the credential_accepted notification
    from sqlalchemy import select

    from issuer.models import Credential

    with server.runtime.unit_of_work() as s:
        row = s.scalars(select(Credential)).one()
        assert (row.state, row.notification_event) == ("active", "credential_accepted")


@pytest.mark.slow
def test_wrong_tx_code_is_reported_clearly(live_server: Any, tmp_path: Path) -> None:
    server, runner, wallet = live_server, CliRunner(), tmp_path / "phone"
    link, tx = _offer(server, tmp_path)
    wrong = "000000" if tx != "000000" else "111111"
    result = _accept(runner, wallet, link, wrong)
    assert result.exit_code == 1
    assert "[invalid_grant]" in result.output
    assert (
        "인증 코드를 확인하세요" in result.output and "transaction code is wrong" in result.output
    )
    # the right code still works afterwards (one wrong try does not burn the offer)
    assert _accept(runner, wallet, link, tx).exit_code == 0


@pytest.mark.slow
def test_an_offer_withdrawn_after_five_wrong_codes_says_so(
    live_server: Any, tmp_path: Path
) -> None:
    server, runner, wallet = live_server, CliRunner(), tmp_path / "phone"
    link, tx = _offer(server, tmp_path)
    wrong = "000000" if tx != "000000" else "111111"
    said = [_accept(runner, wallet, link, wrong) for _ in range(5)]
    assert all(r.exit_code == 1 for r in said)
    assert "[invalid_grant]" in said[0].output and "4 tries left" in said[0].output
    assert "남은 시도 1회" in said[3].output and "1 try left" in said[3].output
    for result in (said[4], _accept(runner, wallet, link, tx)):  # the last wrong, then right
        ko, en = result.output.strip().splitlines()[-2:]  # after the offer's preview, if any
        assert ko.startswith("오류 / Error [offer_withdrawn]: "), result.output
        assert "발급 제안이 철회되었습니다" in ko, result.output
        assert en.strip() == (
            "The offer was withdrawn after too many wrong transaction codes; ask the HR officer "
            "or the department head for a new offer (a new application, or mobileid issuer "
            "reissue)."
        )


@pytest.mark.slow
def test_five_wrong_pins_lock_erase_and_reissue(live_server: Any, tmp_path: Path) -> None:
    server, runner, wallet = live_server, CliRunner(), tmp_path / "phone"
    link, tx = _offer(server, tmp_path)
    assert _accept(runner, wallet, link, tx).exit_code == 0
    for remaining in (4, 3, 2, 1):
        out = _wallet(runner, wallet, "show", "--pin", "999999")
        assert out.exit_code == 1 and f"Attempts left: {remaining}" in out.output
    out = _wallet(runner, wallet, "show", "--pin", "999999")
    assert out.exit_code == 1 and "[wallet_locked]" in out.output
    assert "재발급" in out.output

    # a new process sees the lock, and the right PIN no longer helps
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            "from mobileid.cli import main; main()",
            "wallet",
            "show",
            "--wallet",
            str(wallet),
            "--pin",
            PIN,
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
        check=False,
    )
    assert proc.returncode == 1 and "wallet_locked" in proc.stderr
    header = json.loads((wallet / "wallet.json").read_text())
    assert "sealed" not in header

    # reissue: a new offer is accepted on the same directory with a new PIN
    link2, tx2 = _offer(server, tmp_path, reason="reissue", n=2)
    out = _accept(runner, wallet, link2, tx2, pin="135246")
    assert out.exit_code == 0, out.output
    assert header["device_id"] == json.loads((wallet / "wallet.json").read_text())["device_id"]
    shown = _wallet(runner, wallet, "show", "--pin", "135246")
    assert shown.exit_code == 0 and "홍길동" in shown.output


@pytest.mark.slow
def test_change_pin_and_es256_device_key(live_server: Any, tmp_path: Path) -> None:
    server, runner, wallet = live_server, CliRunner(), tmp_path / "phone"
    assert _wallet(runner, wallet, "init", "--alg", "ES256", "--pin", PIN).exit_code == 0
    link, tx = _offer(server, tmp_path)
    assert _accept(runner, wallet, link, tx).exit_code == 0
    out = _wallet(runner, wallet, "change-pin", "--pin", PIN, "--new-pin", "975310")
    assert out.exit_code == 0, out.output
    assert _wallet(runner, wallet, "show", "--pin", PIN).exit_code == 1
    out = _wallet(
        runner,
        wallet,
        "qr",
        "--purpose",
        "library",
        "--audience",
        "lib",
        "--nonce",
        "n1",
        "--raw",
        "--format",
        "plain",
        "--pin",
        "975310",
    )
    assert out.exit_code == 0, out.output
    claims = _verify(server, out.stdout, "lib", "n1")
    assert claims["cnf"]["jwk"]["crv"] == "P-256"


@pytest.mark.slow
def test_two_wallets_with_the_same_pin_have_different_salts(
    live_server: Any, tmp_path: Path
) -> None:
    server, runner = live_server, CliRunner()
    salts = set()
    for n, name in enumerate(("a", "b"), start=1):
        link, tx = _offer(server, tmp_path, reason="new" if n == 1 else "reissue", n=n)
        assert _accept(runner, tmp_path / name, link, tx).exit_code == 0
        salts.add(json.loads((tmp_path / name / "wallet.json").read_text())["kdf"]["salt"])
    assert len(salts) == 2


@pytest.mark.slow
def test_consent_is_required(live_server: Any, tmp_path: Path) -> None:
    server, runner, wallet = live_server, CliRunner(), tmp_path / "phone"
    link, tx = _offer(server, tmp_path)
    out = _wallet(runner, wallet, "accept", link, "--tx-code", tx, "--pin", PIN, input="n\n")
    assert out.exit_code == 1 and "[consent_declined]" in out.output
    assert not (wallet / "wallet.json").exists()
    out = _wallet(runner, wallet, "accept", link, input=f"y\n{tx}\n{PIN}\n{PIN}\n")
    assert out.exit_code == 0, out.output
