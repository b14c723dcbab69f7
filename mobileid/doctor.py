"""`mobileid doctor`: what is unsafe about this deployment, in one screen, changing nothing.

Each check returns findings (`ok`, `warn`, `fail`); the command prints them and exits non-zero
when any fails. It reads settings, file modes and (when the database exists) the keys, and never
creates a directory, a database or a key: a doctor that initialised what it examines would hide
the very problem it was asked about.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from sqlalchemy.exc import SQLAlchemyError

from issuer.errors import KeyStoreError
from issuer.keys.signing import load_keyring, signing_key_sealer
from issuer.migrate import is_up_to_date
from mobileid.db import create_db_engine, database_exists, make_session_factory, transaction
from mobileid.runtime import issuer_config
from mobileid.settings import PLACEHOLDER_SECRET, LoginSettings, Settings
from vc.errors import VCError
from vc.private_files import UnsafePermissions, permission_problem
from verifier.login.keys import LoginKeyError, inspect_stored_keys, login_key_sealer

__all__ = [
    "Finding",
    "check_issuer_keys",
    "check_login_keys",
    "check_permissions",
    "check_secret",
    "run_checks",
]

Level = Literal["ok", "warn", "fail"]


@dataclass(frozen=True, slots=True)
class Finding:
    area: str
    level: Level
    message: str


def check_secret(name: str, secret: str, env: str) -> Finding:
    """The deployment secret: the public placeholder only in development, never in production."""
    if secret == PLACEHOLDER_SECRET:
        if env == "dev":
            return Finding(
                "secret",
                "warn",
                f"{name} is the public development placeholder: fine on a laptop, never deploy it",
            )
        return Finding("secret", "fail", f"{name} is the public placeholder in {env}")
    return Finding("secret", "ok", f"{name} is set ({len(secret)} characters)")


def _walk(top: Path) -> Iterator[Path]:
    yield top
    for root, dirs, files in os.walk(top):
        for name in (*dirs, *files):
            yield Path(root) / name


def check_permissions(area: str, top: Path, *, limit: int = 10) -> list[Finding]:
    """Every path under `top` that group or others can reach, or one `ok` line."""
    if not top.exists():
        return [Finding(area, "ok", f"{top} does not exist yet (created 0700 at first start)")]
    problems = [p for p in (permission_problem(path) for path in _walk(top)) if p is not None]
    if not problems:
        return [Finding(area, "ok", f"{top}: owner-only")]
    findings = [Finding(area, "fail", problem) for problem in problems[:limit]]
    if len(problems) > limit:
        findings.append(Finding(area, "fail", f"... and {len(problems) - limit} more under {top}"))
    return findings


_NOT_CHECKED = Finding("keys", "warn", "not checked: fix the database file's permissions first")


def check_issuer_keys(settings: Settings) -> list[Finding]:
    """The issuer's database is migrated and this process's secret opens every signing key."""
    findings: list[Finding] = []
    if settings.keys_dir.exists():
        findings.append(
            Finding(
                "keys",
                "warn",
                f"{settings.keys_dir} holds key files of an earlier release: the next start moves "
                "them into the database (sealed) and deletes them",
            )
        )
    url = settings.resolved_database_url
    if not database_exists(url):
        return [
            *findings,
            Finding("keys", "ok", "no issuer database yet (keys made at first start)"),
        ]
    try:
        engine = create_db_engine(url)
    except UnsafePermissions:
        return [*findings, _NOT_CHECKED]
    try:
        if not is_up_to_date(engine):
            return [
                *findings,
                Finding("database", "warn", "issuer tables behind: next start migrates"),
            ]
        with transaction(make_session_factory(engine)) as session:
            ring = load_keyring(session, signing_key_sealer(issuer_config(settings).secret_key))
    except (KeyStoreError, VCError) as exc:
        return [*findings, Finding("keys", "fail", getattr(exc, "detail", "") or str(exc))]
    except SQLAlchemyError as exc:
        return [*findings, Finding("database", "fail", f"issuer database: {type(exc).__name__}")]
    finally:
        engine.dispose()
    if ring is None:
        return [*findings, Finding("keys", "ok", "no signing key yet (made at first start)")]
    opened = f"{len(ring.keys)} signing key(s) sealed and open; active {ring.active.kid}"
    return [*findings, Finding("keys", "ok", opened)]


def check_login_keys(login: LoginSettings) -> list[Finding]:
    """The login service's ID-token keys open with its secret; none stored in plaintext."""
    if not database_exists(login.db_url):
        return [Finding("login", "ok", "no login database yet (keys made at first start)")]
    try:
        engine = create_db_engine(login.db_url)
    except UnsafePermissions:
        return [_NOT_CHECKED]
    try:
        opened, plaintext = inspect_stored_keys(
            engine, login_key_sealer(login.secret_key.get_secret_value().encode("utf-8"))
        )
    except LoginKeyError as exc:
        return [Finding("login", "fail", exc.detail)]
    except SQLAlchemyError:
        return [Finding("login", "warn", "login tables not created yet (next start creates them)")]
    finally:
        engine.dispose()
    if plaintext:
        return [
            Finding(
                "login",
                "fail",
                f"{plaintext} login key row(s) in plaintext from an earlier release: "
                "start `mobileid login serve` once to seal them",
            )
        ]
    return [Finding("login", "ok", f"{opened} login key row(s) sealed and open")]


def run_checks(settings: Settings, login: LoginSettings) -> list[Finding]:
    """Secrets, file modes, then the keys in each existing database."""
    findings = [
        check_secret("MOBILEID_SECRET_KEY", settings.secret_key.get_secret_value(), settings.env),
        check_secret("MOBILEID_LOGIN_SECRET_KEY", login.secret_key.get_secret_value(), login.env),
    ]
    findings += check_permissions("files", settings.data_dir)
    if not login.data_dir.resolve().is_relative_to(settings.data_dir.resolve()):
        findings += check_permissions("files", login.data_dir)
    findings += check_issuer_keys(settings)
    findings += check_login_keys(login)
    return findings
