"""A tamper-evident audit log that a database owner cannot rewrite (issue "Secrets at rest",
point 11), written as the attacks: with database access alone, rewriting an entry and every
later link, with plain SHA-256 or under a guessed key, fails `mobileid audit verify`.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Engine, insert, select, update
from typer.testing import CliRunner

from issuer.audit import (
    GENESIS_HASH,
    KEYED_HASH_ALG,
    LEGACY_HASH_ALG,
    AuditKey,
    append_audit,
    entry_hash,
    verify_audit_chain,
)
from issuer.errors import AuditChainBroken, AuditKeyMismatch
from issuer.models import AuditEntry, AuditHead
from mobileid.cli import app as cli
from mobileid.runtime import open_issuer_runtime
from mobileid.settings import get_settings

SECRET = "a" * 16 + secrets.token_urlsafe(32)
GUESSED_KEY = AuditKey(b"dev-only-insecure-secret-change-me")  # e.g. the public placeholder


@pytest.fixture
def env(server_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    values = server_env | {"MOBILEID_SECRET_KEY": SECRET, "COLUMNS": "300"}
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    return values


@pytest.fixture
def runtime(env: dict[str, str]) -> Any:
    rt = open_issuer_runtime(get_settings())
    yield rt
    rt.close()


def _append(rt: Any, n: int) -> None:
    with rt.unit_of_work() as s:
        for i in range(n):
            append_audit(
                s,
                actor="hr:kim",
                role="hr_admin",
                action="application.approve",
                subject=f"employee:E{i}",
                now=datetime.now(UTC),
                detail={"n": i},
            )


def _without_append_only_guard(conn: Any) -> None:
    """What a database owner can do: lift the triggers that refuse UPDATE and DELETE."""
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("DROP TRIGGER IF EXISTS issuer_audit_log_no_update")
        conn.exec_driver_sql("DROP TRIGGER IF EXISTS issuer_audit_log_no_delete")
    else:
        conn.exec_driver_sql("ALTER TABLE issuer_audit_log DISABLE TRIGGER USER")


def _rewrite(
    engine: Engine,
    *,
    forge_seq: int,
    key: AuditKey | None,
    alg: str | None = None,
    key_check: str | None = None,
) -> None:
    """Change entry `forge_seq`'s detail and recompute every later link and the head under `key`
    (None: plain SHA-256), as the attacker would; `alg` relabels every entry (None: keep)."""
    with engine.begin() as conn:
        _without_append_only_guard(conn)
        entries = conn.execute(select(AuditEntry).order_by(AuditEntry.seq)).all()
        prev = GENESIS_HASH
        for e in entries:
            redo = alg is not None or e.seq >= forge_seq
            detail = '{"n":999,"forged":true}' if e.seq == forge_seq else e.detail
            fields = {
                name: getattr(e, name) for name in ("at", "actor", "role", "action", "subject")
            }
            digest = (
                entry_hash(prev, seq=e.seq, detail=detail, key=key, **fields) if redo else e.hash
            )
            values = {"detail": detail, "prev_hash": prev, "hash": digest}
            conn.execute(
                update(AuditEntry)
                .where(AuditEntry.seq == e.seq)
                .values(**values, hash_alg=alg or e.hash_alg)
            )
            prev = digest
        conn.execute(
            update(AuditHead).where(AuditHead.id == 1).values(hash=prev, key_check=key_check)
        )


ATTACKS = {
    "sha256": {"key": None},
    "sha256_all_relabelled_legacy": {"key": None, "alg": LEGACY_HASH_ALG},
    "guessed_key": {"key": GUESSED_KEY},
    "guessed_key_and_its_check": {"key": GUESSED_KEY, "key_check": GUESSED_KEY.check},
}


@pytest.mark.parametrize("attack", list(ATTACKS))
def test_audit_rewrite_with_database_access_fails_verify(
    attack: str, env: dict[str, str], runtime: Any
) -> None:
    _append(runtime, 6)
    with runtime.unit_of_work() as s:
        assert verify_audit_chain(s).entries == 6
    untouched = CliRunner().invoke(cli, ["audit", "verify"], env=env)
    assert untouched.exit_code == 0 and "intact: 6 entries" in untouched.output, untouched.output
    with runtime.unit_of_work() as s:
        check = s.scalar(select(AuditHead.key_check))
    _rewrite(runtime.engine, forge_seq=3, **{"key_check": check} | ATTACKS[attack])
    with runtime.unit_of_work() as s:
        assert "forged" in s.scalar(select(AuditEntry.detail).where(AuditEntry.seq == 3))
        with pytest.raises((AuditChainBroken, AuditKeyMismatch)) as refused:
            verify_audit_chain(s)
    result = CliRunner().invoke(cli, ["audit", "verify"], env=env)
    assert result.exit_code == 1, result.output
    if attack == "guessed_key_and_its_check":
        assert isinstance(refused.value, AuditKeyMismatch)
        assert "wrong secret" in result.output and "MOBILEID_SECRET_KEY" in result.output
    elif attack == "sha256_all_relabelled_legacy":
        assert "no keyed seal" in result.output, result.output
    else:
        assert refused.value.seq == 3 and "at seq 3: entry content changed" in result.output


def test_the_rewrite_above_passes_only_with_the_deployment_secret(runtime: Any) -> None:
    """The attacker's tool is faithful: given the real key it forges a chain that verifies, so
    the attacks above fail for want of the key alone."""
    _append(runtime, 4)
    with runtime.unit_of_work() as s:
        check = s.scalar(select(AuditHead.key_check))
    _rewrite(runtime.engine, forge_seq=2, key=AuditKey(SECRET.encode()), key_check=check)
    with runtime.unit_of_work() as s:
        assert verify_audit_chain(s).entries == 4
        assert "forged" in s.scalar(select(AuditEntry.detail).where(AuditEntry.seq == 2))


def test_audit_verify_with_the_wrong_secret_says_so(runtime: Any) -> None:
    _append(runtime, 2)
    with runtime.unit_of_work() as s, pytest.raises(AuditKeyMismatch, match="another"):
        verify_audit_chain(s, AuditKey(b"another deployment's secret, 32+ chars"))
    with runtime.unit_of_work() as s:
        assert verify_audit_chain(s, AuditKey(SECRET.encode())).entries == 2


def _legacy_chain(engine: Engine, n: int) -> str:
    """Entries as a release before keyed audit wrote them (plain SHA-256, no key check)."""
    prev, at = GENESIS_HASH, datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
    with engine.begin() as conn:
        for seq in range(1, n + 1):
            fields = {
                "at": at,
                "actor": "cli",
                "role": "hr_admin",
                "action": "hr.import",
                "subject": f"batch:{seq}",
                "detail": "{}",
            }
            digest = entry_hash(prev, seq=seq, key=None, **fields)
            row = {"seq": seq, **fields, "prev_hash": prev, "hash": digest}
            conn.execute(insert(AuditEntry).values(**row, hash_alg=LEGACY_HASH_ALG))
            prev = digest
        conn.execute(update(AuditHead).values(seq=n, hash=prev, key_check=None))
    return prev


def test_legacy_chain_stays_verifiable_once_sealed_and_cannot_be_replayed(
    env: dict[str, str], runtime: Any
) -> None:
    legacy_head = _legacy_chain(runtime.engine, 3)
    _append(runtime, 2)  # the upgraded service goes on appending, keyed
    runner = CliRunner()
    unsealed = runner.invoke(cli, ["audit", "verify"], env=env)
    assert unsealed.exit_code == 1 and "seal-legacy" in unsealed.output, unsealed.output
    wrong = runner.invoke(cli, ["audit", "seal-legacy", "--head", "0123456789abcdef"], env=env)
    assert wrong.exit_code == 1 and legacy_head[:16] in wrong.output, wrong.output
    sealed = runner.invoke(cli, ["audit", "seal-legacy", "--head", legacy_head[:16]], env=env)
    assert sealed.exit_code == 0, sealed.output
    verified = runner.invoke(cli, ["audit", "verify"], env=env)
    assert "intact: 6 entries (3 sealed unkeyed)" in verified.output, verified.output
    again = runner.invoke(cli, ["audit", "seal-legacy", "--head", legacy_head[:16]], env=env)
    assert again.exit_code == 1 and "sealed already" in again.output, again.output
    with runtime.unit_of_work() as s:
        algs = s.scalars(select(AuditEntry.hash_alg).order_by(AuditEntry.seq)).all()
    assert algs == [LEGACY_HASH_ALG] * 3 + [KEYED_HASH_ALG] * 3
    # "It was all the earlier release's": every entry, the seal too, rewritten as plain SHA-256.
    _rewrite(runtime.engine, forge_seq=2, key=None, alg=LEGACY_HASH_ALG, key_check=None)
    replayed = runner.invoke(cli, ["audit", "verify"], env=env)
    assert replayed.exit_code == 1 and "no keyed seal" in replayed.output, replayed.output
