"""Apply the remote-work system's Alembic migrations (shipped in the package) to its database.

Called by `mobileid remote-work serve` before it starts. Its own version table, so it may share a
PostgreSQL database with other parties. Concurrent starts are safe: SQLite serialises writers,
PostgreSQL takes a transaction advisory lock.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, text

__all__ = ["VERSION_TABLE", "alembic_config", "upgrade_remote_work_database"]

VERSION_TABLE = "alembic_version_remote_work"
_SCRIPT_LOCATION = str(Path(__file__).with_name("migrations"))
_ADVISORY_LOCK_KEY = 0x4D4F4257  # "MOBW"


def alembic_config(connection: Connection | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", _SCRIPT_LOCATION)
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def upgrade_remote_work_database(engine: Engine, revision: str = "head") -> None:
    """Bring the remote-work tables to `revision` in one transaction."""
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _ADVISORY_LOCK_KEY})
        command.upgrade(alembic_config(connection), revision)
