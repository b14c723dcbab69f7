"""Database wiring: engines, sessions, and the one-transaction-per-request/command helper.

Repository and service functions take a `Session` and never commit; the edge (an HTTP request,
a CLI command) opens exactly one transaction with `transaction()` and commits or rolls back.

SQLite gets WAL, `synchronous=NORMAL`, foreign keys and `BEGIN IMMEDIATE` (so two writers never
deadlock upgrading read locks); PostgreSQL runs at READ COMMITTED with row locks where the issuer
needs them.
"""

from __future__ import annotations

import fcntl
import logging
import os
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any, Protocol, TypeVar, runtime_checkable

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from vc.private_files import ensure_private_dir, ensure_private_file, refuse_if_open

__all__ = [
    "KeepsChanges",
    "SessionFactory",
    "connection_transaction",
    "create_db_engine",
    "database_exists",
    "database_label",
    "make_session_factory",
    "transaction",
]

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


def _attach_writer_lock(engine: Engine, database: str) -> None:
    """Serialize our processes' SQLite sessions with an `flock` held from checkout to checkin.

    SQLite's own busy handler waits by sleeping and polling (1, 2, 5, ... 100 ms), which wastes
    most of the time when several server processes write; a kernel lock wakes the next writer
    at once. Processes that do not use this engine still meet SQLite's busy timeout.
    """
    lock_path = f"{database}.lock"

    def checkout(_dbapi: Any, record: Any, _proxy: Any) -> None:
        fd = record.info.get("writer_lock_fd")
        if fd is None:
            fd = record.info["writer_lock_fd"] = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX)

    def checkin(_dbapi: Any, record: Any) -> None:
        fd = record.info.get("writer_lock_fd")
        if fd is not None:
            fcntl.flock(fd, fcntl.LOCK_UN)

    def close(_dbapi: Any, record: Any) -> None:
        fd = record.info.pop("writer_lock_fd", None)
        if fd is not None:
            os.close(fd)  # also releases the lock

    event.listen(engine, "checkout", checkout)
    event.listen(engine, "checkin", checkin)
    event.listen(engine, "close", close)


def _make_private(database: Path) -> None:
    """The database file, its `-wal`, `-shm` and lock file: 0600 in a 0700 directory.

    The database is created before SQLite opens it: SQLite would use the default mode, and it
    gives its `-wal` and `-shm` files the database's own mode. Existing ones that others can read
    stop the start-up.
    """
    ensure_private_dir(database.parent)
    ensure_private_file(database)
    for suffix in ("-wal", "-shm", ".lock"):
        refuse_if_open(database.with_name(database.name + suffix))


def create_db_engine(url: str, *, pool_size: int = 10) -> Engine:
    """An engine for a SQLAlchemy URL (`sqlite:///...` or `postgresql+psycopg://...`)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        # SQLite has one writer and every transaction here begins IMMEDIATE, so one pooled
        # connection loses nothing and queues threads on a condition instead of busy-polling.
        engine = create_engine(
            parsed,
            connect_args={"check_same_thread": False, "timeout": _SQLITE_BUSY_MS / 1000},
            pool_size=1,
            max_overflow=0,
            pool_timeout=_SQLITE_BUSY_MS / 1000,
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        if parsed.database and parsed.database != ":memory:":
            _make_private(Path(parsed.database))
            _attach_writer_lock(engine, parsed.database)
        return engine
    return create_engine(
        parsed, pool_size=pool_size, max_overflow=2 * pool_size, pool_pre_ping=True
    )


def database_exists(url: str) -> bool:
    """A server database always "exists"; a SQLite file only once a service has created it."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return True
    return bool(parsed.database) and Path(str(parsed.database)).exists()


def database_label(url: str) -> str:
    """What to show a person: a SQLite file's path, any other URL without its password."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database:
        return str(parsed.database)
    return parsed.render_as_string(hide_password=True)


def make_session_factory(engine: Engine) -> SessionFactory:
    return sessionmaker(engine, expire_on_commit=False, autoflush=True)


@runtime_checkable
class KeepsChanges(Protocol):
    """An error that declares whether the unit of work commits before it propagates
    (`IssuerError`, `VerifierError`): a refusal that must still be recorded, such as a wrong
    tx_code counting towards the limit or a spent OpenID4VP nonce."""

    keep_changes: bool


class _Unit(Protocol):
    def commit(self) -> None: ...
    def rollback(self) -> None: ...
    def close(self) -> None: ...


U = TypeVar("U", bound=_Unit)


@contextmanager
def _unit_of_work(open_unit: Callable[[], U]) -> Iterator[U]:
    unit = open_unit()
    try:
        yield unit
    except BaseException as exc:
        if isinstance(exc, KeepsChanges) and exc.keep_changes:
            unit.commit()
        else:
            unit.rollback()
        raise
    else:
        unit.commit()
    finally:
        unit.close()


def transaction(factory: SessionFactory) -> AbstractContextManager[Session]:
    """One unit of work on an ORM session: commit on success, roll back on error, except for an
    error whose declared `keep_changes` is true, which commits before it propagates."""
    return _unit_of_work(factory)


def connection_transaction(engine: Engine) -> AbstractContextManager[Connection]:
    """`transaction` for the services written on SQLAlchemy Core (the verifier's)."""
    return _unit_of_work(engine.connect)
