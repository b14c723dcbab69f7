"""`mobileid verifier init-cert` and `mobileid login add-client | clients | records | purge`."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from cryptography import x509
from typer.testing import CliRunner

from mobileid.cli import app as cli
from vc.openid4vp import x509_hash
from verifier.x509 import load_verifier_certificate


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("MOBILEID_LOGIN_DATA_DIR", str(tmp_path / "login"))
    monkeypatch.setenv("MOBILEID_LOGIN_TRUSTED_ISSUERS", '["https://id.example.go.kr"]')
    return tmp_path


def _run(*args: str) -> str:
    result = CliRunner().invoke(cli, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def test_init_cert_creates_a_local_ca_and_leaf(env: Path) -> None:
    out = _run("verifier", "init-cert", "--dns", "login.example.go.kr")
    assert "x509_san_dns:login.example.go.kr" in out
    cert = load_verifier_certificate(env / "login" / "cert")
    assert cert.dns_names == ["login.example.go.kr"]
    assert cert.anchor is not None and cert.leaf.issuer == cert.anchor.subject
    assert (env / "login" / "cert" / "verifier.key.pem").stat().st_mode & 0o077 == 0
    assert f"x509_hash:{cert.x509_hash}" in out


def test_init_cert_loads_given_pem_files(env: Path) -> None:
    _run("verifier", "init-cert", "--dns", "a.example", "--cert-dir", str(env / "made"))
    made = env / "made"
    out = _run(
        "verifier",
        "init-cert",
        "--cert",
        str(made / "verifier.pem"),
        "--key",
        str(made / "verifier.key.pem"),
        "--ca",
        str(made / "ca.pem"),
        "--cert-dir",
        str(env / "installed"),
    )
    leaf = x509.load_pem_x509_certificate((made / "verifier.pem").read_bytes())
    from cryptography.hazmat.primitives.serialization import Encoding

    assert f"x509_hash:{x509_hash(leaf.public_bytes(Encoding.DER))}" in out


def test_init_cert_refuses_a_key_of_another_certificate(env: Path) -> None:
    _run("verifier", "init-cert", "--dns", "a.example", "--cert-dir", str(env / "one"))
    _run("verifier", "init-cert", "--dns", "b.example", "--cert-dir", str(env / "two"))
    result = CliRunner().invoke(
        cli,
        [
            "verifier",
            "init-cert",
            "--cert",
            str(env / "one" / "verifier.pem"),
            "--key",
            str(env / "two" / "verifier.key.pem"),
            "--cert-dir",
            str(env / "mixed"),
        ],
    )
    assert result.exit_code == 2 and "does not belong" in result.output
    bad = CliRunner().invoke(cli, ["verifier", "init-cert", "--dns", "not a name"])
    assert bad.exit_code == 2


def test_add_client_list_records_and_purge(env: Path) -> None:
    out = _run(
        "login",
        "add-client",
        "--name",
        "원격근무 (remote work)",
        "--redirect-uri",
        "https://remote.example.go.kr/cb",
        "--claim",
        "name",
        "--claim",
        "department",
        "--sub",
        "employee_number",
        "--id-token-alg",
        "ES256",
        "--logout-uri",
        "https://remote.example.go.kr/logout",
        "--logout-sid",
        "--after-logout",
        "https://remote.example.go.kr/",
    )
    created = json.loads(out)
    assert created["client_secret"] and created["allowed_claims"] == ["name", "department"]
    assert created["subject_type"] == "employee_number" and created["id_token_alg"] == "ES256"
    assert created["backchannel_logout_uri"] == "https://remote.example.go.kr/logout"
    assert created["backchannel_logout_session_required"] is True
    assert created["post_logout_redirect_uris"] == ["https://remote.example.go.kr/"]
    listed = [json.loads(line) for line in _run("login", "clients").splitlines()]
    assert [c["client_id"] for c in listed] == [created["client_id"]]
    assert "client_secret" not in listed[0] and listed[0]["enabled"] is True
    assert json.loads(_run("login", "clients", "--json")) == listed
    header, line = _run("login", "clients", "--plain").splitlines()
    plain = dict(zip(header.split("\t"), line.split("\t"), strict=True))
    assert plain["client_id"] == created["client_id"] and plain["name"] == "원격근무 (remote work)"
    assert plain["allowed_claims"] == "name,department" and plain["enabled"] == "true"
    _run("login", "disable-client", created["client_id"])
    assert json.loads(_run("login", "clients"))["enabled"] is False
    _run("login", "enable-client", created["client_id"])
    assert json.loads(_run("login", "clients"))["enabled"] is True
    assert CliRunner().invoke(cli, ["login", "disable-client", "nobody"]).exit_code == 2

    for args, message in [
        (["--claim", "salary"], "unknown claims"),
        (["--sub", "email"], "subject type"),
        (["--id-token-alg", "HS256"], "algorithm"),
        (["--logout-uri", "http://x.example/logout"], "backchannel_logout_uri"),
        (["--logout-sid"], "needs a backchannel_logout_uri"),
        (["--after-logout", "https://x.example/#f"], "post_logout_redirect_uri"),
    ]:
        result = CliRunner().invoke(
            cli,
            ["login", "add-client", "--name", "x", "--redirect-uri", "https://x.example/cb", *args],
        )
        assert result.exit_code == 2 and message in result.output
    result = CliRunner().invoke(
        cli, ["login", "add-client", "--name", "x", "--redirect-uri", "http://x.example/cb"]
    )
    assert result.exit_code == 2 and "https" in result.output

    # records: one recent, one past the retention; purge keeps the recent one
    from mobileid.db import connection_transaction, create_db_engine
    from verifier.oid4vp.outcomes import record_login

    engine = create_db_engine(f"sqlite:///{env / 'login' / 'login.sqlite3'}")
    now = time.time()
    with connection_transaction(engine) as db:
        record_login(
            db,
            system=created["client_id"],
            session_id="s1",
            now=now - 400 * 86400,
            outcome="ok",
            flow="cross_device",
            employee_number="E1",
        )
        record_login(
            db,
            system=created["client_id"],
            session_id="s2",
            now=now - 60,
            outcome="revoked",
            flow="same_device",
        )
    engine.dispose()
    rows = [
        json.loads(line) for line in _run("login", "records", "--since", "2000-01-01").splitlines()
    ]
    assert [(r["employee_number"], r["outcome"]) for r in rows] == [("E1", "ok"), (None, "revoked")]
    assert json.loads(_run("login", "records", "--since", "2000-01-01", "--json")) == rows
    header, *lines = _run("login", "records", "--since", "2000-01-01", "--plain").splitlines()
    plain = [dict(zip(header.split("\t"), line.split("\t"), strict=True)) for line in lines]
    assert [(r["employee_number"], r["flow"]) for r in plain] == [
        ("E1", "cross_device"),
        ("", "same_device"),
    ]
    _run("verifier", "init-cert", "--dns", "localhost")
    assert "'records': 1" in _run("login", "purge")
    rows = _run("login", "records", "--since", "2000-01-01").splitlines()
    assert len(rows) == 1 and json.loads(rows[0])["outcome"] == "revoked"
    bad = CliRunner().invoke(cli, ["login", "records", "--since", "yesterday"])
    assert bad.exit_code == 2


def test_add_client_plain_is_one_line_for_read(env: Path) -> None:
    common = ["login", "add-client", "--redirect-uri", "https://remote.example.go.kr/cb"]
    (line,) = _run(*common, "--name", "a", "--plain").splitlines()
    client_id, secret = line.split("\t")
    (public,) = _run(*common, "--name", "b", "--public", "--plain").splitlines()
    assert public.endswith("\t") and public.split("\t")[1] == ""
    listed = {c["client_id"]: c for c in json.loads(_run("login", "clients", "--json"))}
    assert set(listed) == {client_id, public.split("\t")[0]} and len(secret) >= 32
    assert listed[client_id]["public"] is False


def test_trusted_issuers_as_urls_or_objects() -> None:
    from pydantic import ValidationError

    from mobileid.settings import LoginSettings

    settings = LoginSettings(
        trusted_issuers=[
            "https://id.mois.go.kr/",
            {"issuer": "https://id.other.go.kr", "status_origins": ["https://status.other.go.kr"]},
        ]
    )
    first, second = settings.config().trusted_issuers
    assert first.issuer == "https://id.mois.go.kr"
    assert second.allowed_status_origins == frozenset({"https://status.other.go.kr"})
    for bad in (["ftp://x"], [{"issuer": 3}], [{"issuer": "https://x", "vct_values": "v"}]):
        with pytest.raises(ValidationError):
            LoginSettings(trusted_issuers=bad)
