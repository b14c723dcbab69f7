"""In development the outbox shows the local user each SMS in full, since nothing really went
to a phone: `outbox list` (and `--json` with the link and the code apart) and `outbox last`,
which prints one value for the README's `OFFER=$(...)`. Production keeps no SMS text once
delivered, and `outbox last` says so; a database that served in development forgets the kept
texts at its first production start."""

from __future__ import annotations

import json
import re
import secrets
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from issuer_kit import (
    Holder,
    Phone,
    apply_and_approve,
    link_of,
    queue_sms,
    read_sms,
    seed,
    tx_code_of,
)
from rich.cells import cell_len
from sqlalchemy import select
from typer.testing import CliRunner

from issuer.messages.outbox import REDACTED, redacted_word
from issuer.models import OutboxMessage
from mobileid import cli_common
from mobileid.cli import app as cli
from mobileid.outbox_worker import drain_outbox
from mobileid.runtime import open_issuer_runtime
from mobileid.settings import get_settings
from vc.keys import Ed25519PrivateKey

SECRET = "s" * 16 + secrets.token_urlsafe(32)


def _run(env: dict[str, str], *args: str, code: int = 0, columns: int = 300) -> str:
    result = CliRunner().invoke(cli, list(args), env=env | {"COLUMNS": str(columns)})
    assert result.exit_code == code, result.output
    return result.output


def _assert_fits_80_columns_but_links(table: str, links: list[str]) -> None:
    """At 80 columns each line fits, but a link, which stays whole on a line of its own."""
    for line in table.splitlines():
        if cell_len(line) > 80:
            assert line.strip() in links, f"wider than 80 columns:\n{line}"


