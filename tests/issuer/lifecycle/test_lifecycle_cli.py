"""`mobileid issuer credentials|revoke|suspend|reinstate|reissue|status-lists` against a live
issuer: the published token follows, refusals exit 1 with the stable code and no traceback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from issuer_kit import bearer
from lifecycle_kit import Office
from typer.testing import CliRunner

from mobileid import cli_common
from mobileid.cli import app as cli
from vc.status_list import INVALID, SUSPENDED


def _run(server, *args: str):
    return CliRunner().invoke(cli, list(args), env=server.env)


def _cli_out(server, *args: str) -> str:
    result = _run(server, *args)
    assert result.exit_code == 0, result.output
    return result.stdout


def _ok(server, *args: str) -> str:
    result = _run(server, *args)
    assert result.exit_code == 0, result.output
    return " ".join(result.output.split())


def test_cli_lifecycle(live_server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    office = Office(live_server, tmp_path)
    a, b = office.issue("E1001"), office.issue("E2001")

    out = _ok(
        live_server,
        "issuer",
        "suspend",
        "--employee",
        "E2001",
        "--reason",
        "investigation",
        "--comment",
        "감사",
    )
    assert "active → suspended" in out and f"index {b.idx}" in out
    office.assert_published(a.uri, {b.idx: SUSPENDED})
    _ok(live_server, "issuer", "reinstate", b.credential_id, "--reason", "investigation_closed")
    office.assert_published(a.uri, {})
    out = _ok(live_server, "issuer", "revoke", a.credential_id, "--reason", "pin_lockout")
    assert "active → revoked" in out
    office.assert_published(a.uri, {a.idx: INVALID})

    narrow = {**live_server.env, "COLUMNS": "80"}
    monkeypatch.setattr(cli_common.console, "width", 80)  # the issuer tests' consoles are wider
    listed = CliRunner().invoke(cli, ["issuer", "credentials", "E1001"], env=narrow)
    assert listed.exit_code == 0, listed.output
    (row,) = [line for line in listed.output.splitlines() if a.credential_id in line]
    assert "…" not in listed.output and "pin_lockout" in listed.output and len(row) <= 80
    (credential,) = json.loads(_cli_out(live_server, "issuer", "credentials", "E1001", "--json"))
    assert credential["id"] == a.credential_id and credential["reason"] == "pin_lockout"
    assert (credential["status_list_id"], credential["status_idx"]) == (1, a.idx)
    header, line = _cli_out(live_server, "issuer", "credentials", "E1001", "--plain").splitlines()
    plain = dict(zip(header.split("\t"), line.split("\t"), strict=True))
    assert plain["id"] == a.credential_id and plain["state"] == "revoked"
    assert plain["kid"] == credential["kid"] and plain["status_idx"] == str(a.idx)

    lists = CliRunner().invoke(cli, ["issuer", "status-lists"], env=narrow)
    assert lists.exit_code == 0, lists.output
    assert a.uri in lists.output and "used 2 of 1048576" in " ".join(lists.output.split())
    assert all(len(line) <= 80 for line in lists.output.splitlines())
    (summary,) = json.loads(_cli_out(live_server, "issuer", "status-lists", "--json"))
    assert summary["uri"] == a.uri and summary["kid"] and summary["signed_at"]
    assert [summary[k] for k in ("size", "used", "revoked", "suspended")] == [1048576, 2, 1, 0]
    header, line = _cli_out(live_server, "issuer", "status-lists", "--plain").splitlines()
    assert dict(zip(header.split("\t"), line.split("\t"), strict=True))["uri"] == a.uri

    out = _ok(live_server, "issuer", "reissue", "E2001", "--reason", "phone_lost")
    assert "active → revoked" in out and "pending" in out
    app_id = out.split("reissue application ")[1].split()[0]
    approved = office.client.post(
        f"/hr/applications/{app_id}/approve",
        json={"comment": "확인"},
        headers=bearer(office.tokens.head_d200),
    )
    assert approved.status_code == 200, approved.text
    new = office.accept_offer("E2001")
    office.assert_published(a.uri, {a.idx: INVALID, b.idx: INVALID})
    assert office.state_of(new) == "active"


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["issuer", "revoke", "0" * 32, "--reason", "phone_lost"], "credential_not_found"),
        (
            ["issuer", "revoke", "--employee", "E1002", "--reason", "phone_lost"],
            "credential_not_found",
        ),  # no live credential
        (
            ["issuer", "revoke", "--employee", "E0000", "--reason", "phone_lost"],
            "employee_not_found",
        ),
        (["issuer", "revoke", "--employee", "E1001", "--reason", "bored"], "invalid_reason"),
        (["issuer", "revoke", "--employee", "E1002", "--reason", "bored"], "invalid_reason"),
        (["issuer", "suspend", "0" * 32, "--reason", "phone_lost"], "invalid_reason"),
        (
            ["issuer", "reinstate", "--employee", "E1001", "--reason", "other"],
            "credential_not_suspended",
        ),
        (["issuer", "revoke", "--reason", "other"], "one of them"),
        (
            ["issuer", "reissue", "E1001", "--phone", "12345", "--reason", "phone_lost"],
            "invalid_request",
        ),
        (
            ["issuer", "reissue", "E1001", "--phone", "010-3333-4444", "--reason", "phone_lost"],
            "phone_not_on_record",
        ),
        (["issuer", "mass-revoke", "--reason", "other"], "invalid_scope"),
        (["issuer", "mass-suspend", "--department", "D100", "--reason", "other"], "invalid_reason"),
    ],
)
def test_cli_refusals(live_server, tmp_path: Path, args: list[str], code: str) -> None:
    office = Office(live_server, tmp_path)
    a = office.issue("E1001")
    etag = office.fetch(a.uri).headers["etag"]
    result = _run(live_server, *args)
    assert result.exit_code in (1, 2), result.output
    assert code in " ".join(result.output.split())
    assert "Traceback" not in result.output
    assert office.fetch(a.uri).headers["etag"] == etag
    assert office.state_of(a) == "active"
