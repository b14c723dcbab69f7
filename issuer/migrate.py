"""Apply the issuer's Alembic migrations (shipped in the package) to a database.

Called by `mobileid serve` and every CLI command before work starts. Concurrent starts are safe:
SQLite serializes writers (BEGIN IMMEDIATE), PostgreSQL takes a transaction advisory lock.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, text

__all__ = ["VERSION_TABLE", "alembic_config", "is_up_to_date", "upgrade_database"]

VERSION_TABLE = "alembic_version_issuer"
_SCRIPT_LOCATION = str(Path(__file__).with_name("migrations"))
_ADVISORY_LOCK_KEY = 0x4D4F4249  # "MOBI"


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic config pointing at the packaged scripts (no alembic.ini needed)."""
    cfg = Config()
    cfg.set_main_option("script_location", _SCRIPT_LOCATION)
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def upgrade_database(engine: Engine, revision: str = "head") -> None:
    """Bring the issuer tables to `revision` in one transaction."""
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _ADVISORY_LOCK_KEY})
        command.upgrade(alembic_config(connection), revision)


def is_up_to_date(engine: Engine) -> bool:
    """True when the database is at the newest packaged revision."""
    heads = set(ScriptDirectory.from_config(alembic_config()).get_heads())
    with engine.connect() as connection:
        current = MigrationContext.configure(
            connection, opts={"version_table": VERSION_TABLE}
        ).get_current_heads()
    return set(current) == heads
