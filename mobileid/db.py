"""Database wiring: engines, sessions, and the one-transaction-per-request/command helper.

Repository and service functions take a `Session` and never commit; the edge (an HTTP request,
a CLI command) opens exactly one transaction with `transaction()` and commits or rolls back.

SQLite gets WAL, `synchronous=NORMAL`, foreign keys and `BEGIN IMMEDIATE` (so two writers never
deadlock upgrading read locks); PostgreSQL runs at READ COMMITTED with row locks where the issuer
needs them.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

__all__ = ["SessionFactory", "create_db_engine", "make_session_factory", "transaction"]

log = logging.getLogger(__name__)
SessionFactory = sessionmaker[Session]
_SQLITE_BUSY_MS = 30_000


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None  # we emit BEGIN ourselves
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={_SQLITE_BUSY_MS}")
    cursor.close()


def _sqlite_begin(connection: Any) -> None:
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def create_db_engine(url: str, *, pool_size: int = 10) -> Engine:
    """An engine for a SQLAlchemy URL (`sqlite:///...` or `postgresql+psycopg://...`)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        engine = create_engine(
            parsed, connect_args={"check_same_thread": False, "timeout": _SQLITE_BUSY_MS / 1000},
            pool_size=pool_size, max_overflow=pool_size,
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    return create_engine(
        parsed, pool_size=pool_size, max_overflow=2 * pool_size, pool_pre_ping=True
    )


def make_session_factory(engine: Engine) -> SessionFactory:
    return sessionmaker(engine, expire_on_commit=False, autoflush=True)


@contextmanager
def transaction(factory: SessionFactory) -> Iterator[Session]:
    """One unit of work: commit on success, roll back on error.

    An exception with a true `keep_changes` attribute (a refusal that must still be recorded,
    such as a wrong tx_code counting towards the limit) commits before it propagates.
    """
    session = factory()
    try:
        yield session
    except BaseException as exc:
        if getattr(exc, "keep_changes", False):
            session.commit()
        else:
            session.rollback()
        raise
    else:
        session.commit()
    finally:
        session.close()
