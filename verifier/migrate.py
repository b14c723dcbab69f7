"""Alembic migrations for the verifier's tables: one branch per kind of deployment.

`gate` (a gate terminal's local store: entry records, offline bundle), `central` (the records
the gates upload) and `login` (the login verifier and identity desks: OpenID4VP sessions, OIDC
clients, codes, tokens, keys, login records). One version table holds a head per branch applied,
so the parts may share one PostgreSQL database and each creates only what it uses.

A database made by `create_all` before these migrations existed is adopted: when a branch has no
head yet but all the tables its first revision made are there (and none of the later ones), the
branch is stamped at that revision, then upgraded. Some of them without the others is refused
rather than guessed at. Concurrent starts are safe: SQLite serialises writers, PostgreSQL takes a
transaction advisory lock.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Literal

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, MetaData, inspect, text

from verifier.login.models import login_audit, oidc_logouts, oidc_metadata, oidc_sessions
from verifier.models import (
    bundle_items,
    central_gates,
    central_records,
    entry_records,
    metadata,
    seen_presentations,
)
from verifier.oid4vp.models import login_metadata, secret_failures

__all__ = ["VERSION_TABLE", "Part", "branch_tables", "target_metadata", "upgrade_verifier_database"]

VERSION_TABLE = "alembic_version_verifier"
Part = Literal["gate", "central", "login"]
_SCRIPT_LOCATION = str(Path(__file__).with_name("migrations"))
_ADVISORY_LOCK_KEY = 0x4D4F4256  # "MOBV"
_FIRST_REVISION: dict[str, str] = {"gate": "g0001", "central": "c0001", "login": "l0001"}
_LATER_LOGIN_TABLES = frozenset(
    {
        secret_failures.name,  # l0002
        login_audit.name,  # l0003
        oidc_sessions.name,  # l0004
        oidc_logouts.name,
    }
)


def target_metadata() -> list[MetaData]:
    """Every verifier table, for Alembic's comparisons."""
    return [metadata, login_metadata, oidc_metadata]


def branch_tables(part: Part) -> frozenset[str]:
    """The tables a branch owns at its head."""
    if part == "gate":
        return _first_tables(part) | {seen_presentations.name}
    if part == "login":
        return _first_tables(part) | _LATER_LOGIN_TABLES
    return _first_tables(part) | {central_gates.name}


def _first_tables(part: Part) -> frozenset[str]:
    """The tables a branch's first revision made: what `create_all` made before migrations."""
    if part == "gate":
        return frozenset({entry_records.name, bundle_items.name})
    if part == "central":
        return frozenset({central_records.name})
    return (frozenset(login_metadata.tables) | set(oidc_metadata.tables)) - _LATER_LOGIN_TABLES


def _config(connection: Connection | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", _SCRIPT_LOCATION)
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


@functools.cache
def _branch(part: str) -> tuple[str, frozenset[str]]:
    """(head, every revision) of a branch, read from the packaged scripts once per process."""
    script = ScriptDirectory.from_config(_config())
    head = script.get_revision(f"{part}@head")
    if head is None:  # pragma: no cover - the packaged scripts define every part
        raise LookupError(part)
    revisions = script.iterate_revisions(f"{part}@head", "base")
    return head.revision, frozenset(rev.revision for rev in revisions)


def upgrade_verifier_database(engine: Engine, part: Part) -> None:
    """Bring `part`'s tables to the newest revision in one transaction (adopting old schemas).

    A database already at the head is seen with one query, without running Alembic's commands
    (services and tests build on the same database many times).
    """
    if part not in _FIRST_REVISION:
        raise ValueError(f"unknown verifier schema part {part!r}")
    head, in_branch = _branch(part)
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _ADVISORY_LOCK_KEY})
        current = MigrationContext.configure(
            connection, opts={"version_table": VERSION_TABLE}
        ).get_current_heads()
        if head in current:
            return
        cfg = _config(connection)
        if not in_branch.intersection(current):
            present = branch_tables(part) & set(inspect(connection).get_table_names())
            if present == _first_tables(part):
                command.stamp(cfg, _FIRST_REVISION[part])
            elif present:
                raise RuntimeError(
                    f"the database holds some of the {part} tables ({', '.join(sorted(present))}) "
                    "but no migration record, and not those its first revision made: repair it "
                    "by hand"
                )
        command.upgrade(cfg, f"{part}@head")