def test_development_shows_each_sms_in_full(
    live_server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = live_server
    tokens = seed(server, tmp_path)
    apply_and_approve(server.client, tokens, applicant=tokens.e1001)
    apply_and_approve(server.client, tokens, applicant=tokens.e1002, phone="010-9876-5432")
    links = [link_of(m) for m in read_sms(server.data_dir, kind="offer_link", count=2)]
    codes = [tx_code_of(m) for m in read_sms(server.data_dir, kind="tx_code", count=2)]
    env = server.env

    rows = json.loads(_run(env, "outbox", "list", "--json"))
    assert [(r["kind"], r["to"], r["state"]) for r in rows] == [
        ("tx_code", "01098765432", "sent"),
        ("offer_link", "01098765432", "sent"),
        ("tx_code", "01012345678", "sent"),
        ("offer_link", "01012345678", "sent"),
    ]
    assert [r["offer_uri"] for r in rows] == [None, links[1], None, links[0]]
    assert [r["tx_code"] for r in rows] == [codes[1], None, codes[0], None]
    assert all(REDACTED in r["body"] and REDACTED not in r["text"] for r in rows)
    assert rows[0]["text"].startswith("[모바일 공무원증] 인증번호 / Transaction code: " + codes[1])

    monkeypatch.setattr(cli_common.console, "width", 80)  # the suite's is 300 (conftest)
    table = _run(env, "outbox", "list", columns=80)
    assert codes[0] in table and codes[1] in table and "…" not in table, table
    assert "development only" in table
    _assert_fits_80_columns_but_links(table, links)
    whole_lines = [line.strip() for line in table.splitlines()]
    assert all(link in whole_lines for link in links), table  # unbroken, copyable
    # one line a message: id, the phone whole, kind, state (tries), created
    heads = [line.split() for line in table.splitlines() if line[:5].strip().isdigit()]
    assert [head[:4] for head in heads] == [
        [str(r["id"]), r["to"], r["kind"], r["state"]] for r in rows
    ], table
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\d", head[5]) for head in heads), table
    assert len(table.splitlines()) <= 4 * len(rows) + 3, table
    plain = _run(env, "outbox", "list", "--plain").splitlines()
    assert plain[0].split("\t")[-3:] == ["text", "offer_uri", "tx_code"]
    assert [line.split("\t")[-2] for line in plain[1:]] == [r["offer_uri"] or "" for r in rows]

    assert _run(env, "outbox", "last", "--field", "link") == links[1] + "\n"
    assert _run(env, "outbox", "last", "--field", "code") == codes[1] + "\n"
    first = "010-1234-5678"
    offer = _run(env, "outbox", "last", "--to", first, "--field", "link").strip()
    code = _run(env, "outbox", "last", "--to", first, "--field", "code").strip()
    holder = Holder(server.client, Ed25519PrivateKey.generate(), server.clock)
    assert holder.receive(offer, code)["credentials"]  # what it printed redeems

    nobody = _run(env, "outbox", "last", "--to", "010-5555-0000", "--field", "code", code=1)
    assert nobody.strip().splitlines() == [
        "오류 / error: 발급 문자 없음 / no offer SMS in the outbox to 01055550000"
    ]
    assert "not a Korean mobile number" in _run(
        env, "outbox", "last", "--to", "12", "--field", "code", code=2
    )


PROD = {
    "env": "prod",
    "secret_key": SECRET,
    "issuer_base_url": "https://id.example.go.kr",
    "sms_gateway_url": "https://sms.example.go.kr/send",
    "sms_gateway_token": "gateway-token",
}


def _sealed_texts(runtime: Any) -> list[str | None]:
    with runtime.unit_of_work() as s:
        return list(s.scalars(select(OutboxMessage.sealed_body).order_by(OutboxMessage.id)))


def test_production_keeps_nothing_and_forgets_what_development_kept(
    database_url: str, tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"
    shown = f"Transaction code: {REDACTED}"
    dev = open_issuer_runtime(
        get_settings(data_dir=data_dir, database_url=database_url, secret_key=SECRET),
        sender=Phone(),
    )
    try:
        queue_sms(dev, text="Transaction code: 739154", shown=shown, now=datetime.now(UTC))
        assert drain_outbox(dev) == (1, 0)
        assert _sealed_texts(dev)[0] is not None  # kept, sealed, for the developer
    finally:
        dev.close()
    where = {"data_dir": str(data_dir), "database_url": database_url}
    env = {f"MOBILEID_{name.upper()}": value for name, value in (PROD | where).items()}
    refused = _run(env, "outbox", "last", "--field", "code", code=1)
    assert refused.strip().splitlines() == [
        "오류 / error: 운영 환경 / production keeps no SMS text: the link and the code went to "
        "the phone only (`outbox last` works with MOBILEID_ENV=dev)"
    ]
    rows = json.loads(_run(env, "outbox", "list", "--json"))
    assert [sorted(r) for r in rows] == [
        ["attempts", "body", "created_at", "id", "kind", "last_error", "sent_at", "state", "to"]
    ]
    assert "739154" not in json.dumps(rows) and "739154" not in _run(env, "outbox", "list")
    prod = open_issuer_runtime(get_settings(**PROD, **where), sender=Phone())
    try:
        assert _sealed_texts(prod) == [None]  # the CLI's production start forgot it
        queue_sms(prod, text="Transaction code: 482913", shown=shown, now=datetime.now(UTC))
        assert drain_outbox(prod) == (1, 0)
        assert _sealed_texts(prod) == [None, None]
    finally:
        prod.close()


@pytest.mark.parametrize(
    ("shown", "text", "word"),
    [
        (f"code: {REDACTED} (never share it)", "code: 739154 (never share it)", "739154"),
        (
            f"link: x://?u=a%2F{REDACTED} (until 5)",
            "link: x://?u=a%2Fref (until 5)",
            "x://?u=a%2Fref",
        ),
        (f"code: {REDACTED}", "code: 739154", "739154"),
        ("code: 739154", "code: 739154", None),  # nothing was cut out
        (f"code: {REDACTED}", "another: 739154", None),  # not the same message
        (f"code: {REDACTED} x", "code:  x", None),  # nothing where the cut was
        (f"code: {REDACTED}", "code: 73 91", None),  # not one word
    ],
)
def test_redacted_word(shown: str, text: str, word: str | None) -> None:
    assert redacted_word(shown, text) == word
