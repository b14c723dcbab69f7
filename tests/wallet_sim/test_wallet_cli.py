"""The `mobileid wallet` commands with an injected transport (fake issuer and verifier)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from urllib.parse import urlencode

import httpx
from cryptography.hazmat.primitives import serialization
from test_wallet_openid4vp import HOST, FakeVerifier, _params, _signed
from typer.testing import CliRunner, Result
from wallet_fakes import CLAIMS, FakeIssuer
from wallet_pki import make_ca, make_leaf

from mobileid.cli_wallet import wallet_app
from schemas.employee_id import type_metadata
from vc.qr_compact import decode_presentation, is_compact_qr
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
    qr_lines = [line for line in result.stdout.splitlines() if "█" in line]
    assert qr_lines and max(len(line) for line in qr_lines) <= 80


def _qr_args(wallet: Path, *extra: str) -> list[str]:
    return ["qr", "--purpose", "gate", "--audience", "gate-9", "--wallet", str(wallet),
            "--pin", PIN, *extra]  # fmt: skip


def test_qr_raw_is_exactly_what_the_scanner_reads(tmp_path: Path) -> None:
    wallet = _onboard(tmp_path, FakeIssuer())
    compact = _run(_qr_args(wallet, "--raw"))
    assert compact.exit_code == 0, compact.output
    assert is_compact_qr(compact.stdout_bytes)  # binary, nothing before or after it
    presentation = decode_presentation(compact.stdout_bytes)
    assert presentation.startswith("eyJ") and presentation.count("~") >= 2
    assert "Disclosed:" in compact.stderr and "Disclosed" not in compact.stdout

    plain = _run(_qr_args(wallet, "--raw", "--format", "plain"))
    assert plain.exit_code == 0, plain.output
    text = plain.stdout_bytes.decode("ascii")
    assert text.startswith("eyJ") and text == text.strip() and "Disclosed" not in text


def test_a_qr_too_wide_for_the_terminal_is_not_printed_cut(tmp_path: Path) -> None:
    wallet = _onboard(tmp_path, FakeIssuer())
    narrow = _run(_qr_args(wallet), env={"COLUMNS": "40"})
    assert narrow.exit_code == 0, narrow.output
    assert "█" not in narrow.stdout and "--png" in narrow.stderr


def test_show_and_history_for_scripts(tmp_path: Path) -> None:
    wallet = _onboard(tmp_path, FakeIssuer())
    assert _run(_qr_args(wallet)).exit_code == 0
    common = ["--wallet", str(wallet), "--pin", PIN]

    shown = _run(["show", *common, "--json"])
    assert shown.exit_code == 0, shown.output
    (credential,) = json.loads(shown.stdout)
    claims = credential["claims"]
    assert credential["status"] in ("valid", "unknown", None) and credential["expires_at"]

    plain = _run(["show", *common, "--plain"])
    assert plain.exit_code == 0, plain.output
    header, *lines = plain.stdout.splitlines()
    assert header.split("\t") == ["credential", "claim", "value"]
    rows = {claim: value for n, claim, value in (line.split("\t") for line in lines)}
    assert set(rows) == set(claims)
    assert rows["employee_number"] == claims["employee_number"]

    history = json.loads(_run(["history", *common, "--json"]).stdout)
    assert [(h["kind"], h["verifier"], h["purpose"]) for h in history] == [("qr", "gate-9", "gate")]
    header, line = _run(["history", *common, "--plain"]).stdout.splitlines()
    record = dict(zip(header.split("\t"), line.split("\t"), strict=True))
    assert record["verifier"] == "gate-9" and "employee_number" in record["claims"].split(",")

    both = _run(["history", *common, "--json", "--plain"])
    assert both.exit_code == 2


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


def _one_line_naming(result: Result, path: Path) -> None:
    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit)  # not a traceback
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and str(path) in lines[0], result.stderr


def test_a_trust_anchor_that_cannot_be_read_is_one_line_naming_it(tmp_path: Path) -> None:
    not_pem = tmp_path / "not.pem"
    not_pem.write_text("not a certificate\n")
    unreadable = tmp_path / "[locked].pem"  # brackets are printed, not taken for markup
    unreadable.write_bytes(make_ca().cert.public_bytes(serialization.Encoding.PEM))
    unreadable.chmod(0)
    link = "openid4vp://?client_id=x&request_uri=https%3A%2F%2Fv.example%2Fr"
    for anchor in (tmp_path / "missing.pem", not_pem, tmp_path, unreadable):
        if anchor == unreadable and os.access(anchor, os.R_OK):  # root reads anything
            continue
        result = _run(["present", link, "--wallet", str(tmp_path / "w"), "--trust-anchor",
                       str(anchor), "--pin", PIN, "--yes"])  # fmt: skip
        _one_line_naming(result, anchor)
        assert "--trust-anchor" in result.stderr


def test_a_qr_file_or_wallet_directory_that_cannot_be_written_is_one_line(
    tmp_path: Path,
) -> None:
    wallet = _onboard(tmp_path, FakeIssuer())
    for option in ("--png", "--svg"):
        target = tmp_path / "no-such-dir" / "q.img"
        _one_line_naming(_run(_qr_args(wallet, option, str(target))), target)

    a_file = tmp_path / "a-file"
    a_file.write_text("")
    _one_line_naming(_run(["init", "--wallet", str(a_file / "w"), "--pin", PIN]), a_file)


def test_show_lists_claims_in_the_type_metadata_order(tmp_path: Path) -> None:
    """Disclosures arrive shuffled (RFC 9901 §4.2.4.1); a person reads them in a fixed order."""
    wallet = _onboard(tmp_path, FakeIssuer())
    shown = _run(["show", "--wallet", str(wallet), "--pin", PIN])
    assert shown.exit_code == 0, shown.output
    labels = [  # "공무원 번호 / Employee number", ... as type metadata lists them
        " / ".join(d["label"] for d in claim["display"])
        for claim in type_metadata("https://issuer.test")["claims"]
        if claim["path"][0] in CLAIMS
    ]
    seen = [line.strip().split(": ", 1)[0] for line in shown.output.splitlines()]
    assert [label for label in seen if label in labels] == labels, shown.output
