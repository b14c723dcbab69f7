"""HR import, tokens, audit chain, outbox retries, keys, settings and migrations."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from issuer_kit import cli_env, employee, queue_sms, standard_staff, write_csv, write_json
from pydantic import ValidationError
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError
from typer.testing import CliRunner

from issuer.audit import append_audit, verify_audit_chain
from issuer.errors import AuditChainBroken
from issuer.messages.outbox import REDACTED, deliver_one, outbox_sealer
from issuer.migrate import VERSION_TABLE
from issuer.models import Employee, OutboxMessage, metadata
from mobileid.cli import app as cli
from mobileid.runtime import open_issuer_runtime
from mobileid.settings import Settings, get_settings


@pytest.fixture
def env(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    return cli_env(database_url, tmp_path, monkeypatch)


@pytest.fixture
def runtime(env):
    rt = open_issuer_runtime(get_settings())
    yield rt
    rt.close()


def _count(rt, model) -> int:
    with rt.unit_of_work() as s:
        return int(s.scalar(select(func.count()).select_from(model)))


def test_import_json_with_korean_labels_and_reimport(env, runtime, tmp_path: Path) -> None:
    runner = CliRunner()
    rows = standard_staff()
    rows[1]["employment_type"] = "별정직"
    path = write_json(tmp_path / "hr.json", rows)
    r = runner.invoke(cli, ["hr", "import", str(path), "--source", "local"], env=env)
    assert r.exit_code == 0, r.output
    with runtime.unit_of_work() as s:
        e = s.scalar(select(Employee).where(Employee.employee_number == "E1002"))
        assert (e.employment_type, e.hr_source, e.phone) == (
            "special_contract",
            "insarang",
            "01012345678",
        )
        assert (
            s.scalar(select(Employee.employment_status).where(Employee.employee_number == "E4001"))
            == "leave"
        )
    rows[0]["department"] = "혁신기획과"
    r = runner.invoke(
        cli,
        ["hr", "import", str(write_csv(tmp_path / "hr.csv", rows)), "--source", "local"],
        env=env,
    )
    assert r.exit_code == 0 and "updated 1" in r.output and "unchanged 16" in r.output, r.output
    assert _count(runtime, Employee) == 17


def test_invalid_file_rejected_whole(env, runtime, tmp_path: Path) -> None:
    rows = [
        employee("E1"),
        employee("E2", agency_code="12"),
        employee("E3", phone="abc"),
        employee("E1"),
        employee("E5", employment_type="wizard"),
        employee("E6", photo="data:image/png;base64,AAAA"),
    ]
    r = CliRunner().invoke(
        cli, ["hr", "import", str(write_csv(tmp_path / "bad.csv", rows))], env=env
    )
    assert r.exit_code == 1
    for fragment in ("agency_code", "phone", "duplicate of record 1", "employment_type", "photo"):
        assert fragment in r.output, (fragment, r.output)
    assert r.output.count("│") > 0 and "nothing was written" in r.output
    assert _count(runtime, Employee) == 0
    (tmp_path / "cols.csv").write_text("employee_number,colour\nE1,blue\n", encoding="utf-8")
    r = CliRunner().invoke(cli, ["hr", "import", str(tmp_path / "cols.csv")], env=env)
    assert r.exit_code == 1 and "colour" in r.output
    (tmp_path / "bad.json").write_text("{not json", encoding="utf-8")
    r = CliRunner().invoke(cli, ["hr", "import", str(tmp_path / "bad.json")], env=env)
    assert r.exit_code == 1 and "not valid JSON" in r.output
    assert _count(runtime, Employee) == 0


def test_create_token_binding(env, runtime) -> None:
    runner = CliRunner()
    r = runner.invoke(cli, ["admin", "create-token", "--role", "department_head"], env=env)
    assert r.exit_code == 1 and "invalid_token_binding" in r.output
    r = runner.invoke(
        cli, ["admin", "create-token", "--role", "employee", "--employee", "X"], env=env
    )
    assert r.exit_code == 1 and "employee_not_found" in r.output
    r = runner.invoke(cli, ["admin", "create-token", "--role", "hr_admin"], env=env)
    token = r.output.strip().splitlines()[-1]
    assert r.exit_code == 0 and token.startswith("mid_")
    listing = runner.invoke(cli, ["admin", "tokens", "list"], env=env).output
    assert "hr_admin" in listing and token not in listing
    assert runner.invoke(cli, ["admin", "tokens", "revoke", "1"], env=env).exit_code == 0
    assert runner.invoke(cli, ["--version"]).output.startswith("mobileid ")


def test_audit_and_token_listings_for_scripts_and_80_columns(
    env, runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mobileid import cli_common

    subject = "c" * 32  # a credential id
    with runtime.unit_of_work() as s:
        for i in range(3):
            append_audit(
                s,
                actor="hr@agency",
                role="hr_admin",
                action="credential.revoke",
                subject=subject,
                now=datetime.now(UTC),
                detail={"reason": "phone_lost", "n": i},
            )
    runner = CliRunner()
    audit = json.loads(
        runner.invoke(cli, ["audit", "list", "--after", "1", "--json"], env=env).stdout
    )
    assert [e["seq"] for e in audit] == [2, 3] and audit[0]["subject"] == subject
    assert (
        json.loads(audit[0]["detail"])["reason"] == "phone_lost" and audit[0]["role"] == "hr_admin"
    )
    header, *lines = runner.invoke(
        cli, ["audit", "list", "--plain", "--limit", "2"], env=env
    ).stdout.splitlines()
    rows = [dict(zip(header.split("\t"), line.split("\t"), strict=True)) for line in lines]
    assert [r["seq"] for r in rows] == ["1", "2"] and rows[1]["subject"] == subject
    monkeypatch.setattr(cli_common.console, "width", 80)
    shown = runner.invoke(cli, ["audit", "list"], env={**env, "COLUMNS": "80"}).stdout
    assert shown.count(subject) == 3 and "…" not in shown
    assert all(len(line) <= 80 for line in shown.splitlines() if subject in line)

    runner.invoke(cli, ["admin", "create-token", "--role", "hr_admin", "--label", "a\tb"], env=env)
    header, line = runner.invoke(
        cli, ["admin", "tokens", "list", "--plain"], env=env
    ).stdout.splitlines()
    token = dict(zip(header.split("\t"), line.split("\t"), strict=True))
    assert token["role"] == "hr_admin" and token["label"] == "a\\tb" and token["state"] == "active"


def _tamper(rt, sql: str) -> None:
    with rt.engine.begin() as conn:
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql("DROP TRIGGER issuer_audit_log_no_update")
            conn.exec_driver_sql("DROP TRIGGER issuer_audit_log_no_delete")
        else:
            conn.exec_driver_sql("ALTER TABLE issuer_audit_log DISABLE TRIGGER USER")
        conn.exec_driver_sql(sql)


def test_audit_chain_detects_tampering(env, runtime) -> None:
    now = datetime.now(UTC)
    with runtime.unit_of_work() as s:
        for i in range(5):
            append_audit(
                s,
                actor="t",
                role="hr_admin",
                action="test",
                subject=f"s{i}",
                now=now,
                detail={"n": i},
            )
    with runtime.unit_of_work() as s:
        assert verify_audit_chain(s).entries == 5
    with pytest.raises(ValueError, match="secrets"), runtime.unit_of_work() as s:
        append_audit(
            s, actor="t", role="r", action="a", subject="s", now=now, detail={"tx_code": "123456"}
        )
    with pytest.raises(DBAPIError), runtime.engine.begin() as conn:
        conn.execute(text("UPDATE issuer_audit_log SET actor = 'x' WHERE seq = 2"))
    assert CliRunner().invoke(cli, ["audit", "verify"], env=env).exit_code == 0
    _tamper(runtime, "UPDATE issuer_audit_log SET subject = 'forged' WHERE seq = 3")
    with runtime.unit_of_work() as s, pytest.raises(AuditChainBroken) as broken:
        verify_audit_chain(s)
    assert broken.value.seq == 3
    r = CliRunner().invoke(cli, ["audit", "verify"], env=env)
    assert r.exit_code == 1 and "broken" in r.output


def test_audit_chain_detects_truncation(env, runtime) -> None:
    with runtime.unit_of_work() as s:
        for i in range(3):
            append_audit(s, actor="t", role="r", action="a", subject=str(i), now=datetime.now(UTC))
    _tamper(runtime, "DELETE FROM issuer_audit_log WHERE seq = 3")
    with runtime.unit_of_work() as s, pytest.raises(AuditChainBroken):
        verify_audit_chain(s)


class FlakySender:
    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.sent: list[str] = []

    def send(self, message) -> None:
        if self.failures:
            self.failures -= 1
            raise ConnectionError("SMS gateway down")
        self.sent.append(message.body)


def test_outbox_retries_and_redacts(env, runtime) -> None:
    sender = FlakySender(failures=2)
    sealer = outbox_sealer(runtime.config.secret_key)
    now = datetime.now(UTC)
    queue_sms(runtime, text="code 123456", shown=f"code {REDACTED}", now=now)
    for attempt, delay in ((1, 0.5), (2, 2.5)):  # back-off 2 s, then 4 s
        with runtime.unit_of_work() as s:
            msg = deliver_one(s, sender, now + _secs(delay), sealer=sealer)
            assert msg is not None and msg.state == "pending" and msg.attempts == attempt
            assert "ConnectionError" in msg.last_error and "gateway down" not in msg.last_error
    with runtime.unit_of_work() as s:  # backed off: not due yet
        assert deliver_one(s, sender, now + _secs(3), sealer=sealer) is None
    with runtime.unit_of_work() as s:
        msg = deliver_one(s, sender, now + _secs(10), sealer=sealer)
        assert msg.state == "sent" and msg.body == f"code {REDACTED}"
        assert msg.sealed_body is None
    assert sender.sent == ["code 123456"]
    with runtime.unit_of_work() as s:
        assert s.scalar(select(OutboxMessage.attempts)) == 3


def _secs(n: float):
    from datetime import timedelta

    return timedelta(seconds=n)


def test_models_match_migrations(runtime) -> None:
    with runtime.engine.connect() as conn:
        ctx = MigrationContext.configure(
            conn,
            opts={
                "version_table": VERSION_TABLE,
                "compare_type": True,
                "include_name": lambda n, t, p: t != "table" or (n or "").startswith("issuer_"),
            },
        )
        assert compare_metadata(ctx, metadata) == []


def test_p256_issuer_key_and_reload(env, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("MOBILEID_SIGNING_ALG", "ES256")
    first = open_issuer_runtime(get_settings())
    kid = first.keyring.active.kid
    first.close()
    again = open_issuer_runtime(get_settings())
    assert again.keyring.active.kid == kid and again.keyring.active.alg == "ES256"
    assert again.keyring.jwks()["keys"][0]["crv"] == "P-256"
    again.close()


def test_settings() -> None:
    s = Settings(data_dir=Path("/tmp/x"))
    assert s.resolved_database_url == "sqlite:////tmp/x/mobileid.sqlite3"
    assert s.credential_lifetime_days == 3 * 365 and s.offer_lifetime_hours == 72
    with pytest.raises(ValidationError, match="placeholder"):
        Settings(env="prod", issuer_base_url="https://id.example.go.kr")
    with pytest.raises(ValidationError, match="https"):
        Settings(env="prod", secret_key="k" * 40, issuer_base_url="http://id.example.go.kr")
    gateway = {"sms_gateway_url": "https://sms.example.go.kr/send", "sms_gateway_token": "t"}
    assert Settings(
        env="prod", secret_key="k" * 40, issuer_base_url="https://id.example.go.kr/", **gateway
    ).issuer_base_url == ("https://id.example.go.kr")
    r = CliRunner().invoke(cli, ["issuer", "info"], env={"MOBILEID_ENV": "prod"})
    assert r.exit_code == 2 and "placeholder" in r.output


def test_schema_purposes() -> None:
    from schemas.employee_id import CLAIMS, DISCLOSABLE, PURPOSES, Purpose, type_metadata

    assert all(p <= DISCLOSABLE for p in PURPOSES.values())
    assert "photo" not in PURPOSES[Purpose.gate] and "photo" in PURPOSES[Purpose.identity]
    assert "name" not in PURPOSES[Purpose.library]
    assert {c.name for c in CLAIMS} == DISCLOSABLE
    meta = type_metadata("https://id.example.go.kr")
    assert meta["vct"] == "https://id.example.go.kr/types/employee-id/v1"
    assert json.dumps(meta, ensure_ascii=False).count("ko-KR") == len(CLAIMS) + 1
